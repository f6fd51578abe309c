import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ItemPool, OnChild } from '../worker/pool.js';
import type { ReplyMessage, TaskMessage } from '../worker/protocol.js';
import { toErrorInfo } from '../core/errors.js';
import { childrenKey, doneKey, fingerprintCache, jobId, QUEUE_NAME, toJobTask, type JobData } from './protocol.js';

/** How often every outstanding job is looked up by id (ms): the reconciliation, whatever the workers' done list said. */
export const POLL_MS = 500;
/** How often the workers' done list is read (ms): 20 cost the run a tenth of a core on CPU-bound items, 50 the same noop throughput. */
const TICK_MS = 50;
/** How often the lists of fan-out children are drained (ms). */
const DRAIN_MS = 100;
/** Jobs added to Redis in one round trip at most. */
const ADD_BATCH = 256;

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
  /** its add is in Redis's hands (or failed): a poll that finds no job adds it again */
  added: boolean;
}

/**
 * A map stage's items run by `sluice worker` processes through a BullMQ queue on Redis: each
 * item is a job (queue/protocol.ts), its reply read back by job id, never from the queue's
 * event stream (trimmed: it loses events), nor from the workers' done list alone. `run` never rejects.
 *
 * - At most `window` jobs are outstanding (the stage never hands more: itemCapacity).
 * - Jobs are added in batches (one round trip for the items handed over in the same turn).
 * - Every POLL_MS all outstanding ids are read in one round trip (HMGET per job, pipelined):
 *   a finished job resolves its item, and is removed from Redis once the item is recorded
 *   (recorded()); a job Redis no longer has (it lost its data) is added again, same id. The
 *   workers' done list (protocol.ts doneKey) only hastens this: every TICK_MS the ids it holds
 *   are popped and read at once (a list lost or popped elsewhere only delays).
 * - A job started more than once (its worker died or handed it back) counts as redelivered.
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
  private ticks = 0;
  private readonly done: string;
  private popping = false;
  private readonly toAdd: { id: string; data: JobData }[] = [];
  private addFlush: NodeJS.Immediate | null = null;
  /** items whose job was started more than once (a worker died with it, or handed it back) */
  redelivered = 0;
  private closing = false;
  private readonly fingerprintOf = fingerprintCache();

  constructor(private readonly o: { redis: Redis; config: string; stage: number; window: number; memory: JobData['memory'] }) {
    this.queue = new Queue(QUEUE_NAME, { connection: o.redis });
    this.queue.on('error', () => {
      // the connection says what is wrong, once (queue/connection.ts)
    });
    this.done = doneKey(o.config, o.stage);
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
      this.outstanding.set(id, { resolve, key, data, started: Date.now(), path: task.item.path, onChild, next: 0, draining: false, done: null, added: false });
      this.add(id, data);
      this.timer ??= setInterval(() => this.tick(), TICK_MS);
    });
  }

  /** Add a job (same turn, one round trip); a duplicate id is ignored while the job exists: a rerun's item finds the job (and its result). */
  private add(id: string, data: JobData): void {
    this.toAdd.push({ id, data });
    this.addFlush ??= setImmediate(() => this.flushAdds());
  }

  private flushAdds(): void {
    this.addFlush = null;
    while (this.toAdd.length) {
      const batch = this.toAdd.splice(0, ADD_BATCH);
      const mark = () => {
        for (const { id } of batch) {
          const o = this.outstanding.get(id);
          if (o) o.added = true;
        }
      };
      // Redis away: the poll adds them again once it answers (the jobs are missing there)
      this.queue.addBulk(batch.map(({ id, data }) => ({ name: 'item', data, opts: { jobId: id, removeOnComplete: false, removeOnFail: false, attempts: 1 } }))).then(mark, mark);
    }
  }

  /** Read outstanding jobs by id (all of them, or `only`); settle the finished ones. */
  private async poll(only?: string[]): Promise<void> {
    if (!this.outstanding.size) return;
    if (!only) {
      if (this.polling) return;
      this.polling = true;
    }
    try {
      const ids = only ?? [...this.outstanding.keys()];
      const p = this.o.redis.pipeline();
      for (const id of ids) p.hmget(this.queue.toKey(id), 'finishedOn', 'returnvalue', 'failedReason', 'timestamp', 'ats');
      const rows = (await p.exec()) ?? [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const o = this.outstanding.get(id);
        const [err, v] = rows[i] ?? [null, null];
        if (!o || err || !Array.isArray(v) || o.done) continue;
        const [finishedOn, returnvalue, failedReason, timestamp, ats] = v as (string | null)[];
        if (timestamp === null) {
          if (!o.added) continue; // its add is still on its way
          o.added = false;
          this.add(id, o.data); // Redis lost it: again, same id
          continue;
        }
        if (!finishedOn) continue;
        const reply = failedReason !== null ? crashed(failedReason) : replyOf(returnvalue);
        if (reply.type === 'failed' && reply.error.code === 'SLUICE_E_ABORTED') {
          // a worker stopped it without doing it (one from before workers hand such jobs back): again
          // (once: a poll that reads it while it is being added again leaves it)
          if (!o.added) continue;
          o.added = false;
          await this.queue.remove(id).catch(() => 0);
          this.add(id, o.data);
          continue;
        }
        o.done = reply;
        if (Number(ats) > 1 || failedReason !== null) this.redelivered++;
        if (!o.onChild) this.finish(id, o);
      }
      this.drainAll();
    } catch {
      // Redis away: the next poll tries again (the connection says so once)
    } finally {
      if (!only) this.polling = false;
    }
  }

  /** fan-out: children to pass on, and the jobs done once all theirs are */
  private drainAll(): void {
    for (const [id, o] of this.outstanding) if (o.onChild && !o.draining) void this.drain(id, o);
  }

  /** Every TICK_MS: the jobs the workers say they finished read, fan-out lists drained; every POLL_MS: all outstanding jobs read. */
  private tick(): void {
    this.ticks++;
    if (this.ticks % (POLL_MS / TICK_MS) === 0) void this.poll();
    else {
      void this.popDone();
      if (this.ticks % (DRAIN_MS / TICK_MS) === 0) this.drainAll();
    }
  }

  private async popDone(): Promise<void> {
    if (this.popping) return;
    this.popping = true;
    try {
      for (;;) {
        const ids = await this.o.redis.lpop(this.done, 512);
        const mine = (ids ?? []).filter((id) => this.outstanding.has(id));
        if (mine.length) await this.poll(mine);
        if (!ids || ids.length < 512) break;
      }
    } catch {
      // Redis away: the poll reads them all once it is back
    } finally {
      this.popping = false;
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
    // close() of the event stream never resolves while Redis is away: raced, as the rest
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
