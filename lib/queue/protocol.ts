// Every message that crosses the queue boundary (coordinator ⇄ Redis ⇄ `sluice worker`), typed
// once for both sides: the job's data, its id, and what a worker returns.
//
// Invariants: a job id is a function of the run's config, the item's key, the stage and the
// attempt (a rerun after a crash finds the same job, done or not, instead of adding a second);
// it has no `:` and is never all digits (BullMQ refuses both). A job carries a path (shared
// storage), never the file's bytes. A worker runs a job only when the processor it would load is
// the one the coordinator's run names (same fingerprint), and refuses it with a coded failure
// otherwise.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isBuiltin } from '../processors/index.js';
import { mapIdentity, strictFileDigest } from '../processors/identity.js';
import { VERSION } from '../core/version.js';
import type { ReplyMessage, TaskMessage } from '../worker/protocol.js';

/** The BullMQ queue every sluice coordinator and worker on a Redis database share. */
export const QUEUE_NAME = 'sluice';

/** A job: one item for one map stage (with the stages fused after it), as a worker pool task. */
export interface JobData {
  v: 1;
  task: JobTask;
  timeoutMs: number;
  /** processorFingerprint(task) on the coordinator: the worker's must match */
  fingerprint: string;
  /** the item's path as the coordinator shows it, for the worker's progress lines */
  shown: string;
  /** the stage's memory caps (map.max_memory_mb, map.max_rss_mb; null: the worker's default) */
  memory: { maxMemoryMb: number; maxRssMb: number | null };
  /** the item may fan out: its processor gets ctx.emit, and its children go to childrenKey(id) */
  fanOut?: true;
}

/**
 * Fan-out over a queue: the Redis list a job's children go to, in order, each as
 * `{"index": i, "child": {...}}`. The worker waits while it holds CHILDREN_WINDOW or more (the
 * coordinator takes them as its stages accept them): memory stays bounded however many children
 * an item has. A job done again (its worker died) emits from index 0: the coordinator passes on
 * only indexes it has not had.
 */
export const CHILDREN_WINDOW = 64;

export function childrenKey(id: string): string {
  return `sluice:children:${id}`;
}

/**
 * Where workers say which jobs they finished, per run config and stage: the job ids, pushed as
 * the jobs complete or fail. A hint only: the coordinator pops it to read those jobs at once, and
 * reads all its outstanding jobs by id now and then whatever the list says (a list lost with
 * Redis, or popped by someone else, only delays). It expires an hour after its last push.
 */
export function doneKey(config: string, stage: number): string {
  return `sluice:done:${config}:${stage}`;
}

/** The done list of a job id (jobId's shape), or null for an id that is not a sluice job's. */
export function doneKeyOf(id: string): string | null {
  const m = /^j-([0-9a-f]+)-.+-(\d+)-\d+$/.exec(id);
  return m ? doneKey(m[1]!, Number(m[2])) : null;
}

/** How long a done list outlives its last push (s). */
export const DONE_TTL_S = 3600;

/** What a worker returns for a job: the pool's reply, as a local run would have it. */
export type JobResult = ReplyMessage;

/** The job id of an item's stage and attempt in a run of config `config`: [a-z0-9-] only, never all digits. */
export function jobId(config: string, key: string, stage: number, attempt: number): string {
  return `j-${config}-${key}-${stage}-${attempt}`;
}

/**
 * What a task's processors are, everywhere it runs: the sluice version and the identity of each
 * stage it runs (processors/identity.ts, the rule the run's config fingerprint uses: a module is
 * its content, a path alone says nothing of what is in it; options less a built-in's defaults).
 * Throws (with the reason) when a module cannot be read here.
 */
export function processorFingerprint(task: Pick<TaskMessage, 'processor' | 'options' | 'then'>): string {
  const parts = [VERSION, ...stagesOf(task).map((s) => stageIdentity(s))];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** The stages a task runs: its processor, then the fused ones. */
export function stagesOf(task: Pick<TaskMessage, 'processor' | 'options' | 'then'>): { processor: string; options: Record<string, unknown> }[] {
  return [{ processor: task.processor, options: task.options }, ...(task.then ?? [])];
}

/** One stage's identity as a string (throws when its module cannot be read here). */
export function stageIdentity(s: { processor: string; options: Record<string, unknown> }): string {
  return JSON.stringify(mapIdentity({ processor: modulePath(s.processor), options: s.options }, VERSION, strictFileDigest));
}

/** A module processor's file (a `file:` URL or a path); a built-in's name as it is. */
function modulePath(processor: string): string {
  return processor.startsWith('file:') ? fileURLToPath(processor) : processor;
}

/**
 * processorFingerprint, remembered per processor, options and fused stages while their module
 * files keep their size and modification time (a stat each, not a read and a hash, per job).
 * Bounded by the distinct stage configurations a worker sees.
 */
export function fingerprintCache(): (task: Pick<TaskMessage, 'processor' | 'options' | 'then'>) => string {
  const seen = new Map<string, { sig: string; fp: string }>();
  return (task) => {
    const sig = stagesOf(task).filter((s) => !isBuiltin(s.processor)).map((s) => {
      const st = fs.statSync(modulePath(s.processor));
      return `${st.size}:${st.mtimeMs}`;
    }).join(',');
    const k = JSON.stringify([task.processor, task.options, task.then ?? null]);
    const hit = seen.get(k);
    if (hit && hit.sig === sig) return hit.fp;
    const fp = processorFingerprint(task);
    seen.set(k, { sig, fp });
    return fp;
  };
}

/** A task as a job carries it: a file name that is not valid UTF-8 as base64 (JSON has no bytes). */
export type JobTask = Omit<TaskMessage, 'item'> & { item: Omit<TaskMessage['item'], 'file'> & { file: string; file_b64?: true } };

export function toJobTask(task: TaskMessage): JobTask {
  const f = task.item.file;
  return typeof f === 'string' ? (task as JobTask) : { ...task, item: { ...task.item, file: Buffer.from(f).toString('base64'), file_b64: true } };
}

export function fromJobTask(t: JobTask): TaskMessage {
  if (!t.item.file_b64) return t as TaskMessage;
  const { file_b64: _, ...item } = t.item;
  return { ...t, item: { ...item, file: new Uint8Array(Buffer.from(t.item.file, 'base64')) } };
}
