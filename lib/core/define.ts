import type { z } from 'zod';
import type { ProcessorContext, ProcessorItem } from './processor.js';

// A processor as a definition: its name, an options schema (zod), work done once per worker
// (setup: load a model, open a connection), the per-item function, and the undoing of setup
// (teardown). `export default defineProcessor({...})` in a module makes it a processor a pipeline
// file (`processor: ./my.mjs`) and a program (`run({ map: { processor } })`) can use: its options
// are checked against the schema before anything runs (exit 2 naming the key), and listed by
// `sluice stages` and `sluice schema` with the pipeline that uses it. A plain default export
// function `(item, ctx) => result` is a processor too (no options schema, no setup).

/** The brand a definition carries, shared by every copy of sluice loaded in one thread. */
const PROCESSOR_BRAND: unique symbol = Symbol.for('sluice.processor') as never;

/** What a defined processor's `process` receives: the context, with the options parsed by the schema and setup's state. */
export type DefinedContext<O, S> = Omit<ProcessorContext, 'options'> & {
  /** the options, parsed by the definition's schema (defaults filled in) */
  options: O;
  /** what setup returned (undefined without setup), the same object for every item of this worker */
  state: S;
};

export interface ProcessorDefinition<O = Record<string, unknown>, S = undefined, R = unknown> {
  /** shown by `sluice stages`; letters, digits, `-`, `_` */
  name: string;
  description?: string;
  /** the options' schema (zod 4): unknown keys and bad values are refused before the run starts, naming the key */
  options?: z.ZodType<O>;
  /** walk globs of the files it reads (as `sluice run --processor` picks inputs) */
  accepts?: string[];
  /** once per worker thread, before its first item; a throw stops the run (SLUICE_E_PROCESSOR_LOAD) */
  setup?: (options: O) => S | Promise<S>;
  /** one item: return a JSON object (the result's `output`), or throw (a SluiceError's code, else SLUICE_E_PROCESSOR) */
  process: (item: ProcessorItem, ctx: DefinedContext<O, S>) => R | Promise<R>;
  /** once per worker thread when the run ends normally (bounded: a few seconds), with setup's state */
  teardown?: (state: S) => void | Promise<void>;
  /** every item fans out into children (ctx.emit): an item that emits none ends at this stage, not handed on as it is */
  fanOut?: boolean;
  /** see ProcessorFn.classifyStray (worker/load.ts): what a promise rejected after the fact means for the item */
  classifyStray?: (reason: unknown, item: ProcessorItem) => unknown;
}

export type DefinedProcessor<O = Record<string, unknown>, S = undefined, R = unknown> = Readonly<ProcessorDefinition<O, S, R>> & { readonly [PROCESSOR_BRAND]: true };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Declare a processor (see ProcessorDefinition); `export default` the result. Throws a TypeError on a malformed definition. */
export function defineProcessor<O = Record<string, unknown>, S = undefined, R = unknown>(def: ProcessorDefinition<O, S, R>): DefinedProcessor<O, S, R> {
  if (!def || typeof def !== 'object') throw new TypeError('defineProcessor: expected an object { name, process, ... }');
  if (typeof def.name !== 'string' || !NAME_RE.test(def.name)) throw new TypeError(`defineProcessor: name must be 1-64 letters, digits, - or _ (got ${JSON.stringify(def.name)})`);
  if (typeof def.process !== 'function') throw new TypeError(`defineProcessor ${def.name}: process must be a function (item, ctx) => result`);
  for (const k of ['setup', 'teardown', 'classifyStray'] as const) {
    if (def[k] !== undefined && typeof def[k] !== 'function') throw new TypeError(`defineProcessor ${def.name}: ${k} must be a function`);
  }
  if (def.options !== undefined && typeof (def.options as { safeParse?: unknown }).safeParse !== 'function') {
    throw new TypeError(`defineProcessor ${def.name}: options must be a zod schema (z.object({...}))`);
  }
  return Object.freeze({ ...def, [PROCESSOR_BRAND]: true as const });
}

export function isDefinedProcessor(x: unknown): x is DefinedProcessor<unknown, unknown, unknown> {
  return !!x && typeof x === 'object' && (x as Record<symbol, unknown>)[PROCESSOR_BRAND] === true;
}
