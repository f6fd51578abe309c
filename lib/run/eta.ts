import { SIZE_CLASSES, sizeClass } from '../core/size-class.js';

/**
 * The time a run has left, estimated from what predicts an item's cost: its size.
 *
 * - **Cost by size class**: the items to do are known by size class (core/size-class.ts, from
 *   the count ahead). A class's cost is the mean worker time of the items of that class done so
 *   far; a class with fewer than two done takes the cost a power law fitted over all items done
 *   gives its middle size (log time against log size: a PDF's time grows more slowly than its
 *   bytes). Items run largest first, so counting items would overestimate what is left; a cost
 *   proportional to bytes would too (a PDF twice as big takes less than twice as long).
 * - Without classes (paths on stdin, content keys, a resume with a big journal: no count ahead),
 *   what is left is the items to do at the mean cost so far.
 * - **Rate**: worker time done per second of wall time over a recent window: half the time since
 *   the first item started, between 1 s and WORK_WINDOW_MS, so the workers' boot and a slow start
 *   stop weighing within seconds. The time items running now have had counts as done, so the
 *   worker time done grows smoothly (a long item does not stall it while it runs) and a short
 *   window is not noisy; that time comes off what is left.
 * - The items/s shown (`rate`) is over the last WINDOW_MS.
 * - Unknown (null) until MIN_ITEMS items are done and what is left is known.
 *
 * Invariant: memory is a few counters per size class and at most one sample per progress line
 * of the last WINDOW_MS, whatever the item count.
 */
export const WINDOW_MS = 20_000;
export const WORK_WINDOW_MS = 10_000;
const MIN_ITEMS = 3;

/** What is left to do: items, and when known the items to do by size class (done ones included: Eta subtracts what it has seen). */
export interface Remaining {
  items: number;
  /** every item the run takes, by size class (null: not known) */
  todoByClass: Float64Array | null;
}

export class Eta {
  /** items done (processed or filtered), items processed, and their worker ms, per size class */
  private readonly doneIn = new Float64Array(SIZE_CLASSES);
  private readonly ranIn = new Float64Array(SIZE_CLASSES);
  private readonly msIn = new Float64Array(SIZE_CLASSES);
  private n = 0;
  private totalMs = 0;
  /** the power law's sums: log size, log ms */
  private lx = 0;
  private ly = 0;
  private lxx = 0;
  private lxy = 0;
  private first = 0;
  /** (time, worker ms done, items done), one per progress sample, the last WINDOW_MS */
  private samples: { t: number; y: number; n: number }[] = [];

  /** An item was processed: its size in bytes and its worker time in ms, ending at `now`. */
  add(bytes: number, ms: number, now = Date.now()): void {
    if (!this.first) this.first = now - ms;
    const c = sizeClass(bytes);
    this.doneIn[c]!++;
    this.ranIn[c]!++;
    this.msIn[c]! += ms;
    this.n++;
    this.totalMs += ms;
    const x = Math.log(Math.max(1, bytes));
    const y = Math.log(Math.max(0.01, ms));
    this.lx += x;
    this.ly += y;
    this.lxx += x * x;
    this.lxy += x * y;
  }

  /** An item left without running (a filter dropped it): no longer to do, no cost seen. */
  drop(bytes: number): void {
    this.doneIn[sizeClass(bytes)]!++;
  }

  /** Take a sample for the recent rates (each progress line); `runningMs`: the time the items running now have had so far. */
  sample(runningMs = 0, now = Date.now()): void {
    this.samples.push({ t: now, y: this.totalMs + runningMs, n: this.n });
    while (this.samples.length > 2 && now - this.samples[1]!.t >= WINDOW_MS) this.samples.shift();
  }

  /** The oldest sample in the window, or the first item's start when the window spans too little. */
  private base(now: number): { t: number; y: number; n: number } | null {
    const s = this.samples[0];
    if (s && now - s.t >= 1000) return s;
    return this.first ? { t: this.first, y: 0, n: 0 } : null;
  }

  /** The sample the work rate is measured from: the newest one at least the work window old, or the first item's start. */
  private workBase(now: number): { t: number; y: number; n: number } | null {
    if (!this.first) return null;
    const span = Math.min(WORK_WINDOW_MS, Math.max(1000, (now - this.first) / 2));
    let b: { t: number; y: number; n: number } | null = null;
    for (const s of this.samples) {
      if (now - s.t < span) break;
      b = s;
    }
    return b && b.t > this.first ? b : { t: this.first, y: 0, n: 0 };
  }

  /** Items processed per second, over the recent window. */
  rate(now = Date.now()): number {
    const b = this.base(now);
    if (!b || now <= b.t) return 0;
    return ((this.n - b.n) * 1000) / (now - b.t);
  }

  /**
   * Seconds left, or null while not known. `runningMs`: the time the items running now have had
   * so far, which is work done (in the rate) and no longer to do (items running count as left).
   */
  seconds(left: Remaining | null, runningMs = 0, now = Date.now()): number | null {
    if (!left) return null;
    if (left.items <= 0) return 0;
    if (this.n < MIN_ITEMS) return null;
    const b = this.workBase(now);
    const done = this.totalMs + runningMs;
    if (!b || now <= b.t || done <= b.y) return null;
    const workRate = (done - b.y) / (now - b.t); // worker ms per wall ms
    return Math.max(0, this.work(left) - runningMs) / workRate / 1000;
  }

  /** Worker ms the items left will take. */
  private work(left: Remaining): number {
    const todo = left.todoByClass;
    if (!todo) return left.items * (this.totalMs / this.n);
    const law = this.powerLaw();
    let ms = 0;
    for (let c = 0; c < SIZE_CLASSES; c++) {
      const k = todo[c]! - this.doneIn[c]!;
      if (k <= 0) continue;
      const ran = this.ranIn[c]!;
      ms += k * (ran >= 2 ? this.msIn[c]! / ran : law(c));
    }
    return ms;
  }

  /** Cost of an item of class c from the power law over all items done (the mean cost when sizes do not vary enough to fit one). */
  private powerLaw(): (c: number) => number {
    const { n, lx, ly, lxx, lxy } = this;
    const mean = this.totalMs / n;
    const mx = lx / n;
    const variance = lxx / n - mx * mx;
    if (variance < 0.01) return () => mean;
    // the exponent kept between 0 (cost independent of size) and 1.5 (a few outliers do not make it explode)
    const p = Math.min(1.5, Math.max(0, (lxy / n - mx * (ly / n)) / variance));
    const lc = ly / n - p * mx;
    return (c) => Math.exp(lc + p * Math.log(c === 0 ? 1 : 2 ** (c - 0.5)));
  }
}
