import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ErrorInfo } from '../core/errors.js';
import { isReply, type ReplyMessage, type TaskMessage } from './protocol.js';

export interface PoolOptions {
  concurrency: number;
  /** JS heap limit per worker (resourceLimits) */
  maxMemoryMb: number;
  /** limit on the whole process's RSS; 0 = no watchdog */
  maxRssMb?: number;
  /** how often the watchdog looks (ms) */
  watchMs?: number;
}

/** Why a task was aborted by the memory watchdog (the signal's reason). */
class MemoryExceeded extends Error {
  constructor(readonly rssMb: number, readonly limitMb: number) {
    super(`process RSS ${rssMb} MB passed max_rss_mb ${limitMb} MB`);
    this.name = 'MemoryExceeded';
  }
}

/** Why a task was aborted at shutdown: it did not finish within the grace period. */
class ShutdownAbort extends Error {
  constructor() {
    super('stopped: the run was interrupted and the grace period ran out');
    this.name = 'ShutdownAbort';
  }
}

interface Running { ctl: AbortController; started: number }

const RUNTIME = fileURLToPath(new URL('./runtime.js', import.meta.url));

/**
 * Worker threads through piscina, one task per worker at a time. `run` never rejects: whatever
 * happens to the worker (timeout, exit, OOM) comes back as a failed reply with a stable code,
 * and piscina replaces the dead worker.
 */
export class WorkerPool {
  private started: Piscina<TaskMessage, unknown> | undefined;
  private readonly running = new Set<Running>();
  private watchdog: NodeJS.Timeout | undefined;
  private lastKill = 0;
  /** tasks the memory watchdog stopped */
  memoryKills = 0;

  /**
   * Workers start with the first task: a rerun with nothing left to do never pays for them.
   *
   * resourceLimits caps a worker's JS heap, but not memory outside it: pdfjs decodes streams
   * into ArrayBuffers, and one crafted PDF can take gigabytes that way. So a watchdog on this
   * thread (never blocked by a worker's work) watches the process's RSS and, when it passes
   * maxRssMb, stops the task that has been running longest (a bomb takes time to inflate): its
   * worker is terminated, which frees its memory, and the item fails with SLUICE_E_WORKER_OOM.
   */
  constructor(private readonly opts: PoolOptions) {}

  private get pool(): Piscina<TaskMessage, unknown> {
    return (this.started ??= this.start());
  }

  private start(): Piscina<TaskMessage, unknown> {
    const { opts } = this;
    const pool = new Piscina<TaskMessage, unknown>({
      filename: RUNTIME,
      minThreads: opts.concurrency,
      maxThreads: opts.concurrency,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      // the map stage never has more tasks out than workers; a queue here would only hide a bug
      maxQueue: opts.concurrency,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxMemoryMb },
      // piscina loads the runtime with require() first; on Node >= 20.19 that loads ESM
      // synchronously, and a worker terminated in the middle of it (a timeout, the memory
      // watchdog) brought the whole process down with a V8 fatal error ("IsGraphAsync must be
      // used on an instantiated module"; seen in the fault soak at 20k items). Without
      // require(esm), piscina falls back to import(), which is safe to interrupt.
      execArgv: [...process.execArgv, '--no-experimental-require-module'],
    });
    // a worker error with no task to blame would otherwise be an unhandled 'error' event
    pool.on('error', () => {});
    if (opts.maxRssMb) {
      this.watchdog = setInterval(() => this.checkMemory(opts.maxRssMb!), opts.watchMs ?? 100);
      this.watchdog.unref();
    }
    return pool;
  }

  /** Stop every running task (shutdown after the grace period): each comes back SLUICE_E_ABORTED. */
  abortAll(): number {
    for (const r of this.running) r.ctl.abort(new ShutdownAbort());
    return this.running.size;
  }

  private checkMemory(limitMb: number): void {
    const rssMb = Math.round(process.memoryUsage.rss() / 2 ** 20);
    // after a kill, give the terminated worker a moment to hand its memory back
    if (rssMb <= limitMb || !this.running.size || performance.now() - this.lastKill < 1000) return;
    let oldest: Running | undefined;
    for (const r of this.running) if (!oldest || r.started < oldest.started) oldest = r;
    this.lastKill = performance.now();
    this.memoryKills++;
    oldest!.ctl.abort(new MemoryExceeded(rssMb, limitMb));
  }

  get threads(): number {
    return this.started?.threads.length ?? 0;
  }

  async run(task: TaskMessage, timeoutMs: number): Promise<ReplyMessage> {
    // not AbortSignal.timeout(): its timer lives for the whole timeout even after the task is
    // done, so at 20k items/s with a 60 s timeout a million timers would be alive at once
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
    const entry: Running = { ctl, started: performance.now() };
    this.running.add(entry);
    try {
      const reply = await this.pool.run(task, { signal: ctl.signal });
      if (isReply(reply)) return reply;
      return failed({ code: 'SLUICE_E_WORKER_CRASH', message: 'worker sent a malformed reply', retryable: true });
    } catch (err) {
      return failed(classifyPoolError(err, ctl.signal.reason, timeoutMs));
    } finally {
      clearTimeout(timer);
      this.running.delete(entry);
    }
  }

  close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    return this.started?.close({ force: true }) ?? Promise.resolve();
  }
}

function failed(error: ErrorInfo): ReplyMessage {
  return { type: 'failed', error };
}

/** What happened to a task that did not reply: why it was aborted (`reason`), else how its worker died. */
export function classifyPoolError(err: unknown, reason: unknown, timeoutMs: number): ErrorInfo {
  if (reason instanceof ShutdownAbort) return { code: 'SLUICE_E_ABORTED', message: reason.message, retryable: false };
  if (reason instanceof MemoryExceeded) {
    return { code: 'SLUICE_E_WORKER_OOM', message: `${reason.message} while this item was the longest running: its worker was stopped (memory outside the JS heap, e.g. decoded PDF streams)`, retryable: true };
  }
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') {
    return { code: 'SLUICE_E_TIMEOUT', message: `no result after ${timeoutMs} ms; the worker was stopped and replaced`, retryable: true };
  }
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { code: 'SLUICE_E_WORKER_OOM', message: `worker ran out of memory: ${e.message}`, retryable: true };
  }
  return { code: 'SLUICE_E_WORKER_CRASH', message: `worker died: ${e?.message ?? String(err)}`, retryable: true };
}
