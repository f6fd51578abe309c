// The item's time limit as an AbortSignal (`ctx.signal`), for processors that can stop cleanly.
//
// Invariant: the signal aborts when the item has run map.timeout, measured from its start in the
// worker (as the pool measures it). A processor that has read the signal is "cooperative": its
// slot's flag in shared memory tells the pool to give it SOFT_TIMEOUT_GRACE_MS more to stop and
// reply (the `exec` processor kills its command's group and reports the tail of its stderr)
// before the worker is stopped. A processor that never reads it pays nothing (the controller and
// its timer are made on first use) and is stopped at the timeout, as before.

import { ItemTimeout, setDeadline, type SignalDeadline } from '../core/processor.js';

export class ItemDeadline implements SignalDeadline {
  private ctl: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** `at`: Date.now() when the item's time is up (postpone moves it); `onUse`: marks the item cooperative. */
  constructor(public at: number, private readonly timeoutMs: number, private readonly onUse: () => void) {}

  get signal(): AbortSignal {
    if (!this.ctl) {
      const ctl = (this.ctl = new AbortController());
      this.onUse();
      // a command waited for without the event loop (core/command.ts) cannot see the timer fire
      setDeadline(ctl.signal, this);
      const fire = () => ctl.abort(this.reason());
      const left = this.at - Date.now();
      if (left <= 0) fire();
      else this.timer = setTimeout(fire, left);
    }
    return this.ctl.signal;
  }

  /** Time the item spent waiting, not working (fan-out backpressure): the limit moves that much later. */
  postpone(ms: number): void {
    this.at += ms;
    if (this.timer && this.ctl && !this.ctl.signal.aborted) {
      clearTimeout(this.timer);
      const ctl = this.ctl;
      this.timer = setTimeout(() => ctl.abort(this.reason()), Math.max(0, this.at - Date.now()));
    }
  }

  reason(): ItemTimeout {
    return new ItemTimeout(this.timeoutMs);
  }

  /** The signal was read and has fired. */
  get expired(): boolean {
    return this.ctl?.signal.aborted ?? false;
  }

  get message(): string {
    return new ItemTimeout(this.timeoutMs).message;
  }

  /** The item is over: no timer outlives it. */
  done(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
