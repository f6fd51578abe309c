import type { Writable } from 'node:stream';

/**
 * Where a run's events go, one object at a time: `write` resolves when the reader can take more
 * (backpressure), `busy` says a write now would wait (periodic lines are skipped then), and
 * `onClosed` fires once when nobody reads any more.
 */
export interface EventSink {
  readonly closed: boolean;
  readonly busy: boolean;
  write(event: object): Promise<void>;
  onClosed(fn: () => void): void;
}

/**
 * Writes one JSON object per line to a byte stream and honours its backpressure: `write`
 * resolves at once while the stream takes data and waits for 'drain' when it does not, so a slow
 * reader slows the run instead of filling memory. When the reader goes away (EPIPE, `| head`),
 * `closed` turns true, `onClosed` fires once, and further lines are dropped quietly.
 */
export class NdjsonWriter implements EventSink {
  closed = false;
  lines = 0;
  private closedListeners: (() => void)[] = [];

  constructor(readonly out: Writable) {
    // EPIPE is the usual cause; any write error means nobody can read what follows
    out.on('error', () => this.markClosed());
    out.on('close', () => this.markClosed());
  }

  onClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.closedListeners.push(fn);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fn of this.closedListeners.splice(0)) fn();
  }

  /** True when a write now would have to wait: periodic lines (progress) are skipped then. */
  get busy(): boolean {
    return this.closed || this.out.writableNeedDrain;
  }

  /** The text of one event, a whole line (null: not printed). */
  protected format(event: object): string | null {
    return JSON.stringify(event) + '\n';
  }

  write(event: object): Promise<void> {
    if (this.closed) return Promise.resolve();
    const text = this.format(event);
    if (text === null) return Promise.resolve();
    this.lines++;
    if (this.out.write(text)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('close', done);
        this.out.off('error', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
      this.out.on('error', done);
    });
  }
}
