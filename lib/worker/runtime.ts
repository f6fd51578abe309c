// Runs inside each worker thread. Nothing a processor or a library prints may reach stdout,
// which belongs to the NDJSON stream: console and process.stdout are sent to stderr first.
import { getHeapStatistics } from 'node:v8';
import { workerData } from 'piscina';
import { fdLimitError, toErrorInfo, SluiceError, type ErrorInfo } from '../core/errors.js';
import { ItemContext } from './context.js';
import { processorItem } from '../core/processor.js';
import type { BatchMessage, BatchReply, ReplyMessage, TaskMessage, TeardownMessage } from './protocol.js';
import { loadProcessor, type ProcessorFn } from './load.js';
import { bindChildTable, setChildSlot } from '../core/child-groups.js';
import { ItemDeadline } from './deadline.js';
import { Emitter } from './emit.js';
import { defaultDisplay } from '../core/fsx.js';

const toStderr = (...args: unknown[]) => console.error(...args);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.warn = toStderr;
process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

const loaded = new Map<string, ProcessorFn>();

/**
 * The processor's function, loaded once per worker. Any failure to load it is the run's, not an
 * item's (SLUICE_E_PROCESSOR_LOAD, or SLUICE_E_FD_LIMIT when out of file descriptors): the run
 * stops and no item is recorded with it.
 */
async function load(spec: string, options?: Record<string, unknown>): Promise<ProcessorFn> {
  let fn = loaded.get(spec);
  if (fn) return fn;
  try {
    fn = await loadProcessor(spec, options);
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    const e = err as Error;
    const why = `${e?.name && e.name !== 'Error' ? e.name + ': ' : ''}${e?.message ?? String(err)}`;
    // the run's failure, not the item's: stopsRun() ends the run unrecorded
    throw fdLimitError(err, `loading processor ${spec}`)
      ?? new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${spec} could not be loaded: ${why}`, { cause: err });
  }
  loaded.set(spec, fn);
  return fn;
}

/** start time and item index (in a batch) per pool slot, read by the main thread for timeouts, the memory watchdog and blame */
const shared = workerData as {
  starts?: Float64Array; current?: Int32Array; stageAt?: Int32Array; booted?: Int32Array; halt?: Int32Array; preload?: string;
  /** the run's processor options, for a built-in to make its engine ready (not yet checked) */
  preloadOptions?: Record<string, unknown>;
  /** per slot: the process group of the item's command (core/child-groups.ts) */
  children?: Int32Array;
  /** per slot: 1 once the item's processor has read ctx.signal (worker/deadline.ts) */
  cooperative?: Int32Array;
  /** test-only: outputs whose name contains this fail with ENOSPC (core/faults.ts) */
  outputEnospc?: string;
  /** per slot: children of the task's item the main thread has accepted (fan-out, worker/emit.ts) */
  accepted?: Int32Array;
} | undefined;
bindChildTable(shared?.children);

/** The pool's stop flag: once set, no further item of a batch starts (see WorkerPool.abortQueued). */
const halted = () => !!shared?.halt && Atomics.load(shared.halt, 0) !== 0;
const NOT_STARTED: ReplyMessage = { type: 'failed', error: { code: 'SLUICE_E_ABORTED', message: 'stopped: the run was stopping before this item started', retryable: false }, ms: 0 };

/**
 * Load the run's processor while the worker boots, before piscina counts it ready: this module's
 * top-level await holds piscina's handler load. Not in the background: between tasks piscina
 * parks its workers in a synchronous Atomics.wait (no event loop), so an import still pending
 * then would stall until the first task arrives. A processor that takes longer than
 * PRELOAD_WAIT_MS to load finishes loading in its first task (under that task's timeout); a load
 * error is not lost either: the first task loads again and reports it. The pool holds the first
 * items until a worker is up (`booted`), to start with the smallest.
 */
const PRELOAD_WAIT_MS = 10_000;
if (shared?.preload) {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    load(shared.preload, shared.preloadOptions).catch(() => {}),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, PRELOAD_WAIT_MS); }),
  ]);
  clearTimeout(timer);
}
if (shared?.booted) {
  Atomics.store(shared.booted, 1, Math.round(getHeapStatistics().heap_size_limit / 2 ** 20));
  Atomics.add(shared.booted, 0, 1);
}

export default async function run(task: TaskMessage | BatchMessage | TeardownMessage): Promise<ReplyMessage | BatchReply | { type: 'teardown'; ok: boolean; message?: string }> {
  if (task.type === 'teardown') return teardown(task);
  if (task.type === 'batch') {
    const replies: ReplyMessage[] = [];
    for (let i = 0; i < task.items.length; i++) {
      if (halted()) {
        replies.push(NOT_STARTED);
        continue;
      }
      replies.push(await runFused(task, task.items[i]!, i));
    }
    return { type: 'batch', replies };
  }
  if (halted()) return NOT_STARTED;
  return runFused(task, task.item, 0);
}

/**
 * One item through its task's processor and the stages fused after it (TaskMessage.then), each
 * on the output of the one before; each stage starts the item's clock again (its own timeout).
 * The first failure ends it, saying at which stage. The replies are the stages' own objects,
 * amended in place: a fused stage costs its call, not copies of what it returns.
 */
async function runFused(task: TaskMessage | BatchMessage, item: TaskMessage['item'], index: number): Promise<ReplyMessage> {
  const fanOut = task.type === 'task' && task.fanOut;
  const then = task.then;
  const first = await runOne(task.processor, task.options, task.outDir, item, mark(task.slot, index), task.timeoutMs, task.slot, fanOut, !then?.length);
  if (!then?.length) return first;
  if (first.type === 'failed') {
    first.stage = 0;
    return first;
  }
  let reply = first;
  let total = first.ms ?? 0;
  const stageMs = [total];
  let outputs = first.outputs ? new Set(first.outputs) : null;
  let more = first.outputs_more ?? 0;
  for (let k = 0; k < then.length; k++) {
    const s = then[k]!;
    const next = await runOne(s.processor, s.options, task.outDir, processorItem(item, reply.output), mark(task.slot, index, k + 1), task.timeoutMs, task.slot, false, k === then.length - 1);
    total += next.ms ?? 0;
    if (next.type === 'failed') {
      next.ms = total;
      next.stage = k + 1;
      return next;
    }
    stageMs.push(next.ms ?? 0);
    if (next.outputs) for (const o of next.outputs) (outputs ??= new Set()).add(o);
    more += next.outputs_more ?? 0;
    reply = next;
  }
  reply.ms = total;
  reply.stage_ms = stageMs;
  if (outputs) reply.outputs = [...outputs];
  if (more) reply.outputs_more = more;
  return reply;
}

/** Undo the setup of every processor this worker loaded, then wait for the other threads (see TeardownMessage). */
async function teardown(m: TeardownMessage): Promise<{ type: 'teardown'; ok: boolean; message?: string }> {
  let message: string | undefined;
  for (const fn of loaded.values()) {
    try {
      await fn.teardown?.();
    } catch (err) {
      message ??= `teardown failed: ${(err as Error)?.message ?? String(err)}`;
    }
  }
  Atomics.add(m.barrier, 0, 1);
  Atomics.notify(m.barrier, 0);
  // synchronous on purpose: this thread must not be given a second teardown while it waits
  for (let n = Atomics.load(m.barrier, 0); n < m.threads; n = Atomics.load(m.barrier, 0)) {
    const left = m.deadline - Date.now();
    if (left <= 0) break;
    Atomics.wait(m.barrier, 0, n, left);
  }
  return message ? { type: 'teardown', ok: false, message } : { type: 'teardown', ok: true };
}

/** The item (at fused stage `stage`) starts now: say so in the slot's shared entries; returns the start (Date.now()). */
function mark(slot: number | undefined, index: number, stage = 0): number {
  const now = Date.now();
  if (slot === undefined) return now;
  setChildSlot(slot);
  if (shared?.cooperative) shared.cooperative[slot] = 0;
  if (shared?.stageAt) shared.stageAt[slot] = stage;
  if (!shared?.starts || !shared.current) return now;
  shared.current[slot] = index;
  shared.starts[slot] = now;
  return now;
}

/**
 * A promise that a processor, or a library it uses, rejected and nobody awaited belongs to the item
 * in flight: it fails that item, with the code its error gives (as if thrown), instead of killing
 * the worker, which would fail the item as a crash, then retry and quarantine it. Between items
 * it is written to stderr and the worker goes on.
 */
let strayRejection: ((reason: unknown) => void) | null = null;
process.on('unhandledRejection', (reason) => {
  if (strayRejection) strayRejection(reason);
  else console.error(`sluice: a worker ignored a promise rejected between items: ${(reason as Error)?.message ?? String(reason)}`);
});

/**
 * The processor's reading of a stray rejection (its `classifyStray`), or the reason as it is; a
 * classifier that throws is not trusted. `null`: the processor knows it for harmless (left over
 * from work it has finished), and the item goes on.
 */
function classified(fn: ProcessorFn | undefined, reason: unknown, item: TaskMessage['item']): unknown {
  if (!fn?.classifyStray) return reason;
  try {
    return fn.classifyStray(reason, item);
  } catch {
    return reason;
  }
}

/** Why the item failed: a rejection nobody awaited, with the error it carried. */
function strayError(reason: unknown): ErrorInfo {
  const info = toErrorInfo(reason);
  return { ...info, message: `a promise the processor did not wait for failed: ${info.message}`, retryable: false };
}

/**
 * The processor's promise, or the item's failure by a rejection it left unawaited (see
 * strayRejection), whichever comes first. A processor that returned a plain value is not wrapped.
 */
function guarded(out: unknown, fn: ProcessorFn, item: TaskMessage['item']): unknown {
  if (!(out instanceof Promise)) return out;
  return new Promise((resolve, reject) => {
    strayRejection = (reason) => {
      const meant = classified(fn, reason, item);
      if (meant !== null) reject(new StrayRejection(meant));
    };
    out.then(resolve, reject);
  });
}

const display = (p: string) => defaultDisplay(p);

/** Microseconds since `t0` (performance.now()), in ms with three decimals. */
const since = (t0: number) => Math.round((performance.now() - t0) * 1000) / 1000;

/**
 * One stage of one item: its processor called, with the item's context, its output checked and,
 * when it leaves the worker (`leaves`: the task's last stage), copied as JSON would carry it. A
 * stage fused before another hands its output on as it is: fused stages are built-ins, whose
 * outputs are plain JSON already.
 */
async function runOne(processor: string, options: Record<string, unknown>, outDir: string | null, item: TaskMessage['item'], start: number, timeoutMs?: number, slot?: number, fanOut = false, leaves = true): Promise<ReplyMessage> {
  const t0 = performance.now();
  // ctx.signal: it aborts `timeoutMs` after `start`; reading it marks the slot cooperative
  const deadline = timeoutMs
    ? new ItemDeadline(start + timeoutMs, timeoutMs, () => { if (slot !== undefined && shared?.cooperative) shared.cooperative[slot] = 1; })
    : undefined;
  let fn: ProcessorFn | undefined;
  let emitter: Emitter | null = null;
  try {
    fn = loaded.get(processor) ?? await load(processor);
    const ctx = new ItemContext(options, outDir, display, deadline, shared?.outputEnospc);
    // waiting for the downstream is not working: the pool's clock and the deadline move on by it
    if (fanOut && slot !== undefined && shared?.accepted) {
      emitter = new Emitter(slot, shared.accepted, (waited) => {
        if (shared.starts) shared.starts[slot] += waited;
        deadline?.postpone(waited);
      });
      ctx.emit = emitter.emit;
    }
    const out = await guarded(fn(item, ctx), fn, item);
    // the reply never overtakes a child: every child is accepted first
    if (emitter?.sent) await guarded(emitter.settle(), fn, item);
    const output = out === undefined || out === null ? {} : out;
    if (typeof output !== 'object' || Array.isArray(output)) {
      return { type: 'failed', error: { code: 'SLUICE_E_PROCESSOR', message: `processor returned ${Array.isArray(output) ? 'an array' : typeof output}, expected an object`, retryable: false }, ms: since(t0) };
    }
    // a result must survive JSON: fail the item here rather than the writer later
    const reply: ReplyMessage & { type: 'ok' } = { type: 'ok', output: leaves ? JSON.parse(JSON.stringify(output)) as Record<string, unknown> : output as Record<string, unknown>, ms: since(t0) };
    if (ctx.written) Object.assign(reply, ctx.written.fields());
    if (emitter && (emitter.sent || fn.fanOut)) reply.children = emitter.sent;
    return reply;
  } catch (err) {
    let r: ReplyMessage;
    if (err instanceof StrayRejection) r = { type: 'failed', error: strayError(err.reason), ms: since(t0) };
    else {
      const error = toErrorInfo(err);
      // a processor that stopped because its time was up failed by timeout, whatever it threw
      r = deadline?.expired && error.code !== 'SLUICE_E_TIMEOUT'
        ? { type: 'failed', error: { code: 'SLUICE_E_TIMEOUT', message: `${deadline.message}; the processor stopped with ${error.code}: ${error.message}`, retryable: true }, ms: since(t0) }
        : { type: 'failed', error, ms: since(t0) };
    }
    // a failure, too, is replied only once the children emitted before it are accepted: they are handed on, and must arrive first
    if (emitter?.sent) await emitter.settle();
    return r;
  } finally {
    strayRejection = null;
    deadline?.done();
  }
}

class StrayRejection {
  constructor(readonly reason: unknown) {}
}
