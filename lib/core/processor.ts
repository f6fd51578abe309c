// What a processor is given and gives back: the types a processor module is written against,
// built-in or the user's. The worker runtime (worker/runtime.ts) makes them; nothing here runs.

/** The item a processor is called with. */
export interface ProcessorItem {
  /** the path as shown to the user (relative to the cwd when under it) */
  path: string;
  /** what to open: an absolute path, or its raw bytes when the name is not valid UTF-8 */
  file: string | Uint8Array;
  /** the path relative to its walk root, `/`-separated */
  rel: string;
  size: number;
  mtime_ms: number;
  /** reached through a link the user asked to follow, or named by the user: readers may follow it (see core/input.ts) */
  follow?: boolean;
  /**
   * In a pipeline of several stages: the output of the previous map stage for this item (what
   * that processor returned). Absent in the first map stage. The file fields above stay the
   * original input's, whatever stage the item is at.
   */
  input?: Record<string, unknown>;
}

/**
 * The item a processor gets: the file fields of `from` and `input` (when set). Made field by field
 * (not spread): a worker makes one per item and fused stage, on the hot path.
 */
export function processorItem(from: ProcessorItem, input: Record<string, unknown> | undefined): ProcessorItem {
  const it: ProcessorItem = { path: from.path, file: from.file, rel: from.rel, size: from.size, mtime_ms: from.mtime_ms };
  if (from.follow) it.follow = true;
  if (input) it.input = input;
  return it;
}

/** What a processor receives besides the item. */
export interface ProcessorContext {
  options: Record<string, unknown>;
  /** true when outputs go to files (an output dir is set); else return them inline */
  hasOutputDir: boolean;
  /**
   * Write `data` atomically to `name` under the run's output dir (temp file, fsync, rename) and
   * return its path as shown to the user. `name` must be relative and stay inside the dir, and no
   * directory on the way may be a symbolic link. It rejects only with a SluiceError that says
   * what went wrong with the output (a full disk is SLUICE_E_DISK_FULL and stops the run): a
   * processor should let it through as it is.
   */
  writeOutput(name: string, data: string | Uint8Array): Promise<string>;
  /**
   * Aborts when the item's time (map.timeout) is up. A processor that reads it gets a moment more
   * to stop and reply before its worker is stopped (see worker/deadline.ts). Set in a worker.
   */
  readonly signal?: AbortSignal;
  /**
   * Fan-out (pipelines of several stages): hand one child item to the rest of the chain. Resolves
   * when the downstream has room (backpressure): await it before making the next child, so
   * children are never gathered in memory. Children are numbered in emit order from 0; each gets
   * a key derived from its parent's key and index. Absent when the processor runs where children
   * cannot go (e.g. `sluice run` with a single stage).
   */
  emit?: (child: Record<string, unknown>) => Promise<void>;
}

/** The abort reason of `ctx.signal`: the item ran out of time. */
export class ItemTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no result after ${timeoutMs} ms (map.timeout)`);
    this.name = 'ItemTimeout';
  }
}

/** When an item's signal will abort, and why: for code that waits without an event loop (command.ts). */
export interface SignalDeadline {
  /** Date.now() at which the signal aborts */
  at: number;
  /** the reason it aborts with */
  reason(): unknown;
}

const deadlines = new WeakMap<AbortSignal, SignalDeadline>();

/** Record (or move) when `signal` will abort; the deadline's owner (worker/deadline.ts) calls it. */
export function setDeadline(signal: AbortSignal, d: SignalDeadline): void {
  deadlines.set(signal, d);
}

/** When `signal` will abort, if its owner said so. */
export function deadlineOf(signal: AbortSignal): SignalDeadline | undefined {
  return deadlines.get(signal);
}
