import os from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from '../core/zod.js';
import type { ErrorCode, ErrorInfo } from '../core/errors.js';
import type { Item } from '../core/item.js';
import type { ComponentSpec } from '../core/spec.js';
import { processorItem } from '../core/processor.js';
import { duration, stageName } from '../core/schema-util.js';
import { parseDuration } from '../core/duration.js';
import type { FusedStage, ReplyMessage, TaskMessage } from '../worker/protocol.js';
import { defaultMaxRssMb, WorkerPool, type ItemPool, type OnChild } from '../worker/pool.js';
import { isBuiltin } from '../processors/index.js';

export const RETRY_CAUSES = ['timeout', 'worker_crash', 'io'] as const;
type RetryCause = (typeof RETRY_CAUSES)[number];

export const mapOptions = z.strictObject({
  name: stageName(),
  processor: z.string().min(1).describe('built-in name (pdf-text, pdf-info, chunk, sha256, noop, exec) or a path to a module, relative to the pipeline file'),
  concurrency: z.number().int().min(1).max(256).optional().describe('worker threads (default: available cores)'),
  timeout: duration().default('60s').describe('per item; the worker is stopped and replaced, the item fails with SLUICE_E_TIMEOUT'),
  retries: z.strictObject({
    max: z.number().int().min(0).max(10).default(0).describe('extra attempts for a retryable failure'),
    on: z.array(z.enum(RETRY_CAUSES)).default([...RETRY_CAUSES]).describe('which causes are retried'),
  }).default({ max: 0, on: [...RETRY_CAUSES] }).describe('retry policy'),
  max_memory_mb: z.number().int().min(64).default(2048).describe('JS heap limit per worker (resourceLimits); an item over it fails with SLUICE_E_WORKER_OOM'),
  max_rss_mb: z.number().int().min(0).optional()
    .describe('limit on the resident memory of the whole process, workers included: over it, the worker of the longest-running item is stopped (SLUICE_E_WORKER_OOM). Catches memory outside the JS heap (pdfjs decoded streams). Default min(60% of RAM, 1024 + 1024 x concurrency); 0 turns it off'),
  quarantine_after: z.number().int().min(1).max(100).default(2)
    .describe('an item that killed its worker (crash or out of memory) this many times is not tried again (SLUICE_E_QUARANTINED) until --retry-failed'),
  options: z.record(z.string(), z.unknown()).default({}).describe('options for the processor, checked against its own schema'),
});
export type MapOptions = z.output<typeof mapOptions>;

export const spec: ComponentSpec = {
  kind: 'stage',
  name: 'map',
  description: 'Run a processor on every item in worker threads (piscina): per-item timeout, crashed or hung workers replaced, results unordered, `concurrency` items running at once (fast items travel to the workers in batches; slow ones go largest first).',
  options: mapOptions,
};

export function defaultConcurrency(): number {
  return Math.max(1, os.availableParallelism());
}

/** The outcome of one item, as the sinks see it. */
export interface ItemResult {
  item: Item;
  /** filtered: dropped by a filter stage (recorded, not printed) */
  status: 'ok' | 'failed' | 'filtered';
  ms: number;
  attempts: number;
  output?: Record<string, unknown>;
  /** ok: the names it wrote under the output dir (see ReplyMessage) */
  outputs?: string[];
  outputs_more?: number;
  error?: ErrorInfo;
  /** pipelines of several stages: the stage it ended at (the last, or the one that failed or dropped it) */
  stage?: string;
  /** fan-out: the item's processor emitted this many children, which go on down the chain in its place */
  children?: number;
  /** pipelines of several stages: the item resumes at this stage (by its place in the chain); the stages before it were recorded by an earlier run */
  from?: number;
}

const CAUSE: Partial<Record<ErrorCode, RetryCause>> = {
  SLUICE_E_TIMEOUT: 'timeout',
  SLUICE_E_WORKER_CRASH: 'worker_crash',
  SLUICE_E_WORKER_OOM: 'worker_crash',
  SLUICE_E_IO: 'io',
};

/** One try at the item; `n`: which (1: the first). */
type Attempt = (item: Item, n: number) => Promise<ReplyMessage>;

/**
 * One item through `attempt`, retried by cause with exponential backoff (100 ms, 200 ms, 400 ms
 * ...). An item that has killed its worker `quarantineAfter` times is quarantined: it fails with
 * SLUICE_E_QUARANTINED and is not tried again, whatever retries remain.
 */
export async function processWithRetries(item: Item, attempt: Attempt, retries: MapOptions['retries'], backoffMs = 100, quarantineAfter = Infinity): Promise<ItemResult> {
  const start = performance.now();
  let kills = 0;
  for (let attempts = 1; ; attempts++) {
    const reply = await attempt(item, attempts);
    // time in the processor when the worker measured it (not the wait for a worker)
    const ms = Math.round(reply.ms ?? performance.now() - start);
    if (reply.type === 'ok') {
      const r: ItemResult = { item, status: 'ok', ms, attempts, output: reply.output };
      if (reply.outputs) r.outputs = reply.outputs;
      if (reply.outputs_more) r.outputs_more = reply.outputs_more;
      if (reply.children !== undefined) r.children = reply.children;
      return r;
    }
    if (reply.error.code === 'SLUICE_E_WORKER_CRASH' || reply.error.code === 'SLUICE_E_WORKER_OOM') kills++;
    if (kills >= quarantineAfter) {
      return {
        item, status: 'failed', ms: Math.round(performance.now() - start), attempts,
        error: { code: 'SLUICE_E_QUARANTINED', message: `killed its worker ${kills} time(s), last: ${reply.error.code}: ${reply.error.message}; not tried again unless --retry-failed`, retryable: false },
      };
    }
    const cause = CAUSE[reply.error.code];
    const again = reply.error.retryable && cause !== undefined && retries.on.includes(cause) && attempts <= retries.max;
    if (!again) return { item, status: 'failed', ms, attempts, error: reply.error };
    await sleep(backoffMs * 2 ** (attempts - 1));
  }
}

/**
 * Object-mode transform that runs `fn` on up to `concurrency` items at once and pushes results as
 * they finish (unordered). It takes a new item only while a slot is free and the readable side is
 * under its highWaterMark, so in flight + buffered never exceeds 2 x concurrency + highWaterMark
 * (the items in flight may all finish while the reader waits), whatever the number of items.
 */
export class ParallelMap<I, O> extends Transform {
  private inFlight = 0;
  private resumeWrite: TransformCallback | undefined;
  private onIdle: TransformCallback | undefined;
  private readWaiters: (() => void)[] = [];

  /**
   * `fn` may also hand on extra values before its own (`push`, fan-out): each waits while the
   * readable side is full, so what one input adds is held a few at a time, not gathered.
   */
  constructor(private readonly fn: (x: I, push: (o: O) => Promise<void>) => Promise<O>, private readonly concurrency: number, highWaterMark = 16) {
    super({ objectMode: true, highWaterMark });
  }

  private readonly pushMore = (o: O): Promise<void> => {
    if (this.destroyed) return Promise.reject(new Error('stream destroyed'));
    if (this.push(o)) return Promise.resolve();
    return new Promise((resolve) => this.readWaiters.push(resolve));
  };

  override _read(size: number): void {
    // the reader asks for more: after this read the buffer is under its mark (Readable only asks
    // then, and only once until something is pushed), so a waiting item is taken now, before
    // Transform's own _read, which lets through a write callback Transform itself held back
    this.release(true);
    super._read(size);
    const waiting = this.readWaiters;
    this.readWaiters = [];
    for (const w of waiting) w();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // a fan-out waiting for room is let go (its push rejected above from now on)
    const waiting = this.readWaiters;
    this.readWaiters = [];
    for (const w of waiting) w();
    super._destroy(err, cb);
  }

  get active(): number {
    return this.inFlight;
  }

  override _transform(chunk: I, _enc: BufferEncoding, callback: TransformCallback): void {
    this.inFlight++;
    this.fn(chunk, this.pushMore).then(
      (out) => {
        this.inFlight--;
        // null means "dropped": a Transform would read a pushed null as end-of-stream
        if (!this.destroyed && out !== null) this.push(out);
        this.release();
      },
      (err: unknown) => {
        this.inFlight--;
        this.destroy(err as Error);
      },
    );
    this.resumeWrite = callback;
    this.release();
  }

  /**
   * Take the next item when a slot is free and the readable side has room. Transform alone does
   * not hold a write whose callback comes before anything was pushed, so without the second
   * condition results would pile up behind a slow reader while items kept coming in.
   */
  private release(asked = false): void {
    if (this.resumeWrite && this.inFlight < this.concurrency && (asked || this.readableLength < this.readableHighWaterMark)) {
      const w = this.resumeWrite;
      this.resumeWrite = undefined;
      w();
    }
    if (this.inFlight === 0 && this.onIdle) {
      const done = this.onIdle;
      this.onIdle = undefined;
      done();
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.inFlight === 0) callback();
    else this.onIdle = callback;
  }
}

/** How one map stage runs: its checked options, where outputs go, and the processor resolved. */
export interface MapStageSetup {
  /** the stage's options, checked (mapOptions) */
  map: MapOptions;
  /** built-in name or absolute module path */
  processor: string;
  concurrency: number;
  /** absolute output dir, or null (outputs inline) */
  outDir: string | null;
  /** test-only: outputs whose name contains this fail with ENOSPC (core/faults.ts) */
  outputEnospc?: string;
  /** a stage comes after this one: its processor may emit children (fan-out) */
  fanOut?: boolean;
  /** fan-out: its children go on to a later map stage (run by a pool's threads): see poolKey */
  childrenNeedThreads?: boolean;
  /** map stages fused after this one: run in the same worker task, each on the output of the one before */
  then?: FusedStage[];
}

/** The settings a worker pool is made with: stages that give the same ones can share a pool (poolKey). */
export function poolFor(s: MapStageSetup): WorkerPool {
  return new WorkerPool({
    concurrency: s.concurrency, maxMemoryMb: s.map.max_memory_mb, maxRssMb: s.map.max_rss_mb ?? defaultMaxRssMb(s.concurrency),
    preload: s.processor, preloadOptions: s.map.options, outputEnospc: s.outputEnospc,
  });
}

/**
 * Stages with the same key may run in one pool: the same threads, heap limit and memory watchdog.
 * A fan-out task holds its thread until its children are accepted downstream; when a later map
 * stage takes them, that stage needs a thread, so the fan-out stage has a pool of its own (null):
 * sharing, its tasks could hold every thread while their children wait for one. Children that
 * go only to filters and the output need no thread, and their stage shares (no more threads, nor
 * heaps, than the stages before it: a chunk stage after pdf-text costs no memory of its own).
 */
export function poolKey(s: MapStageSetup): string | null {
  if (s.fanOut && s.childrenNeedThreads) return null;
  return JSON.stringify([s.concurrency, s.map.max_memory_mb, s.map.max_rss_mb ?? null]);
}

/**
 * One map stage: its worker pool and the per-item rule, an item already failed upstream is
 * recorded as it is, any other goes to the processor with retries by cause and quarantine.
 * `end` is the one way a stage's pool is closed: a processor module's teardown (built-ins have
 * none) on every thread first, unless the stage was cut short.
 */
export class MapStage {
  readonly pool: ItemPool;
  private readonly timeoutMs: number;
  private ended: Promise<string[]> | undefined;
  /** every task's fixed fields, made once: the pool batches tasks whose processor, options and fused stages are these very objects */
  private readonly base: Omit<TaskMessage, 'item' | 'type'>;

  /** `pool`: one shared with other stages whose pool settings are the same (see poolFor); else its own */
  constructor(private readonly s: MapStageSetup, pool?: ItemPool) {
    this.pool = pool ?? poolFor(s);
    this.timeoutMs = parseDuration(s.map.timeout)!;
    this.base = { processor: s.processor, options: s.map.options, outDir: s.outDir, then: s.then?.length ? s.then : undefined };
  }

  /** The item's result: its upstream failure, or the processor's (retried by cause); children it emits go to `onChild`. */
  async process(item: Item, onChild?: OnChild): Promise<ItemResult> {
    return (await this.processFused(item, onChild)).r;
  }

  /**
   * The same with fused stages (MapStageSetup.then): also each stage's time when it went through
   * them all, or the stage (0 = this one) where it failed, when the worker said.
   */
  async processFused(item: Item, onChild?: OnChild): Promise<{ r: ItemResult; stageMs?: number[]; failedAt?: number }> {
    if (item.failure) return { r: { item, status: 'failed', ms: 0, attempts: 1, error: item.failure }, failedAt: 0 };
    let last: ReplyMessage | undefined;
    const r = await processWithRetries(item, async (it, n) => (last = await this.pool.run(this.task(it, n), this.timeoutMs, onChild)), this.s.map.retries, 100, this.s.map.quarantine_after);
    const l = last as ReplyMessage | undefined;
    return { r, stageMs: l?.type === 'ok' ? l.stage_ms : undefined, failedAt: l?.type === 'failed' ? l.stage : undefined };
  }

  /** Items this stage may keep in its pool at once (see WorkerPool.itemCapacity). */
  get itemCapacity(): number {
    return this.pool.itemCapacity(!!this.s.fanOut);
  }

  private task(item: Item, attempt: number): TaskMessage {
    const { base } = this;
    return { type: 'task', processor: base.processor, options: base.options, outDir: base.outDir, then: base.then, item: processorItem(item, item.input), attempt, key: item.key };
  }

  /**
   * Close the pool, once. `cut`: the stage was destroyed, nothing more starts (items of a batch
   * already handed out included) and no teardown runs. Resolves to the teardown's complaints.
   */
  end(cut = false): Promise<string[]> {
    return (this.ended ??= (async () => {
      if (cut) this.pool.halting();
      const said = !cut && !isBuiltin(this.s.processor) ? await this.pool.teardown() : [];
      await this.pool.close().catch(() => {});
      return said;
    })());
  }
}
