import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SluiceError } from '../core/errors.js';
import { BUILTIN_LOADERS, isBuiltin, type BuiltinLoader } from '../processors/builtins.js';
import type { ProcessorContext } from '../core/processor.js';
import { isDefinedProcessor, type DefinedProcessor } from '../core/define.js';
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
  /** a defineProcessor module's definition */
  definition?: DefinedProcessor<unknown, unknown, unknown>;
  /** its items fan out (ComponentSpec.fanOut, defineProcessor's fanOut): one that emits no child ends at its stage */
  fanOut?: boolean;
  /** undo setup in this worker, if it ran (defineProcessor's teardown) */
  teardown?: () => Promise<void>;
};

/**
 * Load a processor: a built-in by name, else the module at `spec` (an absolute path, resolved by the config). Resolves to
 * its default export, a function, or rejects: the import's own error, or SLUICE_E_PROCESSOR_LOAD
 * when the module has no default export function. The worker runtime and the start-up check
 * (check.ts) load through here, so both agree on what a loadable processor is.
 */
export async function loadProcessor(spec: string, options?: Record<string, unknown>): Promise<ProcessorFn> {
  const builtin: BuiltinLoader | null = isBuiltin(spec) ? BUILTIN_LOADERS[spec] : null;
  // the config resolved a module path once, against the pipeline file: never again against the cwd
  if (!builtin && !path.isAbsolute(spec)) throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${spec}: expected a built-in name or an absolute path`);
  const mod = builtin ? await builtin.load(options) : await import(pathToFileURL(spec).href);
  const fn = (mod as { default?: unknown }).default;
  if (isDefinedProcessor(fn)) return fromDefinition(fn);
  if (typeof fn !== 'function') {
    throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${spec} has no default export function (export default async (item, ctx) => result, or export default defineProcessor({...}))`);
  }
  const classify = (mod as { classifyStray?: unknown }).classifyStray;
  const fansOut = builtin?.fanOut === true;
  if (typeof classify !== 'function' && !fansOut) return fn as ProcessorFn;
  const wrapped: ProcessorFn = (item, ctx) => (fn as ProcessorFn)(item, ctx);
  if (typeof classify === 'function') wrapped.classifyStray = classify as ProcessorFn['classifyStray'];
  if (fansOut) wrapped.fanOut = true;
  return wrapped;
}

/**
 * A defineProcessor definition as the function the runtime calls: options parsed by its schema
 * (defaults filled in) and setup run once, at the first item, in this worker; a setup that
 * throws is the run's failure (SLUICE_E_PROCESSOR_LOAD), not the item's.
 */
function fromDefinition(def: DefinedProcessor<unknown, unknown, unknown>): ProcessorFn {
  let ready: Promise<{ options: Record<string, unknown>; state: unknown }> | undefined;
  let set: { state: unknown } | undefined;
  const prepare = (raw: Record<string, unknown>) => (ready ??= (async () => {
    let options: Record<string, unknown>;
    try {
      options = await parseOptions(def, raw);
    } catch (err) {
      // checked before the run (check.ts); a program that composes the stages itself meets it here
      throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', (err as Error).message);
    }
    try {
      const state = def.setup ? await def.setup(options) : undefined;
      set = { state };
      return { options, state };
    } catch (err) {
      throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${def.name}: setup failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  })());
  const fn: ProcessorFn = async (item, ctx) => {
    const { options, state } = await prepare(ctx.options);
    // the context's own properties as they are (ctx.signal stays a getter: reading it is what marks the item cooperative)
    const dctx = Object.defineProperties({}, Object.getOwnPropertyDescriptors(ctx)) as ProcessorContext & { state?: unknown };
    dctx.options = options;
    dctx.state = state;
    return def.process(item, dctx as never);
  };
  fn.definition = def;
  if (def.classifyStray) fn.classifyStray = def.classifyStray;
  if (def.fanOut) fn.fanOut = true;
  fn.teardown = async () => {
    if (set && def.teardown) await def.teardown(set.state);
    set = undefined;
  };
  return fn;
}

/** The options through the definition's schema; a bad one is the run's error (checked before the run, see check.ts). */
async function parseOptions(def: DefinedProcessor<unknown, unknown, unknown>, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (!def.options) return raw;
  // (loaded here, not with this module: a worker running a built-in never loads zod)
  const { processorOptions } = await import('../core/schema-util.js');
  return processorOptions(def.options as never, raw, def.name, ['map', 'options']) as Record<string, unknown>;
}
