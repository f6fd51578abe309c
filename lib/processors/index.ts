// The built-in processors for the main thread: each name with its spec (options, docs) and its
// loader (processors/builtins.ts, the worker's side, which never loads a spec).
import type { ComponentSpec } from '../core/spec.js';
import { processorOptions } from '../core/schema-util.js';
import { BUILTIN_LOADERS, isBuiltin, type BuiltinName } from './builtins.js';
import { spec as noop } from './noop.spec.js';
import { spec as sha256 } from './sha256.spec.js';
import { spec as pdfText } from './pdf-text.spec.js';
import { spec as pdfInfo } from './pdf-info.spec.js';
import { spec as chunk } from './chunk.spec.js';
import { spec as exec } from './exec.spec.js';

export { isBuiltin, isModulePath, resolveProcessor } from './builtins.js';

interface BuiltinProcessor {
  spec: ComponentSpec;
  /** the module, and what its first item would otherwise wait for (the run's PDF engine), loaded in a worker; `options` are the run's, parsed */
  load(options?: Record<string, unknown>): Promise<{ default: unknown }>;
}

const SPECS: Record<BuiltinName, ComponentSpec> = { 'pdf-text': pdfText, 'pdf-info': pdfInfo, chunk, sha256, noop, exec };

export const BUILTIN_PROCESSORS: Record<string, BuiltinProcessor> = Object.assign(Object.create(null) as object,
  Object.fromEntries(Object.entries(SPECS).map(([name, spec]) => [name, { spec, load: BUILTIN_LOADERS[name as BuiltinName].load }])));

/**
 * A stage's options as a worker must get them: a built-in's parsed by its spec (defaults filled
 * in), a module's as they are. For options that did not come through the config (a queued job):
 * a bad one is SLUICE_E_CONFIG.
 */
export function workerOptions(processor: string, options: Record<string, unknown>): Record<string, unknown> {
  if (!isBuiltin(processor)) return options;
  return processorOptions(SPECS[processor].options, options, processor, ['options']) as Record<string, unknown>;
}
