import os from 'node:os';
import { WaitingError, Worker, type Job } from 'bullmq';
import { defaultMaxRssMb, WorkerPool } from '../worker/pool.js';
import type { ReplyMessage, TaskMessage } from '../worker/protocol.js';
import { toErrorInfo } from '../core/errors.js';
import { workerOptions } from '../processors/index.js';
import { connect } from './connection.js';
import { shownUrl } from './url.js';
import { CHILDREN_WINDOW, childrenKey, DONE_TTL_S, doneKeyOf, fingerprintCache, fromJobTask, QUEUE_NAME, stageIdentity, stagesOf, type JobData } from './protocol.js';

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
  /** ms between progress lines (0: none) */
  progressMs: number;
  /** NDJSON lines (results, the end) */
  write: (line: string) => void;
  say: (line: string) => void;
  signal: AbortSignal;
  /** jobs held beyond the `concurrency` running, ready for a thread as it finishes (default: defaultPrefetch) */
  prefetch?: number;
  /** `sluice worker PIPELINE`: the only stages this worker runs (stageIdentity of each map stage of that file) */
  pinned?: { pipeline: string; stages: ReadonlySet<string> };
}

/**
 * Jobs a worker holds beyond those running, by default: as many as it has threads, at least 2,
 * so that a thread that finishes an item has the next at once instead of waiting for a round trip
 * to Redis (with one thread and no job ahead, noop items went at half the speed). More would
 * leave other workers idle at the end of a run, and a worker killed hands more back.
 */
export function defaultPrefetch(concurrency: number): number {
  return Math.max(2, concurrency);
}

/**
 * `sluice worker`: take jobs from the queue and run them with sluice's own worker-thread pools
 * (one per processor, options and memory caps met: the same processors, timeouts, memory caps
 * and coded failures as a local run), until `signal`. A job whose processor is not the one this
 * machine would load (queue/protocol.ts processorFingerprint) is refused with
 * SLUICE_E_WORKER_MISMATCH instead of giving other results; so is one with a stage that is not
 * one of the pipeline it was pinned to (`pinned`: a processor or options that differ). A stop waits up to graceMs for the
 * items running; past it, they are stopped and their jobs moved back to the queue (with Redis
 * away, their locks lapse and they stall back): another worker does them. A job is never
 * completed with an item this worker stopped (SLUICE_E_ABORTED).
 *
 * Invariant: `worker.close()` is always raced against the grace period: it never resolves while
 * Redis is away.
 */
export async function runQueueWorker(o: QueueWorkerOptions): Promise<number> {
  const redis = connect(o.url, o.say);
  const pools = new Map<string, WorkerPool>();
  const fingerprintOf = fingerprintCache();
  // a job's options as this worker's threads take them (they never load a spec), parsed once per
  // distinct stage configuration, as the fingerprints are remembered
  const parsed = new Map<string, Record<string, unknown>>();
  const optionsFor = (processor: string, options: Record<string, unknown>): Record<string, unknown> => {
    const k = JSON.stringify([processor, options]);
    let v = parsed.get(k);
    if (!v) parsed.set(k, (v = workerOptions(processor, options)));
    return v;
  };
  /** pinned: why a job's stages are not the pipeline's, by fingerprint ('' when they are) */
  const refusal = new Map<string, string>();
  const pinnedProblem = (task: TaskMessage, fp: string): string => {
    let why = refusal.get(fp);
    if (why === undefined) {
      const stages = stagesOf(task);
      const at = stages.findIndex((s) => !o.pinned!.stages.has(stageIdentity(s)));
      why = at === -1 ? '' : `its stage ${at + 1} (processor ${stages[at]!.processor}, options ${JSON.stringify(stages[at]!.options)}) is not one of the stages of ${o.pinned!.pipeline}, which this worker runs (${os.hostname()}): the processor or its options differ`;
      refusal.set(fp, why);
    }
    return why;
  };
  let done = 0;
  let failed = 0;
  let running = 0;
  const started = Date.now();
  const progress = () => {
    const s = (Date.now() - started) / 1000;
    o.write(JSON.stringify({ v: 1, type: 'progress', ok: done, failed, in_flight: running, rate: Number(((done + failed) / Math.max(s, 0.001)).toFixed(1)), elapsed_s: Number(s.toFixed(1)), rss_mb: Math.round(process.memoryUsage.rss() / 2 ** 20) }));
  };
  const ticker = o.progressMs > 0 ? setInterval(() => { try { progress(); } catch { /* RSS unreadable: skip this line */ } }, o.progressMs) : null;
  ticker?.unref();
  let handingBack = false;
  const handle = async (job: Job<JobData>, token?: string): Promise<ReplyMessage> => {
    running++;
    try {
      const reply = await runJob(job);
      // stopped here, not done: the job goes back to the queue for another worker, never completed
      if (handingBack || (reply.type === 'failed' && reply.error.code === 'SLUICE_E_ABORTED')) {
        await job.moveToWait(token).catch(() => {
          // Redis away: its lock lapses and it stalls back to the queue
        });
        throw new WaitingError();
      }
      if (reply.type === 'ok') done++;
      else failed++;
      o.write(JSON.stringify({ v: 1, type: 'result', job: job.id, path: job.data.shown, status: reply.type, ms: reply.ms ?? null, ...(reply.type === 'failed' ? { error: reply.error } : {}) }));
      return reply;
    } finally {
      running--;
    }
  };
  const runJob = async (job: Job<JobData>): Promise<ReplyMessage> => {
    const data = job.data;
    const task = fromJobTask(data.task);
    let reply: ReplyMessage;
    let mine: string | null = null;
    try {
      mine = fingerprintOf(task);
    } catch (err) {
      reply = mismatch(`cannot read the processor here: ${toErrorInfo(err).message}`);
    }
    if (mine !== null && mine !== data.fingerprint) {
      reply = mismatch(`the processor, its options or the sluice version here (${os.hostname()}) differ from the run's`);
    } else if (mine !== null && o.pinned && pinnedProblem(task, mine)) {
      reply = mismatch(pinnedProblem(task, mine));
    } else if (mine !== null) {
      try {
        task.options = optionsFor(task.processor, task.options);
        for (const s of task.then ?? []) s.options = optionsFor(s.processor, s.options);
      } catch (err) {
        return mismatch(`the job's options do not parse here: ${toErrorInfo(err).message}`);
      }
      const k = JSON.stringify([task.processor, task.options, task.then ?? null, data.memory]);
      let pool = pools.get(k);
      if (!pool) {
        pools.set(k, (pool = new WorkerPool({
          concurrency: o.concurrency, maxMemoryMb: data.memory.maxMemoryMb, maxRssMb: data.memory.maxRssMb ?? defaultMaxRssMb(o.concurrency),
          preload: task.processor, preloadOptions: task.options,
        })));
      }
      reply = data.fanOut ? await pool.run(task, data.timeoutMs, childSink(String(job.id))) : await pool.run({ ...task, fanOut: false }, data.timeoutMs);
    }
    return reply!;
  };
  /** A job's children to its Redis list, waiting while the coordinator has CHILDREN_WINDOW of them to take. */
  const childSink = (id: string) => async (child: Record<string, unknown>, index: number): Promise<void> => {
    const key = childrenKey(id);
    const n = await redis.rpush(key, JSON.stringify({ index, child }));
    for (let len = n; len >= CHILDREN_WINDOW && !o.signal.aborted; len = await redis.llen(key)) await new Promise((r) => setTimeout(r, 20));
  };
  const worker = new Worker<JobData, ReplyMessage>(QUEUE_NAME, handle, {
    connection: redis, concurrency: o.concurrency + (o.prefetch ?? defaultPrefetch(o.concurrency)), lockDuration: LOCK_MS, stalledInterval: STALLED_MS, maxStalledCount: 1,
  });
  worker.on('error', () => {
    // the connection says what is wrong, once (queue/connection.ts)
  });
  // each job finished (done or failed in Redis) told to its run, those of a turn in one round trip
  const toTell = new Map<string, string[]>();
  let telling: NodeJS.Immediate | null = null;
  const tell = (job: Job | undefined) => {
    const key = job?.id ? doneKeyOf(job.id) : null;
    if (!key) return;
    const ids = toTell.get(key);
    if (ids) ids.push(job!.id!);
    else toTell.set(key, [job!.id!]);
    telling ??= setImmediate(() => {
      telling = null;
      const p = redis.pipeline();
      for (const [k, v] of toTell) p.rpush(k, ...v).expire(k, DONE_TTL_S);
      toTell.clear();
      p.exec().catch(() => {
        // Redis away: the run reads every job it waits for now and then anyway
      });
    });
  };
  worker.on('completed', tell);
  worker.on('failed', tell);
  o.write(JSON.stringify({ v: 1, type: 'worker', queue: shownUrl(o.url), concurrency: o.concurrency, pid: process.pid, host: os.hostname(), ...(o.pinned ? { pipeline: o.pinned.pipeline } : {}) }));
  await new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })));
  // finish what runs, within the grace period (worker.close() never resolves while Redis is away:
  // then nothing can be reported, and the items stop at once)
  const closing = redis.status === 'ready' ? worker.close().then(() => true, () => false) : null;
  const closed = closing ? await Promise.race([closing, new Promise<false>((r) => setTimeout(() => r(false), o.graceMs).unref())]) : false;
  const handedBack = closed ? 0 : running;
  if (!closed) {
    // past it: the items running are stopped and their jobs handed back
    handingBack = true;
    for (const p of pools.values()) p.abortAll();
    const backed = closing ? await Promise.race([closing, new Promise<false>((r) => setTimeout(() => r(false), 2000).unref())]) : false;
    if (!backed) await Promise.race([worker.close(true).catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  if (ticker) clearInterval(ticker);
  await Promise.all([...pools.values()].map((p) => p.close().catch(() => {})));
  redis.disconnect();
  o.write(JSON.stringify({ v: 1, type: 'summary', ok: done, failed, elapsed_s: Number(((Date.now() - started) / 1000).toFixed(3)), handed_back: handedBack }));
  return 0;
}

function mismatch(message: string): ReplyMessage {
  return { type: 'failed', error: { code: 'SLUICE_E_WORKER_MISMATCH', message, retryable: false } };
}
