import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SluiceError } from '../core/errors.js';
import { BUILTIN_PROCESSORS, isBuiltin } from '../processors/index.js';
import type { ProcessorContext } from '../core/processor.js';
import type { TaskMessage } from './protocol.js';

export type ProcessorFn = ((item: TaskMessage['item'], ctx: ProcessorContext) => Promise<unknown> | unknown) & {
  /**
   * The module's optional `classifyStray(reason, item)` export: what a promise rejected while the
   * item ran, and awaited by nobody, means for the item (e.g. a PDF library's parse error is the
   * PDF's fault). Returns the error to fail the item with, or null when the processor knows it
   * for harmless (left over from work it finished) and the item goes on; without it the reason
   * fails the item as it is.
   */
  classifyStray?: (reason: unknown, item: TaskMessage['item']) => unknown;
};

/**
 * Load a processor: a built-in by name, else the module at `spec` (an absolute path, resolved by the config). Resolves to
 * its default export, a function, or rejects: the import's own error, or SLUICE_E_PROCESSOR_LOAD
 * when the module has no default export function. The worker runtime and the start-up check
 * (check.ts) load through here, so both agree on what a loadable processor is.
 */
export async function loadProcessor(spec: string, options?: Record<string, unknown>): Promise<ProcessorFn> {
  const builtin = isBuiltin(spec) ? BUILTIN_PROCESSORS[spec]! : null;
  // the config resolved a module path once, against the pipeline file: never again against the cwd
  if (!builtin && !path.isAbsolute(spec)) throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${spec}: expected a built-in name or an absolute path`);
  const mod = builtin ? await builtin.load(options) : await import(pathToFileURL(spec).href);
  const fn = (mod as { default?: unknown }).default;
  if (typeof fn !== 'function') {
    throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${spec} has no default export function (export default async (item, ctx) => result)`);
  }
  const classify = (mod as { classifyStray?: unknown }).classifyStray;
  if (typeof classify !== 'function') return fn as ProcessorFn;
  const withClassify: ProcessorFn = (item, ctx) => (fn as ProcessorFn)(item, ctx);
  withClassify.classifyStray = classify as ProcessorFn['classifyStray'];
  return withClassify;
}
