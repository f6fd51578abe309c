import os from 'node:os';
import { Worker, type Job } from 'bullmq';
import { defaultMaxRssMb, WorkerPool } from '../worker/pool.js';
import type { ReplyMessage } from '../worker/protocol.js';
import { toErrorInfo } from '../core/errors.js';
import { connect } from './connection.js';
import { fromJobTask, processorFingerprint, QUEUE_NAME, type JobData } from './protocol.js';

/**
 * How long a job's lock lasts, and how often workers look for jobs whose lock lapsed (ms): a
 * worker killed mid-item (SIGKILL, a lost machine) has its jobs given to another within about
 * LOCK_MS + STALLED_MS. A job that stalls twice fails (its reply: SLUICE_E_WORKER_CRASH).
 */
export const LOCK_MS = 5000;
export const STALLED_MS = 2000;

export interface QueueWorkerOptions {
  url: string;
  concurrency: number;
  /** ms a stop waits for the items running to finish before handing them back */
  graceMs: number;
  /** NDJSON lines (results, the end) */
  write: (line: string) => void;
  say: (line: string) => void;
  signal: AbortSignal;
}

/**
 * `sluice worker`: take jobs from the queue and run them with sluice's own worker-thread pools
 * (one per processor, options and memory caps met: the same processors, timeouts, memory caps
 * and coded failures as a local run), until `signal`. A job whose processor is not the one this
 * machine would load (queue/protocol.ts processorFingerprint) is refused with
 * SLUICE_E_WORKER_MISMATCH instead of giving other results. A stop waits up to graceMs for the
 * items running; past it, they are handed back (their jobs stall and go to another worker).
 *
 * Invariant: `worker.close()` is always raced against the grace period: it never resolves while
 * Redis is away.
 */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<number> {
  const redis = connect(o.url, o.say);
  const pools = new Map<string, WorkerPool>();
  let done = 0;
  let failed = 0;
  const started = Date.now();
  const handle = async (job: Job<JobData>): Promise<ReplyMessage> => {
    const data = job.data;
    const task = fromJobTask(data.task);
    let reply: ReplyMessage;
    let mine: string | null = null;
    try {
      mine = processorFingerprint(task);
    } catch (err) {
      reply = mismatch(`cannot read the processor here: ${toErrorInfo(err).message}`);
    }
    if (mine !== null && mine !== data.fingerprint) {
      reply = mismatch(`the processor, its options or the sluice version here (${os.hostname()}) differ from the run's`);
    } else if (mine !== null) {
      const k = JSON.stringify([task.processor, task.options, task.then ?? null, data.memory]);
      let pool = pools.get(k);
      if (!pool) {
        pools.set(k, (pool = new WorkerPool({
          concurrency: o.concurrency, maxMemoryMb: data.memory.maxMemoryMb, maxRssMb: data.memory.maxRssMb ?? defaultMaxRssMb(o.concurrency),
          preload: task.processor, preloadOptions: task.options,
        })));
      }
      reply = await pool.run({ ...task, fanOut: false }, data.timeoutMs);
    }
    if (reply!.type === 'ok') done++;
    else failed++;
    o.write(JSON.stringify({ v: 1, type: 'result', job: job.id, path: data.shown, status: reply!.type, ms: reply!.ms ?? null, ...(reply!.type === 'failed' ? { error: reply!.error } : {}) }));
    return reply!;
  };
  const worker = new Worker<JobData, ReplyMessage>(QUEUE_NAME, handle, {
    connection: redis, concurrency: o.concurrency, lockDuration: LOCK_MS, stalledInterval: STALLED_MS, maxStalledCount: 1,
  });
  worker.on('error', () => {
    // the connection says what is wrong, once (queue/connection.ts)
  });
  o.write(JSON.stringify({ v: 1, type: 'worker', queue: o.url.replace(/\/\/([^@/]*)@/, '//***@'), concurrency: o.concurrency, pid: process.pid, host: os.hostname() }));
  await new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })));
  // finish what runs, within the grace period; then hand it back
  const closed = await Promise.race([
    redis.status === 'ready' ? worker.close().then(() => true) : Promise.resolve(false),
    new Promise<false>((r) => setTimeout(() => r(false), o.graceMs).unref()),
  ]);
  if (!closed) await Promise.race([worker.close(true).catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
  await Promise.all([...pools.values()].map((p) => p.close().catch(() => {})));
  redis.disconnect();
  o.write(JSON.stringify({ v: 1, type: 'summary', ok: done, failed, elapsed_s: Number(((Date.now() - started) / 1000).toFixed(3)), handed_back: !closed }));
  return 0;
}

function mismatch(message: string): ReplyMessage {
  return { type: 'failed', error: { code: 'SLUICE_E_WORKER_MISMATCH', message, retryable: false } };
}
