import type { ErrorInfo } from '../core/errors.js';
import type { ProcessorItem } from '../core/processor.js';

/** The one message the main thread sends a worker per item. */
export interface TaskMessage {
  type: 'task';
  /** built-in processor name, or an absolute path (file URL) to a module */
  processor: string;
  options: Record<string, unknown>;
  item: ProcessorItem;
  /** absolute output dir, or null when outputs go inline in the result */
  outDir: string | null;
  /** the pool's slot for this task: the worker writes its start time there (set by the pool) */
  slot?: number;
  /** map.timeout, for the item's ctx.signal (set by the pool) */
  timeoutMs?: number;
  /** a stage comes after this one: the processor gets ctx.emit (fan-out, see EmitMessage) */
  fanOut?: boolean;
  /** which try at the item this is (1: the first), and the item's key: set by the map stage (a queue's job id is made of them) */
  attempt?: number;
  key?: string;
  /**
   * Map stages fused with this one (consecutive, with the same settings): each runs on the output
   * of the one before (as item.input), in this worker, in the same task. The reply is the last
   * one's, with every stage's time; a failure says at which stage.
   */
  then?: FusedStage[];
}

/** A map stage run in the same task as the one before it (see TaskMessage.then). */
export interface FusedStage { processor: string; options: Record<string, unknown> }

/** Several items for one worker, done one after the other (fast items: see WorkerPool). */
export interface BatchMessage {
  type: 'batch';
  processor: string;
  options: Record<string, unknown>;
  items: TaskMessage['item'][];
  outDir: string | null;
  slot?: number;
  timeoutMs?: number;
  then?: FusedStage[];
}

/**
 * The end of a run, sent once per worker thread: each undoes its processor's setup (teardown),
 * then waits at `barrier` until every thread has had its message (or `deadline`, Date.now() ms),
 * so that no thread takes two and none is left out.
 */
export interface TeardownMessage {
  type: 'teardown';
  barrier: Int32Array;
  threads: number;
  deadline: number;
}

/**
 * `children`: how many child items the processor emitted (fan-out), when it emitted any.
 * Fused stages (TaskMessage.then): `stage_ms`, each stage's time; `stage`, the one that failed (0 = the first).
 * `ms`: time in the processor, measured in the worker. `outputs`: the names (relative to the
 * output dir, `/`-separated) the item wrote through ctx.writeOutput, for the journal; at most
 * MAX_OUTPUT_NAME_CHARS characters of names cross, `outputs_more` counts the rest.
 */
export type ReplyMessage =
  | { type: 'ok'; output: Record<string, unknown>; ms?: number; outputs?: string[]; outputs_more?: number; children?: number; stage_ms?: number[] }
  | { type: 'failed'; error: ErrorInfo; ms?: number; stage?: number };

/**
 * Fan-out: a child item, sent by a worker's ctx.emit to the main thread (through the worker's
 * parentPort; piscina hands such messages to the pool). `slot` is the task's pool slot. The main
 * thread counts each child it has handed downstream in `accepted[slot]` (shared, reset per task)
 * and notifies; the worker lets at most EMIT_WINDOW children be unaccepted, and replies for the
 * item only once every child it emitted is accepted, so a parent's reply never overtakes a child.
 */
export interface EmitMessage {
  type: 'sluice-emit';
  slot: number;
  child: Record<string, unknown>;
}

/** Children a worker may have sent and not yet seen accepted. */
export const EMIT_WINDOW = 4;

export function isEmit(x: unknown): x is EmitMessage {
  const m = x as EmitMessage | null;
  return !!m && m.type === 'sluice-emit' && typeof m.slot === 'number' && !!m.child && typeof m.child === 'object';
}

/** The bound on the output names one item's reply (and journal line) carries. */
export const MAX_OUTPUT_NAME_CHARS = 4096;

export interface BatchReply { type: 'batch'; replies: ReplyMessage[] }

export function isBatchReply(x: unknown): x is BatchReply {
  const r = x as BatchReply | null;
  return !!r && r.type === 'batch' && Array.isArray(r.replies) && r.replies.every(isReply);
}

export function isReply(x: unknown): x is ReplyMessage {
  const r = x as ReplyMessage | null;
  return !!r && typeof r === 'object' && (r.type === 'ok'
    ? typeof r.output === 'object' && (r.outputs === undefined || (Array.isArray(r.outputs) && r.outputs.every((n) => typeof n === 'string')))
    : r.type === 'failed' && typeof r.error === 'object');
}
