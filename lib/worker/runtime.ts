// Runs inside each worker thread. Nothing a processor or a library prints may reach stdout,
// which belongs to the NDJSON stream: console and process.stdout are sent to stderr first.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { toErrorInfo, SluiceError } from '../core/errors.js';
import { defaultDisplay } from '../stages/walk.js';
import { makeContext, type ProcessorContext } from './context.js';
import type { ReplyMessage, TaskMessage } from './protocol.js';
import { BUILTIN_PROCESSORS } from '../processors/index.js';

const toStderr = (...args: unknown[]) => console.error(...args);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.warn = toStderr;
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

export type ProcessorFn = (item: TaskMessage['item'], ctx: ProcessorContext) => Promise<unknown> | unknown;

const loaded = new Map<string, ProcessorFn>();

async function load(spec: string): Promise<ProcessorFn> {
  let fn = loaded.get(spec);
  if (fn) return fn;
  const builtin = BUILTIN_PROCESSORS[spec];
  const mod = builtin ? await builtin.load() : await import(pathToFileURL(path.resolve(spec)).href);
  fn = (mod as { default?: unknown }).default as ProcessorFn;
  if (typeof fn !== 'function') {
    throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${spec} has no default export function`);
  }
  loaded.set(spec, fn);
  return fn;
}

export default async function run(task: TaskMessage): Promise<ReplyMessage> {
  try {
    const fn = await load(task.processor);
    const ctx = makeContext(task.outDir, task.options, (p) => defaultDisplay(p));
    const out = await fn(task.item, ctx);
    const output = out === undefined || out === null ? {} : out;
    if (typeof output !== 'object' || Array.isArray(output)) {
      return { type: 'failed', error: { code: 'SLUICE_E_PROCESSOR', message: `processor returned ${Array.isArray(output) ? 'an array' : typeof output}, expected an object`, retryable: false } };
    }
    // a result must survive JSON: fail the item here rather than the writer later
    return { type: 'ok', output: JSON.parse(JSON.stringify(output)) as Record<string, unknown> };
  } catch (err) {
    return { type: 'failed', error: toErrorInfo(err) };
  }
}
