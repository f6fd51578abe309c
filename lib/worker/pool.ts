import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { ErrorInfo } from '../core/errors.js';
import { isReply, type ReplyMessage, type TaskMessage } from './protocol.js';

export interface PoolOptions {
  concurrency: number;
  maxMemoryMb: number;
}

const RUNTIME = fileURLToPath(new URL('./runtime.js', import.meta.url));

/**
 * Worker threads through piscina, one task per worker at a time. `run` never rejects: whatever
 * happens to the worker (timeout, exit, OOM) comes back as a failed reply with a stable code,
 * and piscina replaces the dead worker.
 */
export class WorkerPool {
  private started: Piscina<TaskMessage, unknown> | undefined;

  /** Workers start with the first task: a rerun with nothing left to do never pays for them. */
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
    });
    // a worker error with no task to blame would otherwise be an unhandled 'error' event
    pool.on('error', () => {});
    return pool;
  }

  get threads(): number {
    return this.started?.threads.length ?? 0;
  }

  async run(task: TaskMessage, timeoutMs: number): Promise<ReplyMessage> {
    // not AbortSignal.timeout(): its timer lives for the whole timeout even after the task is
    // done, so at 20k items/s with a 60 s timeout a million timers would be alive at once
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new DOMException('timeout', 'TimeoutError')), timeoutMs);
    try {
      const reply = await this.pool.run(task, { signal: ctl.signal });
      if (isReply(reply)) return reply;
      return failed({ code: 'SLUICE_E_WORKER_CRASH', message: 'worker sent a malformed reply', retryable: true });
    } catch (err) {
      return failed(classifyPoolError(err, timeoutMs));
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.started?.close({ force: true }) ?? Promise.resolve();
  }
}

function failed(error: ErrorInfo): ReplyMessage {
  return { type: 'failed', error };
}

export function classifyPoolError(err: unknown, timeoutMs: number): ErrorInfo {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') {
    return { code: 'SLUICE_E_TIMEOUT', message: `no result after ${timeoutMs} ms; the worker was stopped and replaced`, retryable: true };
  }
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { code: 'SLUICE_E_WORKER_OOM', message: `worker ran out of memory: ${e.message}`, retryable: true };
  }
  return { code: 'SLUICE_E_WORKER_CRASH', message: `worker died: ${e?.message ?? String(err)}`, retryable: true };
}
