/**
 * --keep-order: results leave in the order their items were admitted, whatever order they finish
 * in. Invariant: at most `window` items are between the oldest unfinished one and the newest
 * admitted, so at most `window` finished results are ever held, whatever the number of items.
 * A slow item holds back the results after it; once the window is full, no new item is admitted
 * until it finishes (the workers wait, as `parallel --keep-order` does).
 */
export class Reorder<T> {
  private next = 0;
  private admitted = 0;
  private readonly held = new Map<number, T | null>();
  private waiting: (() => void) | undefined;
  private released = false;

  constructor(private readonly window: number, private readonly emit: (value: T) => Promise<void>) {}

  /** The next sequence number, once the window has room (at once after release()). */
  async admit(): Promise<number> {
    while (!this.released && this.admitted - this.next >= this.window) {
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    return this.admitted++;
  }

  /**
   * Item `seq` is finished: `value` to print, or null when it prints nothing (dropped at a stop).
   * Resolves once what it let out is written (backpressure from the output).
   */
  put(seq: number, value: T | null): Promise<void> {
    this.held.set(seq, value);
    let written = Promise.resolve();
    while (this.held.has(this.next)) {
      const v = this.held.get(this.next)!;
      this.held.delete(this.next++);
      if (v !== null) written = this.emit(v);
    }
    this.wake();
    return written;
  }

  /** Stop waiting for room (the run is stopping: nothing more is admitted). */
  release(): void {
    this.released = true;
    this.wake();
  }

  /** At the end: print what is held, in order, past the items that never finished (dropped at a stop). */
  async flush(): Promise<void> {
    for (const seq of [...this.held.keys()].sort((a, b) => a - b)) {
      const v = this.held.get(seq)!;
      if (v !== null) await this.emit(v);
    }
    this.held.clear();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.();
  }
}
