import { WALKER_RESOURCE_LIMITS, threadExecArgv } from '../../core/threads.js';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { Item } from '../../core/item.js';
import { isFdExhausted, SluiceError } from '../../core/errors.js';
import type { KeySetSnapshot } from '../../checkpoint/keyset.js';
import type { WalkWarning } from './walk.js';
import { CREDIT, type CountAheadMessage, type TableMessage, type WalkerData, type WalkerInit, type WalkerMessage } from './protocol.js';

/** What the count ahead sends: the files by name, then the complete count. */
export type AheadMessage = Extract<WalkerMessage, { t: 'ahead-names' | 'ahead-done' }>;
const isAhead = (m: WalkerMessage): m is AheadMessage => m.t === 'ahead-names' || m.t === 'ahead-done';

interface WalkerHooks {
  signal?: AbortSignal;
  onWarning?: (w: WalkWarning) => void;
  /** Running totals: files found, and files dropped as already done. */
  onCounts?: (found: number, skipped: number) => void;
}

/**
 * The walk, keyed and deduped against the checkpoint, in a thread of its own. A resume over a
 * million done items is a million stat calls, hashes and table lookups that yield nothing; in
 * the main thread they queued behind everything else and paid a thread-pool round trip per
 * stat. Here they run back to back (synchronous stat, no Stats callbacks), while the main thread
 * loads the journal, and only the items to process cross over, in bounded batches.
 *
 * Start it before loading the checkpoint, hand it the table with setTable() (its first lookup
 * waits for that), then consume items(). The seen marks (for vanished inputs) are in `seen`.
 */
export class WalkerThread {
  private readonly worker: Worker;
  private readonly tablePort: MessageChannel['port1'];
  private readonly ready = new Int32Array(new SharedArrayBuffer(4));
  private snap: KeySetSnapshot | null = null;
  /** seen[slot] = 1 for each key of the table the walk found */
  seen: Uint8Array | null = null;
  /** the walk ran to its end */
  completed = false;
  /** bytes in the files not dropped (known once completed) */
  bytes = 0;
  /** count only, without a helper: the files not dropped by size class (core/size-class.ts), once completed */
  sizes: Float64Array | null = null;
  private closed = false;
  /** a count ahead runs in the thread (countAhead): the end of items() leaves the thread to close() */
  private counting = false;
  /** how the thread ended before items() listened (it can fail to start: out of file descriptors) */
  private early: string | null = null;

  constructor(init: WalkerInit) {
    const { port1, port2 } = new MessageChannel();
    this.tablePort = port1;
    this.worker = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: { ...init, tablePort: port2, ready: this.ready } satisfies WalkerData,
      transferList: [port2],
      execArgv: threadExecArgv(),
      resourceLimits: WALKER_RESOURCE_LIMITS,
    });
    // an 'error' event with no listener would end the process: keep it for items() to report
    this.worker.on('error', (err) => { this.early ??= err.message; });
    this.worker.once('exit', (code) => { if (code !== 0) this.early ??= `exit code ${code}`; });
  }

  /** The checkpoint's keys (null: nothing to look up). The walk's first lookup waits for this. */
  setTable(snap: KeySetSnapshot | null): void {
    if (this.closed || Atomics.load(this.ready, 0)) return;
    this.snap = snap;
    this.seen = snap ? new Uint8Array(new SharedArrayBuffer(snap.capacity)) : null;
    this.tablePort.postMessage({ table: snap, seen: this.seen } satisfies TableMessage);
    Atomics.store(this.ready, 0, 1);
    Atomics.notify(this.ready, 0);
  }

  get table(): KeySetSnapshot | null {
    return this.snap;
  }

  /**
   * Count ahead in this thread, beside the walk (worker.ts countAhead), once the table is handed
   * over: `on` gets the files by name, then the complete count. The thread then stays up past
   * the end of items() until close(), so that the count can finish.
   */
  countAhead(lookup: boolean, on: (m: AheadMessage) => void): void {
    if (this.closed || this.counting) return;
    this.counting = true;
    this.worker.on('message', (m: WalkerMessage) => { if (isAhead(m)) on(m); });
    this.worker.postMessage({ t: 'count', lookup } satisfies CountAheadMessage);
  }

  async *items(hooks: WalkerHooks = {}): AsyncGenerator<Item> {
    const queue: (WalkerMessage | { t: 'exit'; why: string })[] = [];
    let wake: (() => void) | null = null;
    const push = (m: WalkerMessage | { t: 'exit'; why: string }) => {
      queue.push(m);
      wake?.();
    };
    // the counts are the walker's own, taken as they arrive: what it has found, not what was consumed
    const onMessage = (m: WalkerMessage) => {
      if (isAhead(m)) return; // the count ahead's (countAhead)
      if ('found' in m) hooks.onCounts?.(m.found, m.skipped);
      push(m);
    };
    const onError = (err: Error) => push({ t: 'exit', why: err.message });
    const onExit = (code: number) => push({ t: 'exit', why: `exit code ${code}` });
    const onAbort = () => wake?.();
    this.worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    if (this.early !== null) push({ t: 'exit', why: this.early });
    hooks.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        while (!queue.length) {
          if (hooks.signal?.aborted) return;
          await new Promise<void>((resolve) => { wake = resolve; });
          wake = null;
        }
        if (hooks.signal?.aborted) return;
        const m = queue.shift()!;
        switch (m.t) {
          case 'items':
            for (const item of m.items) {
              if (hooks.signal?.aborted) return;
              yield item;
            }
            this.worker.postMessage(CREDIT);
            break;
          case 'count':
            break;
          case 'warning':
            hooks.onWarning?.(m.w);
            break;
          case 'error':
            throw new SluiceError(m.code, m.message);
          case 'done':
            this.bytes = m.bytes;
            this.sizes = m.sizes ?? null;
            this.completed = true;
            return;
          case 'exit':
            throw new SluiceError(isFdExhausted(m.why) ? 'SLUICE_E_FD_LIMIT' : 'SLUICE_E_FATAL', `the walker thread stopped: ${m.why}`);
        }
      }
    } finally {
      hooks.signal?.removeEventListener('abort', onAbort);
      this.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (!this.counting) await this.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // a walk still blocked on its first lookup is let go before it is stopped
    if (!Atomics.load(this.ready, 0)) this.setTable(null);
    this.tablePort.close();
    await this.worker.terminate();
  }
}
