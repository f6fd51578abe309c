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
 * walk counts only: first the files by name (no stat: the total, within a second on 100,000
 * files), then as `sluice plan` does (stat, key, look up in the checkpoint's table), in a
 * fraction of the run. Its figures give the progress lines a total and the ETA the sizes of the
 * files left.
 *
 * Invariant: it holds no item (count only) and ends by itself, at a stop, or at close(); a walk
 * that fails or is stopped leaves `counted` null (the total is then known when the bounded walk
 * ends, as without it).
 */
/** The count starts once a worker is up, or after this long at most (ms). */
const START_AFTER_MS = 400;

export class CountAhead {
  counted: Counted | null = null;
  private walker: WalkerThread | null = null;
  private closed = false;

  constructor(private readonly opts: WalkOptions, private readonly skip: string[]) {}

  /**
   * Start counting once `ready()` (a worker is up: its thread then does not delay the first
   * result) or after START_AFTER_MS at most; not after a stop. `table`: the checkpoint's keys
   * (null: nothing is done); `onCounted` gets the figures once the names are counted (with
   * skipped 0 when nothing is done, else null), then once the count is complete.
   */
  startWhen(ready: () => boolean, table: KeySetSnapshot | null, signal: AbortSignal, onCounted: (c: Counted) => void): void {
    const since = Date.now();
    const poll = setInterval(() => {
      if (!ready() && Date.now() - since < START_AFTER_MS && !signal.aborted) return;
      clearInterval(poll);
      if (!signal.aborted) this.start(table, signal, onCounted);
    }, 20);
    poll.unref();
  }

  private start(table: KeySetSnapshot | null, signal: AbortSignal, onCounted: (c: Counted) => void): void {
    if (this.closed || this.walker) return;
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
