import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { THREAD_YOUNG_GENERATION_MB, threadExecArgv } from '../core/threads.js';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { fdLimitError, SluiceError, type ErrorInfo } from '../core/errors.js';
import { openFileCount, openFileLimit } from '../core/limits.js';
import { isBatchReply, isEmit, isReply, type BatchMessage, type ReplyMessage, type TaskMessage } from './protocol.js';
import { ChildGroups } from '../core/child-groups.js';

interface PoolOptions {
  concurrency: number;
  /** JS heap limit per worker (resourceLimits) */
  maxMemoryMb: number;
  /** limit on the whole process's RSS; 0 = no watchdog */
  maxRssMb?: number;
  /** how often the watchdog looks (ms) */
  watchMs?: number;
  /** processor the workers load as they start, before their first task (a PDF processor makes its engine ready) */
  preload?: string;
  /** the run's processor options, given to a built-in's load (which engine to make ready) */
  preloadOptions?: Record<string, unknown>;
  /** test-only: outputs whose name contains this fail with ENOSPC (core/faults.ts) */
  outputEnospc?: string;
}

/** Where a running item's children go: called in order, one at a time; the child counts as accepted when it resolves. */
export type OnChild = (child: Record<string, unknown>, index: number) => Promise<void>;

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

interface Running {
  ctl: AbortController; slot: number; submitted: number; timeoutMs: number;
  /** the task's items (one, or a batch): the one its worker is on is current[slot] */
  group: Pending[];
  /** fan-out: the item's children handler, the children seen in this attempt, and the handling in progress */
  onChild?: OnChild; children: number; handling: Promise<void>;
}

interface Pending {
  task: TaskMessage;
  timeoutMs: number;
  resolve: (r: ReplyMessage) => void;
  /** times this item went back to the queue because its batch was lost on another item */
  requeued: number;
  onChild?: OnChild;
}

/** Most items sent to a worker as one task. */
export const MAX_BATCH = 32;
/**
 * A batch is sized to take about this long, going by recent items: slow items go one by one.
 * Items of a millisecond (a small command run by `exec`) go 20 at a time: one message each way
 * per batch instead of per item, which is most of what sluice itself costs such an item. (32 ms
 * was tried: `exec` a few per cent faster, pdf-text over the corpus ~5% slower; bench/BENCHMARKS.md.)
 */
const BATCH_TARGET_MS = 20;
/**
 * Times an item may go back to the queue when its batch is lost and another item (or none) is
 * blamed; past it, the item takes the failure itself. No item is requeued without bound.
 */
const MAX_REQUEUES = 3;
/**
 * How long past map.timeout a cooperative item (its processor read ctx.signal, which aborted at
 * the timeout) may take to stop and reply before its worker is stopped: the `exec` processor
 * kills its command's group and reports the tail of its stderr in that time.
 */
export const SOFT_TIMEOUT_GRACE_MS = 2000;

const RUNTIME = fileURLToPath(new URL('./runtime.js', import.meta.url));

/**
 * Worker threads through piscina, one task per worker at a time. `run` never rejects: whatever
 * happens to the worker (timeout, exit, OOM) comes back as a failed reply with a stable code,
 * and piscina replaces the dead worker.
 */
/** max_rss_mb when the pipeline does not say: room for every worker, never most of the machine. */
export function defaultMaxRssMb(concurrency: number): number {
  return Math.round(Math.min(0.6 * os.totalmem() / 2 ** 20, 1024 + 1024 * concurrency));
}

/**
 * What a map stage runs its items on: this thread's WorkerPool, or a queue shared by worker
 * processes (queue/remote-pool.ts). `run` never rejects: every failure is a coded reply.
 */
export interface ItemPool {
  run(task: TaskMessage, timeoutMs: number, onChild?: OnChild): Promise<ReplyMessage>;
  itemCapacity(fanOut?: boolean): number;
  warm(): void;
  readonly ready: number;
  readonly busy: number;
  readonly threads: number;
  readonly memoryKills: number;
  runningMs(now?: number): number;
  longestRunning(now?: number): { path: string; ms: number } | null;
  abortQueued(): number;
  abortAll(): number;
  halting(): void;
  teardown(): Promise<string[]>;
  close(): Promise<void>;
  /** the item with this key is recorded in the journal (a queue then lets its jobs go) */
  recorded?(key: string): void;
  /** a queue's: items whose job was started more than once (its worker died or handed it back) */
  readonly redelivered?: number;
}

export class WorkerPool implements ItemPool {
  private started: Piscina<TaskMessage | BatchMessage, unknown> | undefined;
  private readonly running = new Set<Running>();
  /**
   * When each task started in its worker (Date.now(), written by the worker; 0: still queued),
   * one slot per task the pool holds. Up to `concurrency` tasks wait in piscina's queue besides
   * the running ones, so a worker that finishes an item is handed the next at once, instead of
   * going to sleep and being woken for it (that wake cost the main thread more than the rest of
   * an item's bookkeeping). Timeouts and the memory watchdog go by these start times.
   */
  private readonly starts: Float64Array;
  /** index, within its batch, of the item a slot's worker is on */
  private readonly current: Int32Array;
  /** which of its fused stages (TaskMessage.then; 0 = the first) a slot's item is at: a worker lost there fails the item at that stage */
  private readonly stageAt: Int32Array;
  private readonly freeSlots: number[];
  /** per slot: the process group of the command its item runs, killed before its worker is stopped (child-groups.ts) */
  private readonly groups: ChildGroups;
  /** per slot: 1 when the item's processor read ctx.signal (deadline.ts): it gets SOFT_TIMEOUT_GRACE_MS more */
  private readonly cooperative: Int32Array;
  /** kills every command still running when the process exits, however it exits (process.exit included) */
  private readonly onExit = () => this.groups.killAll();
  /**
   * Items waiting to be sent. Fast items (noop, hashing small files) go in batches: one piscina
   * task carries up to MAX_BATCH items, so its fixed cost (messages, wake-ups, bookkeeping) is
   * shared. A worker lost in a batch (timeout, crash, memory) fails only the item it was on;
   * the others go back to this queue. Slow items (PDFs) are sent one per task.
   */
  private queue: Pending[] = [];
  private inPool = 0;
  private pumpScheduled = false;
  /**
   * Recent time per item in the workers (ms), for the batch size. Null until an item has been
   * timed: until then every task carries one item (the first ones the smallest waiting), so the
   * run's first result never waits for a batch of items whose cost nobody knows yet.
   */
  private itemMs: number | null = null;
  private sweeper: NodeJS.Timeout | undefined;
  private sweepMs = Infinity;
  /** set by close(): from then on every item, queued or new, comes back SLUICE_E_ABORTED */
  private closing: Promise<void> | undefined;
  /**
   * Written by the workers: [0] how many have started and loaded the processor, [1] the JS heap
   * limit V8 gave them, in MB (young generation included).
   */
  private readonly booted = new Int32Array(new SharedArrayBuffer(8));
  /**
   * Set by abortQueued (a stop): workers start no further item of a batch they hold, and reply
   * for the rest as SLUICE_E_ABORTED (not recorded: the next run does them).
   */
  private readonly halt = new Int32Array(new SharedArrayBuffer(4));
  private firstPump = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private lastKill = 0;
  /** per slot: children of its item accepted downstream (fan-out: worker/emit.ts) */
  private readonly accepted: Int32Array;
  /** tasks the memory watchdog stopped */
  memoryKills = 0;
  /** tasks sent to workers (fewer than items when fast items go in batches) */
  tasks = 0;

  /**
   * Workers start with the first task: a rerun with nothing left to do never pays for them.
   *
   * resourceLimits caps a worker's JS heap, but not memory outside it: pdfjs decodes streams
   * into ArrayBuffers, and one crafted PDF can take gigabytes that way. So a watchdog on this
   * thread (never blocked by a worker's work) watches the process's RSS and, when it passes
   * maxRssMb, stops the task that has been running longest (a bomb takes time to inflate): its
   * worker is terminated, which frees its memory, and the item fails with SLUICE_E_WORKER_OOM.
   */
  constructor(private readonly opts: PoolOptions) {
    this.starts = new Float64Array(new SharedArrayBuffer(8 * this.capacity));
    this.current = new Int32Array(new SharedArrayBuffer(4 * this.capacity));
    this.stageAt = new Int32Array(new SharedArrayBuffer(4 * this.capacity));
    this.freeSlots = Array.from({ length: this.capacity }, (_, i) => this.capacity - 1 - i);
    this.groups = new ChildGroups(this.capacity);
    this.cooperative = new Int32Array(new SharedArrayBuffer(4 * this.capacity));
    this.accepted = new Int32Array(new SharedArrayBuffer(4 * this.capacity));
  }

  /** Start the workers now rather than with the first task (when items are sure to come). */
  warm(): void {
    void this.pool;
  }

  /** Tasks the pool takes at once: one running and one waiting per worker. */
  get capacity(): number {
    return this.opts.concurrency * 2;
  }

  /**
   * Items a stage of this pool may keep in it (running, waiting in piscina, queued here). A
   * fan-out stage's items go one per task, and carry the previous stage's output (a document's
   * text): no more wait than the pool has tasks. Other items may go MAX_BATCH to a task.
   */
  itemCapacity(fanOut = false): number {
    return this.capacity * (fanOut ? 1 : MAX_BATCH);
  }

  /** Workers that have booted and loaded the preloaded processor (attempted it, at least). */
  get ready(): number {
    return Atomics.load(this.booted, 0);
  }

  /** The task whose item started longest ago in its worker (one still queued has not started), or undefined. */
  private oldest(): Running | undefined {
    let oldest: Running | undefined;
    for (const r of this.running) {
      const s = this.starts[r.slot]!;
      if (s && (!oldest || s < this.starts[oldest.slot]!)) oldest = r;
    }
    return oldest;
  }

  /** The item that has been running longest now: its path and time so far (ms), or null. */
  longestRunning(now = Date.now()): { path: string; ms: number } | null {
    const r = this.oldest();
    const item = r?.group[this.current[r.slot]!]?.task.item;
    return r && item ? { path: item.path, ms: now - this.starts[r.slot]! } : null;
  }

  /** Time the tasks running now have spent in their workers so far, added up (ms). */
  runningMs(now = Date.now()): number {
    let ms = 0;
    for (const r of this.running) {
      const s = this.starts[r.slot]!;
      if (s) ms += Math.max(0, now - s);
    }
    return ms;
  }

  /** Tasks running in a worker now (not the ones waiting). */
  get busy(): number {
    let n = 0;
    for (const r of this.running) if (this.starts[r.slot]) n++;
    return n;
  }

  private get pool(): Piscina<TaskMessage | BatchMessage, unknown> {
    return (this.started ??= this.start());
  }

  private start(): Piscina<TaskMessage | BatchMessage, unknown> {
    const { opts } = this;
    const pool = new Piscina<TaskMessage | BatchMessage, unknown>({
      filename: RUNTIME,
      // threads start as tasks need them (piscina adds one while tasks wait, up to maxThreads): a
      // run of a few items boots one, not one per core; once started, a thread stays until close
      // (it holds its processor's setup, which teardown undoes on every thread)
      minThreads: 1,
      maxThreads: opts.concurrency,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      // what the pool hands piscina at most (see `starts`): while threads are still starting, all of it may wait
      maxQueue: this.capacity,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxMemoryMb, maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
      workerData: { starts: this.starts, current: this.current, stageAt: this.stageAt, booted: this.booted, halt: this.halt, preload: opts.preload, preloadOptions: opts.preloadOptions, children: this.groups.table, cooperative: this.cooperative, outputEnospc: opts.outputEnospc, accepted: this.accepted },
      // without require(esm): see threadExecArgv
      execArgv: threadExecArgv(),
    });
    // a worker error with no task to blame would otherwise be an unhandled 'error' event
    pool.on('error', () => {});
    // children of fan-out items (any pool may run them: see run)
    pool.on('message', (m: unknown) => { if (isEmit(m)) this.onEmit(m.slot, m.child); });
    process.on('exit', this.onExit);
    if (opts.maxRssMb) {
      this.watchdog = setInterval(() => {
        // reading RSS opens /proc/self/stat: out of file descriptors it throws, and a timer must
        // never throw (it would end the process with the lock held); the next tick tries again
        try {
          this.checkMemory(opts.maxRssMb!);
        } catch {
          // nothing to do until RSS can be read
        }
      }, opts.watchMs ?? 100);
      this.watchdog.unref();
    }
    return pool;
  }

  /** Stop every running task (shutdown after the grace period): each comes back SLUICE_E_ABORTED. */
  abortAll(): number {
    for (const r of this.running) this.stop(r, new ShutdownAbort());
    return this.running.size;
  }

  private checkMemory(limitMb: number): void {
    const rssMb = Math.round(process.memoryUsage.rss() / 2 ** 20);
    // after a kill, give the terminated worker a moment to hand its memory back
    if (rssMb <= limitMb || performance.now() - this.lastKill < 1000) return;
    const oldest = this.oldest();
    if (!oldest) return;
    this.lastKill = performance.now();
    this.memoryKills++;
    this.stop(oldest, new MemoryExceeded(rssMb, limitMb));
  }

  /** Stop a task: first the command its item runs (its whole process group), then its worker. */
  private stop(r: Running, why: unknown): void {
    this.groups.fence(r.slot);
    r.ctl.abort(why);
  }

  /** Time out tasks by when they started in a worker; a task that never starts gets a long bound. */
  private sweep(): void {
    const now = Date.now();
    for (const r of this.running) {
      const s = this.starts[r.slot]!;
      const limit = r.timeoutMs + (this.cooperative[r.slot] ? SOFT_TIMEOUT_GRACE_MS : 0);
      if (s ? now - s > limit : now - r.submitted > 2 * r.timeoutMs + 5000) this.stop(r, new DOMException('timeout', 'TimeoutError'));
    }
  }

  /**
   * Stop the tasks still waiting for a worker (a stop drops what has not started): items queued
   * here, tasks waiting in piscina, and the items of a batch its worker has not come to yet.
   */
  abortQueued(): number {
    this.halting();
    let n = this.dropQueue(new ShutdownAbort());
    for (const r of this.running) {
      if (!this.starts[r.slot]) {
        r.ctl.abort(new ShutdownAbort());
        n++;
      }
    }
    return n;
  }

  /** Workers start no further item of a batch they hold (the items in hand finish, or are stopped with their worker). */
  halting(): void {
    Atomics.store(this.halt, 0, 1);
  }

  get threads(): number {
    return this.started?.threads.length ?? 0;
  }

  /** Fail every item still waiting to be sent, with `why`; returns how many. */
  private dropQueue(why: Error): number {
    const dropped = this.queue;
    this.queue = [];
    for (const p of dropped) p.resolve(failed(classifyPoolError(null, why, p.timeoutMs)));
    return dropped.length;
  }

  /**
   * Process one item; never rejects. Once the pool is closing, the item comes back SLUICE_E_ABORTED.
   * With `onChild` the item fans out: it goes alone to a task, its processor gets ctx.emit, and
   * `onChild` takes the children it emits. The caller makes sure a fan-out task never holds a
   * thread that its children need (Chain: such a stage has a pool of its own).
   */
  run(task: TaskMessage, timeoutMs: number, onChild?: OnChild): Promise<ReplyMessage> {
    if (this.closing) return Promise.resolve(failed(classifyPoolError(null, new PoolClosed(), timeoutMs)));
    return new Promise((resolve) => {
      this.queue.push({ task, timeoutMs, resolve, requeued: 0, onChild });
      // items handed over in the same turn go out together
      this.schedulePump();
    });
  }

  /**
   * Pump on a later turn of the event loop, once however often it is asked for: a batch that
   * failed at once (a closing pool refuses tasks in a microtask) cannot loop without letting
   * I/O, timers and signal handlers run.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => this.pump());
  }

  /**
   * A child from the worker on `slot`: handed to its item's handler after the ones before it, then
   * counted accepted (the worker waits on that count). A child of a task no longer running (its
   * worker was stopped) is dropped: the item fails, and its retry emits it again.
   */
  private onEmit(slot: number, child: Record<string, unknown>): void {
    let r: Running | undefined;
    for (const x of this.running) if (x.slot === slot) r = x;
    if (!r?.onChild) return;
    const run = r;
    const index = run.children++;
    run.handling = run.handling.then(() => run.onChild!(child, index)).then(() => {
      if (!this.running.has(run)) return;
      Atomics.add(this.accepted, slot, 1);
      Atomics.notify(this.accepted, slot);
    }, () => {});
  }

  private batchSize(): number {
    // a fan-out item goes alone: its processor gets ctx.emit, its task waits on its children;
    // and every item does until one has been timed (itemMs)
    if (this.queue[0]?.onChild || this.itemMs === null) return 1;
    // no more than a worker's share of what waits: a few items never all go to one worker
    const share = Math.ceil(this.queue.length / this.opts.concurrency);
    return Math.max(1, Math.min(MAX_BATCH, share, Math.floor(BATCH_TARGET_MS / Math.max(this.itemMs, 0.01))));
  }

  private pump(): void {
    this.pumpScheduled = false;
    if (this.closing) return;
    // before the first task, wait (briefly) for a worker to be up: by then the walk has found
    // more files, and the run starts with the smallest of them, for a first result soon
    if (this.tasks === 0 && this.queue.length && !Atomics.load(this.booted, 0)) {
      void this.pool; // start the workers if nothing has yet
      this.firstPump ||= Date.now();
      if (Date.now() - this.firstPump < 3000) {
        this.pumpScheduled = true;
        setTimeout(() => this.pump(), 5);
        return;
      }
    }
    while (this.inPool < this.capacity && this.queue.length) {
      const size = this.batchSize();
      // the first items of a run go smallest first: the first result comes soon; then largest first
      const group = size > 1 ? this.batch(size) : [this.take(this.tasks < this.opts.concurrency ? -1 : 1)];
      this.inPool++;
      void this.dispatch(group).then((ok) => {
        this.inPool--;
        // the next task at once after a reply (a worker waits for it); after a lost batch, later
        if (ok) this.pump();
        else this.schedulePump();
      });
    }
  }

  /**
   * Up to `size` items for one batch: the first waiting, and those after it for the same
   * processor, options and fused stages (a pool shared by several map stages holds items of each;
   * a batch runs one processor). Looks at most a few batches ahead.
   */
  private batch(size: number): Pending[] {
    const first = this.queue[0]!.task;
    // the same objects (a map stage makes them once), else the same values
    let firstJson: string | undefined;
    const json = (t: TaskMessage) => JSON.stringify([t.options, t.then ?? null]);
    const same = (t: TaskMessage) => t.processor === first.processor && t.outDir === first.outDir
      && ((t.options === first.options && t.then === first.then) || json(t) === (firstJson ??= json(first)));
    const group: Pending[] = [];
    const rest: Pending[] = [];
    const scan = Math.min(this.queue.length, size * 4);
    for (let i = 0; i < scan; i++) {
      const p = this.queue[i]!;
      if (group.length < size && !p.onChild && same(p.task)) group.push(p);
      else rest.push(p);
    }
    this.queue = rest.concat(this.queue.slice(scan));
    return group;
  }

  /**
   * Slow items go largest first (by bytes, among those waiting): a big PDF started late would
   * finish alone at the end of the run, with the other workers idle. `sign` -1 takes the smallest.
   */
  private take(sign: 1 | -1): Pending {
    let best = 0;
    for (let i = 1; i < this.queue.length; i++) if (sign * (this.queue[i]!.task.item.size - this.queue[best]!.task.item.size) > 0) best = i;
    return this.queue.splice(best, 1)[0]!;
  }

  /**
   * What limited a worker's JS heap, for an item that ran out of it: map.max_memory_mb, or, when
   * the workers' heaps are not the size it asks for, a heap size given to node, which V8 lets win
   * over resourceLimits in every thread.
   */
  private heapLimit(): string {
    const asked = this.opts.maxMemoryMb;
    const got = Atomics.load(this.booted, 1);
    if (!got || got === asked + THREAD_YOUNG_GENERATION_MB) return `map.max_memory_mb, ${asked} MB`;
    return `${got} MB in all, where map.max_memory_mb asks for ${asked} MB plus ${THREAD_YOUNG_GENERATION_MB} MB of young generation: heap sizes given to node (NODE_OPTIONS or its command line) replace it in every thread`;
  }

  /** Send one task; resolves true when the worker replied, false when the task was lost. Never rejects. */
  private async dispatch(group: Pending[]): Promise<boolean> {
    const slot = this.freeSlots.pop()!;
    this.starts[slot] = 0;
    this.current[slot] = 0;
    this.stageAt[slot] = 0;
    this.cooperative[slot] = 0;
    Atomics.store(this.accepted, slot, 0);
    this.groups.reset(slot);
    const timeoutMs = group[0]!.timeoutMs;
    const ctl = new AbortController();
    const entry: Running = { ctl, slot, submitted: Date.now(), timeoutMs, group, onChild: group[0]!.onChild, children: 0, handling: Promise.resolve() };
    this.running.add(entry);
    // one sweep for all tasks, not a timer per task (cheaper, and its precision is enough for timeouts)
    const every = Math.max(10, Math.min(100, Math.floor(timeoutMs / 10)));
    if (!this.sweeper || every < this.sweepMs) {
      if (this.sweeper) clearInterval(this.sweeper);
      this.sweepMs = every;
      this.sweeper = setInterval(() => this.sweep(), every);
      this.sweeper.unref();
    }
    try {
      const first = group[0]!.task;
      const message: TaskMessage | BatchMessage = group.length === 1
        ? { ...first, slot, timeoutMs, ...(group[0]!.onChild ? { fanOut: true } : {}) }
        : { type: 'batch', processor: first.processor, options: first.options, outDir: first.outDir, items: group.map((p) => p.task.item), slot, timeoutMs, ...(first.then ? { then: first.then } : {}) };
      this.tasks++;
      const reply = await this.pool.run(message, { signal: ctl.signal });
      if (group.length === 1 && isReply(reply)) {
        this.settle(group[0]!, reply);
        return true;
      }
      if (group.length > 1 && isBatchReply(reply) && reply.replies.length === group.length) {
        for (let i = 0; i < group.length; i++) this.settle(group[i]!, reply.replies[i]!);
        return true;
      }
      for (const p of group) p.resolve(failed({ code: 'SLUICE_E_WORKER_CRASH', message: 'worker sent a malformed reply', retryable: true }));
      return true;
    } catch (err) {
      // the worker is gone (stopped, crashed): so is any command its item started
      this.groups.fence(slot);
      const info = classifyPoolError(err, ctl.signal.reason ?? (this.closing ? new PoolClosed() : undefined), timeoutMs, this.heapLimit());
      // time on the item the worker was on, from its start (not its wait in the queue); 0 for the others
      const startedAt = this.starts[slot]!;
      const onItem = startedAt ? Date.now() - startedAt : 0;
      if (group.length === 1) {
        group[0]!.resolve(failed(info, onItem, this.stageAt[slot]));
        return false;
      }
      if (info.code === 'SLUICE_E_ABORTED') {
        for (const p of group) p.resolve(failed(info, 0));
        return false;
      }
      // the item the worker was on takes the failure; the others (done but unreported, or not
      // started) go back to the front of the queue, each a bounded number of times
      const culprit = this.starts[slot] ? this.current[slot]! : -1;
      const again: Pending[] = [];
      group.forEach((p, i) => {
        if (i === culprit) p.resolve(failed(info, onItem, this.stageAt[slot]));
        else if (p.requeued >= MAX_REQUEUES) p.resolve(failed(info, 0));
        else {
          p.requeued++;
          again.push(p);
        }
      });
      if (!this.closing) this.queue.unshift(...again);
      else for (const p of again) p.resolve(failed(classifyPoolError(null, new PoolClosed(), timeoutMs)));
      return false;
    } finally {
      this.running.delete(entry);
      this.starts[slot] = 0;
      this.freeSlots.push(slot);
    }
  }

  private settle(p: Pending, reply: ReplyMessage): void {
    if (reply.ms !== undefined) this.itemMs = this.itemMs === null ? reply.ms : this.itemMs * 0.8 + reply.ms * 0.2;
    p.resolve(reply);
  }

  /**
   * Each worker thread undoes its processor's setup (defineProcessor's teardown), all within
   * `ms`: one teardown message per thread, each thread holding its own until all have theirs
   * (protocol.ts TeardownMessage). Resolves to the failures' messages; never rejects.
   */
  async teardown(ms = 5_000): Promise<string[]> {
    const p = this.started;
    const threads = p?.threads.length ?? 0;
    if (!p || !threads || this.closing) return [];
    const barrier = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + ms;
    const one = () => (p.run({ type: 'teardown', barrier, threads, deadline } as never) as Promise<{ ok: boolean; message?: string }>)
      .catch((err: Error) => ({ ok: false, message: err.message }));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), ms + 1_000); });
    const replies = await Promise.race([Promise.all(Array.from({ length: threads }, one)), late]);
    clearTimeout(timer);
    if (!replies) return [`teardown: no reply from every worker within ${ms} ms`];
    return replies.filter((r) => !r.ok).map((r) => r.message ?? 'teardown failed');
  }

  /** Stop the workers (idempotent). Items still queued, and any item run() is given later, come back SLUICE_E_ABORTED. */
  close(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.sweeper) clearInterval(this.sweeper);
    if (!this.closing) {
      this.groups.killAll();
      process.off('exit', this.onExit);
      this.closing = this.started?.close({ force: true }) ?? Promise.resolve();
      this.dropQueue(new PoolClosed());
    }
    return this.closing;
  }
}

/** A failure the pool gives an item; `stage`: the fused stage it was at (said only past the first). */
function failed(error: ErrorInfo, ms?: number, stage = 0): ReplyMessage {
  const r: ReplyMessage & { type: 'failed' } = ms === undefined ? { type: 'failed', error } : { type: 'failed', error, ms };
  if (stage) r.stage = stage;
  return r;
}

/** Why a task was refused: the pool was closing (the run is ending; the item is redone next run). */
class PoolClosed extends Error {
  constructor() {
    super('stopped: the run ended before this item could start');
    this.name = 'PoolClosed';
  }
}

/** A module path is there: the file (with or without its extension), or the package it names a part of (an `exports` subpath). */
function isThere(file: string): boolean {
  const pkg = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
  return ['', '.js', '.mjs', '.cjs'].some((ext) => fs.existsSync(file + ext)) || (pkg !== undefined && fs.existsSync(path.join(pkg, 'package.json')));
}

/**
 * A worker that died loading a module Node says is missing, although the file is there: Node's
 * module resolver reports an open that failed for want of descriptors as ERR_MODULE_NOT_FOUND
 * ("Cannot find package '<file>'", or "Cannot find module '<package>/<subpath>'"; seen under
 * `ulimit -n 128` with 8 workers). By the time the death is seen the descriptors are often free
 * again, so the file being there is the evidence: the run's failure (SLUICE_E_FD_LIMIT: it stops,
 * nothing is recorded), not the item's.
 */
function phantomMissingModule(err: unknown): SluiceError | null {
  const message = (err as { message?: unknown } | null)?.message;
  const m = typeof message === 'string' ? /Cannot find (?:package|module) '([^']+)'/.exec(message) : null;
  if (!m || !path.isAbsolute(m[1]!) || !isThere(m[1]!)) return null;
  const open = openFileCount();
  const limit = openFileLimit();
  const now = open !== null && limit !== null ? ` (now ${open === Infinity ? 'none' : limit - open} of ${limit} left)` : '';
  return new SluiceError('SLUICE_E_FD_LIMIT', `out of file descriptors in a worker: it could not load ${m[1]}, which is there: Node reports an open that failed while loading a module (for want of file descriptors${now}) as not found: ${message}`);
}

/**
 * What happened to a task that did not reply: why it was aborted (`reason`, the task's own abort
 * reason, or PoolClosed when the pool refused it), else how its worker died. A piscina AbortError
 * is a timeout only when the sweep aborted the task: piscina also aborts tasks it refuses.
 */
function classifyPoolError(err: unknown, reason: unknown, timeoutMs: number, heapLimit?: string): ErrorInfo {
  if (reason instanceof ShutdownAbort || reason instanceof PoolClosed) return { code: 'SLUICE_E_ABORTED', message: reason.message, retryable: false };
  if (reason instanceof MemoryExceeded) {
    return { code: 'SLUICE_E_WORKER_OOM', message: `${reason.message} while this item was the longest running: its worker was stopped (memory outside the JS heap, e.g. decoded PDF streams)`, retryable: true };
  }
  const e = err as { name?: string; code?: string; message?: string };
  // a worker that could not start or load for want of file descriptors: the run's failure, not the item's
  const fd = fdLimitError(err, 'in a worker') ?? phantomMissingModule(err);
  if (fd) return fd.toInfo();
  if (reason instanceof DOMException && reason.name === 'TimeoutError') {
    return { code: 'SLUICE_E_TIMEOUT', message: `no result after ${timeoutMs} ms; the worker was stopped and replaced`, retryable: true };
  }
  if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { code: 'SLUICE_E_WORKER_OOM', message: `worker ran out of memory: ${e.message}${heapLimit ? ` (its JS heap limit: ${heapLimit})` : ''}`, retryable: true };
  }
  return { code: 'SLUICE_E_WORKER_CRASH', message: `worker died: ${e?.message ?? String(err)}`, retryable: true };
}
