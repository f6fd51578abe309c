import path from 'node:path';
import type { ComponentSpec } from '../core/spec.js';
import * as noop from './noop.js';
import * as sha256 from './sha256.js';
import * as pdfText from './pdf-text.js';
import * as pdfInfo from './pdf-info.js';
import * as chunk from './chunk.js';
import * as exec from './exec.js';
import { loadPdfJs } from './pdf.js';

interface BuiltinProcessor {
  spec: ComponentSpec;
  /** the module, and what its first item would otherwise wait for (the run's PDF engine), loaded in a worker; `options` are the run's, not yet checked */
  load(options?: Record<string, unknown>): Promise<{ default: unknown }>;
}

// Each module loads its PDF engine lazily, so importing this table is cheap in the main thread; a
// worker loads the run's engine with the processor, while it boots (see the preload in worker/runtime.ts).
export const BUILTIN_PROCESSORS: Record<string, BuiltinProcessor> = Object.assign(Object.create(null) as object, {
  'pdf-text': { spec: pdfText.spec, load: async (options?: Record<string, unknown>) => (await pdfText.prepare(options), pdfText) },
  'pdf-info': { spec: pdfInfo.spec, load: async () => (await loadPdfJs(), pdfInfo) },
  chunk: { spec: chunk.spec, load: async () => chunk },
  sha256: { spec: sha256.spec, load: async () => sha256 },
  noop: { spec: noop.spec, load: async () => noop },
  exec: { spec: exec.spec, load: async () => exec },
});

/** A processor spec names a module file, not a built-in, when it starts with ./ ../ or /. */
export function isModulePath(spec: string): boolean {
  return /^(\.{1,2}\/|\/)/.test(spec);
}

export function isBuiltin(spec: string): boolean {
  return Object.hasOwn(BUILTIN_PROCESSORS, spec);
}

/**
 * The one place a processor spec is resolved: a built-in name stays as it is; a module path
 * becomes absolute against `baseDir` (the pipeline file's folder; the cwd for --processor).
 * Resolved once, when the config is read: from then on the config carries the absolute path,
 * so the check that it exists, the config fingerprint and the worker's import all name the same
 * file, whatever the current directory.
 */
export function resolveProcessor(spec: string, baseDir: string): string {
  return isBuiltin(spec) ? spec : path.resolve(baseDir, spec);
}
