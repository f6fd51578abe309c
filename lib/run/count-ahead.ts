import type { WalkerThread } from '../stages/walk/thread.js';

/**
 * What the count ahead found: every file the walk will find, those the checkpoint has done (null
 * while not known: only the names are counted yet), and the others by size class
 * (core/size-class.ts; null while not known).
 */
export interface Counted { found: number; skipped: number | null; sizes: Float64Array | null }

/**
 * The run's total from the start. The walk that feeds the workers is bounded (it waits while
 * they are busy), so its count is complete only when it hands over its last item; this second
 * walk, in the walker's thread beside the bounded walk (stages/walk/worker.ts: a thread of its
 * own cost a whole heap, ~20 MB at the peak of a million-file run), counts only: first the
 * files by name (directories listed, no file stat'ed: the total, in a fifth of a second for
 * 100,000 files), then as `sluice plan` does (stat, key, look up in the checkpoint's table), in
 * a fraction of the run. Its figures give the progress lines a total and the ETA the sizes of
 * the files left.
 *
 * Invariant: it holds no item (count only); it sends nothing after a stop or close(); a count
 * that fails leaves `counted` as it was (the total is then known when the bounded walk ends, as
 * without it). The walker thread is closed by its owner, never here.
 */
export class CountAhead {
  counted: Counted | null = null;
  private started = false;
  private closed = false;

  constructor(private readonly walker: WalkerThread) {}

  /**
   * Start counting, once the walker has its table (not after a stop, nor twice). `lookup`: the
   * checkpoint holds done items to look the files up in; `onCounted` gets the figures once the
   * names are counted (skipped 0 without lookup, else null: not known yet), then once the count
   * is complete.
   */
  start(lookup: boolean, signal: AbortSignal, onCounted: (c: Counted) => void): void {
    if (this.closed || this.started || signal.aborted) return;
    this.started = true;
    signal.addEventListener('abort', () => { this.closed = true; }, { once: true });
    this.walker.countAhead(lookup, (m) => {
      if (this.closed) return;
      if (m.t === 'ahead-names') this.counted = { found: m.names, skipped: lookup ? null : 0, sizes: null };
      else this.counted = { found: m.found, skipped: m.skipped, sizes: m.sizes };
      onCounted(this.counted);
    });
  }

  close(): void {
    this.closed = true;
  }
}
