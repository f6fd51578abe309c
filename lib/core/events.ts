// NDJSON events, version 1: the contract of stdout (docs/events.md). Consumers ignore fields they
// don't know, so fields may be added; none may be renamed or change meaning.
import type { ErrorInfo } from './errors.js';

export const EVENT_VERSION = 1;

export interface StartEvent {
  v: 1; type: 'start'; run: string; pipeline: string; processor: string; concurrency: number;
  config_hash: string; state: string; mode: 'resume' | 'fresh' | 'retry-failed';
  /** the checkpoint key items are skipped by, or none (every item runs) */
  dedupe: string;
  /** items in the checkpoint this run skips (0 with dedupe none) */
  already_done: number; config_changed: boolean;
  /** pipelines of several stages: each stage in order (`processor` above is the first map's) */
  stages?: { name: string; kind: string; processor?: string }[];
}
export interface ResultEvent {
  /** status filtered: dropped by a filter stage; a run does not print these (`sluice results` lists them) */
  v: 1; type: 'result'; key: string; path: string; path_b64?: string; status: 'ok' | 'failed' | 'filtered';
  ms: number; attempts: number; output?: Record<string, unknown>; error?: ErrorInfo;
  /** pipelines of several stages: the stage the item ended at (the last one, or the one that failed or dropped it) */
  stage?: string;
  /** a child item (fan-out): its parent's key and its index among the parent's children (its path is the parent's) */
  parent?: string; index?: number;
  /** a parent (fan-out): how many children it handed on (each has its own result line, before this one) */
  children?: number;
}
export interface ProgressEvent {
  /** found: items found so far (by the walk, or read from stdin), done or not; the total once the walk ends */
  v: 1; type: 'progress'; done: number; total: number | null; found: number; walking: boolean; ok: number; failed: number;
  skipped: number; in_flight: number; rate: number; eta_s: number | null; elapsed_s: number; rss_mb: number;
  /** pipelines of several stages: items a filter dropped, and each stage's figures */
  filtered?: number; stages?: StageFigures[];
}
/** One stage of a pipeline of several: items in, how they came out, items that skipped it (recorded by an earlier run), time in the stage (ms, summed over items). */
export interface StageFigures { name: string; kind: string; in: number; ok: number; failed: number; filtered: number; resumed: number; ms: number }
export interface WarningEvent {
  v: 1; type: 'warning'; code: string; path?: string; message: string;
}
export interface SummaryEvent {
  v: 1; type: 'summary'; total: number | null; ok: number; failed: number; skipped: number;
  elapsed_s: number; rate: number; report: string | null; exit_code: number; stopped?: string;
  /** only when some are: items in the checkpoint the walk did not find, and the first 20 */
  vanished?: number; vanished_paths?: string[];
  /** only when some: stdin lines that named no item (see the `error` events) */
  input_errors?: number;
  /** only when some: items failed in earlier runs and still failed in the checkpoint (they count in the exit status) */
  carried_failed?: number;
  /** only when the run ended on a fatal error (exit 3): its code and message */
  error?: { code: string; message: string };
  /** only when some: outputs on disk of inputs that now fail or are gone, the first 20, and (with --prune-outputs) how many were removed */
  stale_outputs?: number; stale_output_paths?: string[]; pruned_outputs?: number;
  /** pipelines of several stages: items a filter dropped, and each stage's figures */
  filtered?: number; stages?: StageFigures[];
  /** fan-out: child items by outcome (not counted in ok, failed, filtered), those done in an earlier run, and the most in flight at once */
  children?: { ok: number; failed: number; filtered: number; skipped: number; peak_in_flight: number };
  /** queued runs (--queue): items whose job a worker started more than once (its worker died, or handed it back at a stop) */
  redelivered?: number;
}
/** A problem with the input itself, not with an item: a bad stdin line. */
export interface ErrorEvent {
  v: 1; type: 'error'; code: string; line?: number; message: string;
}
export type SluiceEvent = StartEvent | ResultEvent | ProgressEvent | WarningEvent | ErrorEvent | SummaryEvent;

export function runId(now = new Date()): string {
  return `${now.toISOString().replace(/\.\d+Z$/, 'Z')}-${Math.random().toString(16).slice(2, 6)}`;
}
