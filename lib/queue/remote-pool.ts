import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ItemPool, OnChild } from '../worker/pool.js';
import type { ReplyMessage, TaskMessage } from '../worker/protocol.js';
import { toErrorInfo } from '../core/errors.js';
import { childrenKey, fingerprintCache, jobId, QUEUE_NAME, toJobTask, type JobData } from './protocol.js';

/** How often the outstanding jobs are looked up by id (ms). */
export const POLL_MS = 100;

interface Outstanding {
  resolve: (r: ReplyMessage) => void;
  key: string;
  data: JobData;
  started: number;
  path: string;
  /** fan-out: where its children go, the next index not yet passed on, the drain running, and the reply once the job is done */
  onChild?: OnChild;
  next: number;
  draining: boolean;
  done: ReplyMessage | null;
}

/**
 * A map stage's items run by `sluice worker` processes through a BullMQ queue on Redis: each
 * item is a job (queue/protocol.ts), its reply read back by job id, never from the queue's
 * event stream (trimmed: it loses events). `run` never rejects.
 *
 * - At most `window` jobs are outstanding (the stage never hands more: itemCapacity).
 * - Every POLL_MS the outstanding ids are read in one round trip (HMGET per job, pipelined):
 *   a finished job resolves its item, and is removed from Redis once the item is recorded
 *   (recorded()); a job Redis no longer has (it lost its data) is added again, same id.
 * - A job that failed in Redis (it stalled more than once: its workers died) comes back
 *   SLUICE_E_WORKER_CRASH, retried by the stage like a crash here.
 *
 * Invariant: memory is the window's jobs and those of items between their reply and their
 * record (the stream buffers between: bounded), whatever the item count; an id is added at most once
 * while it exists (BullMQ ignores a duplicate), so a rerun finds its predecessor's jobs.
 */
export class RemotePool implements ItemPool {
  private readonly queue: Queue;
  private readonly outstanding = new Map<string, Outstanding>();
  /** jobs whose reply is in and whose item is not recorded yet, by item key */
  private readonly replied = new Map<string, string[]>();
  /** removals under way: close() waits for them */
  private readonly removing = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private closing = false;
  private readonly fingerprintOf = fingerprintCache();

  constructor(private readonly o: { redis: Redis; config: string; stage: number; window: number; memory: JobData['memory'] }) {
    this.queue = new Queue(QUEUE_NAME, { connection: o.redis });
  }

  run(task: TaskMessage, timeoutMs: number, onChild?: OnChild): Promise<ReplyMessage> {
    if (this.closing) return Promise.resolve(aborted());
    let fingerprint: string;
    try {
      fingerprint = this.fingerprintOf(task);
    } catch (err) {
      return Promise.resolve({ type: 'failed', error: toErrorInfo(err) });
    }
    const key = task.key ?? createHash('md5').update(task.item.path).digest('hex');
    const id = jobId(this.o.config, key, this.o.stage, task.attempt ?? 1);
    const data: JobData = { v: 1, task: toJobTask(task), timeoutMs, fingerprint, shown: task.item.path, memory: this.o.memory, ...(onChild ? { fanOut: true as const } : {}) };
    return new Promise((resolve) => {
      this.outstanding.set(id, { resolve, key, data, started: Date.now(), path: task.item.path, onChild, next: 0, draining: false, done: null });
      this.add(id, data);
      this.timer ??= setInterval(() => void this.poll(), POLL_MS);
    });
  }

  private add(id: string, data: JobData): void {
    // a duplicate id is ignored while the job exists: a rerun's item finds the job (and its result)
    this.queue.add('item', data, { jobId: id, removeOnComplete: false, removeOnFail: false, attempts: 1 }).catch(() => {
      // Redis away: the poll adds it again once it answers (the job is missing there)
    });
  }

  /** Read the outstanding jobs by id; settle the finished ones. */
  private async poll(): Promise<void> {
    if (this.polling || !this.outstanding.size) return;
    this.polling = true;
    try {
      const ids = [...this.outstanding.keys()];
      const p = this.o.redis.pipeline();
      for (const id of ids) p.hmget(this.queue.toKey(id), 'finishedOn', 'returnvalue', 'failedReason', 'data');
      const rows = (await p.exec()) ?? [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const o = this.outstanding.get(id);
        const [err, v] = rows[i] ?? [null, null];
        if (!o || err || !Array.isArray(v) || o.done) continue;
        const [finishedOn, returnvalue, failedReason, data] = v as (string | null)[];
        if (data === null) {
          this.add(id, o.data); // Redis lost it: again, same id
          continue;
        }
        if (!finishedOn) continue;
        const reply = failedReason !== null ? crashed(failedReason) : replyOf(returnvalue);
        if (reply.type === 'failed' && reply.error.code === 'SLUICE_E_ABORTED') {
          // a worker stopped it without doing it (one from before workers hand such jobs back): again
          await this.queue.remove(id).catch(() => 0);
          this.add(id, o.data);
          continue;
        }
        o.done = reply;
        if (!o.onChild) this.finish(id, o);
      }
      // fan-out: children to pass on, and the jobs done once all theirs are
      for (const [id, o] of this.outstanding) if (o.onChild && !o.draining) void this.drain(id, o);
    } catch {
      // Redis away: the next poll tries again (the connection says so once)
    } finally {
      this.polling = false;
    }
  }

  /**
   * Pass a fan-out job's children on, in order, each once (a job done again emits from index 0:
   * indexes already passed on are skipped), as fast as the stages after accept them; once the
   * job is done and its list empty, its item is.
   */
  private async drain(id: string, o: Outstanding): Promise<void> {
    o.draining = true;
    try {
      for (;;) {
        const got = await this.o.redis.lpop(childrenKey(id), 16);
        if (!got?.length) break;
        for (const line of got) {
          const { index, child } = JSON.parse(line) as { index: number; child: Record<string, unknown> };
          if (index < o.next || !this.outstanding.has(id)) continue;
          await o.onChild!(child, index);
          o.next = index + 1;
        }
      }
      if (o.done && this.outstanding.has(id)) this.finish(id, o);
    } catch {
      // Redis away: the next poll drains again
    } finally {
      o.draining = false;
    }
  }

  /** The item's reply is in: it settles; its job stays in Redis until the item is recorded (recorded()), its children list goes. */
  private finish(id: string, o: Outstanding): void {
    this.outstanding.delete(id);
    const ids = this.replied.get(o.key);
    if (ids) ids.push(id);
    else this.replied.set(o.key, [id]);
    o.resolve(o.done!);
    if (o.onChild) this.o.redis.del(childrenKey(id)).catch(() => {});
  }

  /**
   * The item is in the journal: its jobs go from Redis. One whose item was not recorded (a stop
   * dropped it, the run died) stays: the rerun adds the same id, which BullMQ ignores, and takes
   * the reply already there.
   */
  recorded(key: string): void {
    const ids = this.replied.get(key);
    if (!ids) return;
    this.replied.delete(key);
    for (const id of ids) {
      const p = this.queue.remove(id).catch(() => 0).finally(() => this.removing.delete(p));
      this.removing.add(p);
    }
  }

  itemCapacity(): number {
    return this.o.window;
  }

  warm(): void {}

  get ready(): number {
    return 1;
  }

  get busy(): number {
    return this.outstanding.size;
  }

  get threads(): number {
    return 0;
  }

  get memoryKills(): number {
    return 0;
  }

  runningMs(now = Date.now()): number {
    let ms = 0;
    for (const o of this.outstanding.values()) ms += now - o.started;
    return ms;
  }

  longestRunning(now = Date.now()): { path: string; ms: number } | null {
    let best: Outstanding | null = null;
    for (const o of this.outstanding.values()) if (!best || o.started < best.started) best = o;
    return best ? { path: best.path, ms: now - best.started } : null;
  }

  /** A stop: jobs no worker has started are taken back (not recorded: the next run does them). */
  abortQueued(): number {
    const ids = [...this.outstanding.keys()];
    void (async () => {
      for (const id of ids) {
        try {
          const job = await this.queue.getJob(id);
          if (job && (await job.getState()) === 'waiting' && (await this.queue.remove(id)) === 1 && !(await this.queue.getJob(id))) this.settle(id, aborted());
        } catch {
          // Redis away: the job stays; a rerun finds it by id
        }
      }
    })();
    return ids.length;
  }

  /** The grace period is over: what is still outstanding is given up here (its job stays: a rerun finds its result). */
  abortAll(): number {
    const n = this.outstanding.size;
    for (const id of [...this.outstanding.keys()]) this.settle(id, aborted());
    return n;
  }

  halting(): void {
    this.closing = true;
  }

  async teardown(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.abortAll();
    await Promise.race([Promise.all([...this.removing]).then(() => this.queue.close()), new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  private settle(id: string, r: ReplyMessage): void {
    const o = this.outstanding.get(id);
    if (!o) return;
    this.outstanding.delete(id);
    o.resolve(r);
  }
}

function aborted(): ReplyMessage {
  return { type: 'failed', error: { code: 'SLUICE_E_ABORTED', message: 'the run stopped before a queue worker finished the item: not recorded, the next run does it', retryable: false } };
}

function crashed(reason: string): ReplyMessage {
  return { type: 'failed', error: { code: 'SLUICE_E_WORKER_CRASH', message: `the queue failed the job: ${reason} (the workers that took it died)`, retryable: true } };
}

function replyOf(returnvalue: string | null): ReplyMessage {
  try {
    const r = JSON.parse(returnvalue ?? 'null') as ReplyMessage | null;
    if (r && (r.type === 'ok' || r.type === 'failed')) return r;
  } catch {
    // below
  }
  return { type: 'failed', error: { code: 'SLUICE_E_FATAL', message: 'a queue worker returned something that is not a sluice reply', retryable: false } };
}
