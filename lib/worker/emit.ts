import { parentPort } from 'node:worker_threads';
import { SluiceError } from '../core/errors.js';
import { EMIT_WINDOW, type EmitMessage } from './protocol.js';

// Atomics.waitAsync is in Node 20 (V8), not in the ES2022 library types this project compiles with
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

/**
 * ctx.emit for one item in a worker (fan-out; the protocol is protocol.ts's EmitMessage). The
 * invariant: at most EMIT_WINDOW children are sent and not yet accepted by the main thread, so a
 * processor that emits a million children holds a few at a time, whatever its downstream's pace;
 * `settle` resolves once every child sent is accepted. Time spent waiting for the downstream is
 * not the item's: `onWait` moves its deadline by that much.
 */
export class Emitter {
  sent = 0;

  constructor(private readonly slot: number, private readonly accepted: Int32Array, private readonly onWait: (ms: number) => void) {}

  readonly emit = async (child: Record<string, unknown>): Promise<void> => {
    if (child === null || typeof child !== 'object' || Array.isArray(child)) {
      throw new SluiceError('SLUICE_E_PROCESSOR', `ctx.emit takes an object (a child item's fields), got ${Array.isArray(child) ? 'an array' : child === null ? 'null' : typeof child}`);
    }
    // what crosses to the main thread must survive JSON, as a result must
    const clean = JSON.parse(JSON.stringify(child)) as Record<string, unknown>;
    this.sent++;
    parentPort!.postMessage({ type: 'sluice-emit', slot: this.slot, child: clean } satisfies EmitMessage);
    await this.until(this.sent - EMIT_WINDOW + 1);
  };

  /** Every child sent has been accepted. */
  settle(): Promise<void> {
    return this.until(this.sent);
  }

  private async until(n: number): Promise<void> {
    if (Atomics.load(this.accepted, this.slot) >= n) return;
    const from = Date.now();
    for (let now = Atomics.load(this.accepted, this.slot); now < n; now = Atomics.load(this.accepted, this.slot)) {
      const w = waitAsync(this.accepted, this.slot, now);
      if (w.async) await w.value;
    }
    this.onWait(Date.now() - from);
  }
}
