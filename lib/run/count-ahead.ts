import type { KeySetSnapshot } from '../checkpoint/keyset.js';
import { WalkerThread } from '../stages/walk/thread.js';
import type { WalkOptions } from '../stages/walk/walk.js';

/**
 * What the count ahead found: every file the walk will find, those the checkpoint has done (null
 * while not known: only the names are counted yet), and the others by size class
 * (core/size-class.ts; null while not known).
 */
export interface Counted { found: number; skipped: number | null; sizes: Float64Array | null }

/**
 * The run's total from the start. The walk that feeds the workers is bounded (it waits while
 * they are busy), so its count is complete only when it hands over its last item; this second
 * walk, in a thread of its own from the run's start, counts only: first the files by name
 * (directories listed, no file stat'ed: the total, in a fifth of a second for 100,000 files),
 * then as `sluice plan` does (stat, key, look up in the checkpoint's table), in a fraction of the
 * run. Its figures give the progress lines a total and the ETA the sizes of the files left.
 * (Started once a worker was up instead, it gave the total 0.4 s later and the first result no
 * sooner: bench/BENCHMARKS.md.)
 *
 * Invariant: it holds no item (count only) and ends by itself, at a stop, or at close(); a walk
 * that fails or is stopped leaves `counted` null (the total is then known when the bounded walk
 * ends, as without it).
 */

export class CountAhead {
  counted: Counted | null = null;
  private walker: WalkerThread | null = null;
  private closed = false;

  constructor(private readonly opts: WalkOptions, private readonly skip: string[]) {}

  /**
   * Start counting (not after a stop, nor twice). `table`: the checkpoint's keys (null: nothing
   * is done); `onCounted` gets the figures once the names are counted (skipped 0 when nothing is
   * done, else null: not known yet), then once the count is complete.
   */
  start(table: KeySetSnapshot | null, signal: AbortSignal, onCounted: (c: Counted) => void): void {
    if (this.closed || this.walker || signal.aborted) return;
    const w = (this.walker = new WalkerThread({ opts: this.opts, skip: this.skip, dedupe: table !== null, helper: false, countOnly: true, names: true }));
    w.setTable(table);
    const onNames = (names: number) => {
      if (!this.closed) onCounted((this.counted = { found: names, skipped: table ? null : 0, sizes: null }));
    };
    void (async () => {
      let found = 0;
      let skipped = 0;
      for await (const item of w.items({ signal, onNames, onCounts: (f, s) => { found = f; skipped = s; } })) void item; // count only: none comes
      if (w.completed && !this.closed) onCounted((this.counted = { found, skipped, sizes: w.sizes }));
    })().catch(() => {
      // a walk that cannot count (a fault the bounded walk reports too) only leaves the total unknown
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return this.walker?.close() ?? Promise.resolve();
  }
}
