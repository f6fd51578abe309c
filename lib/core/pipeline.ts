import fs from 'node:fs';
import { faultHook } from './faults.js';
import path from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { configHash, configParts, describeChange, type PipelineConfig } from './config.js';
import { SluiceError, stopsRun, type ErrorInfo } from './errors.js';
import { checkFdLimit } from './limits.js';
import { runId, type ResultEvent, type StartEvent, type SummaryEvent } from './events.js';
import type { Item } from './item.js';
import { NdjsonWriter } from './ndjson.js';
import { ProgressBar, progressEvent, type ProgressMode } from './progress.js';
import { Journal, JOURNAL_FILE, MAX_JOURNALED_OUTPUT } from '../checkpoint/journal.js';
import { metaDigest } from '../checkpoint/keys.js';
import { removeDeadTemps } from '../worker/output.js';
import { Lock } from '../checkpoint/lock.js';
import { checkStateDir, readRunState, removeDeadRunTemps, RUN_FILE, setAsideJournal, writeRunState } from '../checkpoint/state.js';
import { bookFields, outputsBook, staleNotes, staleOutputs, type OutputsBook } from '../checkpoint/stale-outputs.js';
import { walk, defaultDisplay, type WalkWarning } from '../stages/walk.js';
import { WalkerThread } from '../stages/walk-thread.js';
import { stdinItems, type StdinFormat } from '../stages/stdin.js';
import { Dedupe } from '../stages/dedupe.js';
import { ParallelMap, defaultMaxRssMb, processWithRetries, type ItemResult } from '../stages/map.js';
import { buildReport, checkpointFailures, reportMdPath, reportPathProblem, RunStats, STATE_REPORT_FILE, writeReport } from '../stages/report.js';
import { Reorder } from '../stages/reorder.js';
import { WorkerPool } from '../worker/pool.js';
import { checkProcessor } from '../worker/check.js';
import type { TaskMessage } from '../worker/protocol.js';
import { parseDuration } from './duration.js';

export interface RunOptions {
  config: PipelineConfig;
  version: string;
  mode: 'resume' | 'fresh' | 'retry-failed';
  keepDone: boolean;
  /** state dir as given by --state; else <checkpoint.dir>/<name> */
  stateDir?: string;
  concurrency: number;
  progress: ProgressMode;
  progressIntervalMs: number;
  maxItems?: number;
  /** stop the run (exit 1) once this many items have failed */
  maxFailures?: number;
  /** print results in the order items were admitted (bounded reorder window) instead of as they finish */
  keepOrder?: boolean;
  /** exit status of this run's items only; by default failures carried in the checkpoint from earlier runs count too */
  runStatus?: boolean;
  /** after a complete walk, remove the outputs of inputs that now fail or are gone (lib/checkpoint/stale-outputs.ts) */
  pruneOutputs?: boolean;
  /** after SIGINT/SIGTERM, how long items in flight may take before they are stopped (ms) */
  graceMs?: number;
  /** read items from this stream instead of walking (`--input -`) */
  stdin?: { input: AsyncIterable<Buffer | string>; format: StdinFormat; strict: boolean };
  out: NodeJS.WritableStream & Writable;
  err: NodeJS.WritableStream & Writable & { isTTY?: boolean; columns?: number };
  /** aborting it stops taking new items; in-flight items finish, then everything is saved */
  stop?: AbortSignal;
}

export interface RunOutcome {
  exitCode: number;
  summary: SummaryEvent;
  stopped: string | null;
}

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, FATAL: 3, SIGINT: 130, SIGTERM: 143, PIPE: 141 } as const;

export function stateDirFor(cfg: PipelineConfig, override?: string): string {
  return override ? path.resolve(override) : path.join(cfg.checkpoint.dir, cfg.name);
}

/** How many trailing components of stateDirFor's path are sluice's own: <checkpoint.dir>/<name>, or the --state dir. */
export function stateDirLevels(override?: string): 1 | 2 {
  return override ? 1 : 2;
}

/** The run's own files (state, report, outputs): never inputs, even when they sit under a root. */
export function ownFilesOf(cfg: PipelineConfig, stateDir: string): Set<string> {
  const reportPath = reportPathOf(cfg, stateDir);
  const own = new Set([stateDir, reportPath, reportMdPath(reportPath)]);
  if (cfg.outputDir) own.add(path.resolve(cfg.outputDir));
  return own;
}

function reportPathOf(cfg: PipelineConfig, stateDir: string): string {
  return cfg.report.path ?? path.join(stateDir, STATE_REPORT_FILE);
}

/** Refuse (exit 2, before anything is created) a report path that would overwrite the checkpoint or an input. */
export function checkReportPath(cfg: PipelineConfig, stateDir: string): void {
  const problem = reportPathProblem(reportPathOf(cfg, stateDir), cfg.report.formats, stateDir, cfg.walk.roots);
  if (problem) throw new SluiceError('SLUICE_E_CONFIG', `report.path (--report) refused: ${problem}`);
}

/** The journal's size on disk (0 when there is none). */
export function journalBytes(stateDir: string): number {
  try {
    return fs.lstatSync(path.join(stateDir, JOURNAL_FILE)).size;
  } catch {
    return 0;
  }
}

export async function runPipeline(o: RunOptions): Promise<RunOutcome> {
  const cfg = o.config;
  const warnLine = (msg: string) => o.err.write(msg + '\n');
  for (const root of cfg.walk.roots) {
    if (!fs.existsSync(root)) throw new SluiceError('SLUICE_E_USAGE', `input not found: ${defaultDisplay(root)}`, { item: root });
  }
  // too few file descriptors would fail items half-way through: say what is needed now
  checkFdLimit(o.concurrency);
  // a processor that cannot load is one error before anything is recorded, not a failure per item
  await checkProcessor(cfg.map.processor);
  const stateDir = stateDirFor(cfg, o.stateDir);
  checkReportPath(cfg, stateDir);
  checkStateDir(stateDir, stateDirLevels(o.stateDir), true);
  const lock = Lock.acquire(stateDir, warnLine);
  try {
    removeDeadRunTemps(stateDir);
    return await runLocked(o, stateDir, warnLine);
  } finally {
    lock.release();
  }
}

async function runLocked(o: RunOptions, stateDir: string, warnLine: (m: string) => void): Promise<RunOutcome> {
  const cfg = o.config;
  const reportPath = reportPathOf(cfg, stateDir);
  const run = runId();
  const started = new Date().toISOString();
  const parts = configParts(cfg, o.version);
  const hash = configHash(cfg, o.version, parts);
  const prev = readRunState(stateDir);
  const configChanged = !!prev && prev.config_hash !== hash;
  let setAside: string | null = null;
  if (o.mode === 'fresh') {
    const b = (setAside = setAsideJournal(stateDir));
    if (b) warnLine(`sluice: --fresh: previous journal kept as ${b}`);
  } else if (configChanged && !o.keepDone) {
    const b = (setAside = setAsideJournal(stateDir));
    const what = describeChange(prev!.config_parts, parts) ?? 'processor or options';
    warnLine(`sluice: ${what} changed since the last run (config ${prev!.config_hash} -> ${hash}): redoing all items${b ? `; previous journal kept as ${b}` : ''} (--keep-done keeps them)`);
  }
  const ownFiles = ownFilesOf(cfg, stateDir);
  // with the default key, the walk keys and dedupes in a thread of its own, started now so that
  // it gets going while the journal loads (content keys read files: that stays a stream stage)
  const fused = cfg.dedupe?.key !== 'content';
  const recorded = journalBytes(stateDir);
  // where the journal's output names are relative to, and set-aside journals whose outputs may be stale
  const book = outputsBook(prev, { setAside, freshJournal: recorded === 0, outDir: cfg.outputDir });
  for (const line of book.notes) warnLine(line);
  const walker = !o.stdin && fused ? new WalkerThread({ opts: cfg.walk, skip: [...ownFiles], dedupe: !!cfg.dedupe, helper: recorded >= Number(faultHook('SLUICE_WALK_HELPER_MIN_BYTES') ?? HELPER_MIN_JOURNAL) }) : null;
  const pool = new WorkerPool({
    concurrency: o.concurrency, maxMemoryMb: cfg.map.max_memory_mb, maxRssMb: cfg.map.max_rss_mb ?? defaultMaxRssMb(o.concurrency),
    preload: cfg.map.processor,
    preloadOptions: cfg.map.options,
  });
  // nothing recorded: every file found will run, so the workers start now, while the journal
  // opens and the walk begins (a resume starts them with its first item to do, if any)
  if (recorded === 0 && !o.stdin) pool.warm();
  try {
    return await runWith(o, stateDir, warnLine, { reportPath, parts, run, started, hash, prev, configChanged, ownFiles, fused, walker, pool, book });
  } finally {
    await walker?.close();
    await pool.close().catch(() => {});
  }
}

/**
 * A journal this big (~50k items) makes the walk worth a helper thread: a resume stats, keys and
 * looks up every file before the first new one; a fresh run is bound by its processor instead.
 */
const HELPER_MIN_JOURNAL = 8 << 20;

interface RunSetup {
  reportPath: string;
  parts: ReturnType<typeof configParts>;
  run: string;
  started: string;
  hash: string;
  prev: ReturnType<typeof readRunState>;
  configChanged: boolean;
  ownFiles: Set<string>;
  fused: boolean;
  walker: WalkerThread | null;
  pool: WorkerPool;
  book: OutputsBook;
}

async function runWith(o: RunOptions, stateDir: string, warnLine: (m: string) => void, setup: RunSetup): Promise<RunOutcome> {
  const cfg = o.config;
  const { reportPath, parts, run, started, hash, prev, configChanged, ownFiles, fused, walker, pool, book } = setup;
  const journal = await Journal.open(stateDir, {
    fsync: cfg.checkpoint.fsync, batchItems: cfg.checkpoint.fsyncEvery, batchMs: cfg.checkpoint.fsyncIntervalMs, warn: warnLine,
  });
  if (o.mode === 'retry-failed') journal.forgetFailed();
  if (walker) {
    // test hook: hand the table over late, so that the walk has to hold files meanwhile
    const late = Number(faultHook('SLUICE_FAULT_TABLE_DELAY_MS') ?? 0);
    const hand = () => walker.setTable(cfg.dedupe ? journal.snapshot() : null);
    if (late > 0) setTimeout(hand, late).unref();
    else hand();
  }
  const writer = new NdjsonWriter(o.out);
  const stats = new RunStats();
  const walkStop = new AbortController();
  let stopped: string | null = null;
  let dropQueued = false;
  /** Stop the walk. A signal or a closed stdout also drops queued items; --max-items lets admitted ones run. */
  let poolRef: WorkerPool | undefined;
  // --keep-order: results wait here for the ones admitted before them (window: what the pool holds, twice)
  const order = o.keepOrder ? new Reorder<ResultEvent>(2 * pool.itemCapacity, (ev) => writer.write(ev)) : null;
  /** item `it` prints `ev`, or nothing (null): in order with --keep-order, else at once */
  const print = (it: Item, ev: ResultEvent | null): Promise<void> => (order ? order.put(it.seq!, ev) : ev ? writer.write(ev) : Promise.resolve());
  const stopWith = (why: string, drop = true) => {
    if (!stopped) stopped = why;
    order?.release();
    if (drop) {
      dropQueued = true;
      // items handed to the pool but not started yet are dropped too (not recorded: the next run does them)
      poolRef?.abortQueued();
    }
    walkStop.abort();
  };
  writer.onClosed(() => stopWith('stdout closed'));
  let graceTimer: NodeJS.Timeout | undefined;
  const onStop = () => {
    stopWith(String(o.stop?.reason ?? 'stopped'));
    // items in flight may finish within the grace period; then they are stopped, not recorded
    graceTimer = setTimeout(() => {
      const n = pool.abortAll();
      if (n) warnLine(`sluice: grace period over: stopping ${n} item(s) still running; the next run does them`);
    }, o.graceMs ?? 10_000);
    graceTimer.unref();
  };
  if (o.stop?.aborted) onStop();
  o.stop?.addEventListener('abort', onStop, { once: true });

  const start: StartEvent = {
    v: 1, type: 'start', run, pipeline: cfg.name, processor: cfg.map.processor, concurrency: o.concurrency,
    config_hash: hash, state: defaultDisplay(stateDir), mode: o.mode, dedupe: cfg.dedupe?.key ?? 'none', already_done: cfg.dedupe ? journal.size : 0, config_changed: configChanged,
  };
  await writer.write(start);
  writeRunState(stateDir, {
    pipeline: cfg.name, processor: cfg.map.processor, config_hash: hash, config_parts: parts, runs: (prev?.runs ?? 0) + 1,
    last: { run, started, ended: null, ok: 0, failed: 0, skipped: 0, exit_code: null }, ...bookFields(book),
  });

  poolRef = pool;
  if (dropQueued) pool.abortQueued();
  const timeoutMs = parseDuration(cfg.map.timeout)!;
  const attempt = (item: Item) => {
    const task: TaskMessage = {
      type: 'task',
      processor: cfg.map.processor,
      options: cfg.map.options,
      item: { path: item.path, file: item.file, rel: item.rel, size: item.size, mtime_ms: item.mtime_ms, ...(item.follow ? { follow: true } : {}) },
      outDir: cfg.outputDir,
    };
    return pool.run(task, timeoutMs);
  };
  // once stopping, items still queued in stream buffers are not started: they were never
  // journaled, so the next run picks them up; only the ones already in a worker finish
  const mapper = new ParallelMap<Item, ItemResult | null>(
    async (item) => {
      if (dropQueued) {
        void print(item, null);
        return null;
      }
      if (item.failure) return { item, status: 'failed', ms: 0, attempts: 1, error: item.failure };
      return processWithRetries(item, attempt, cfg.map.retries, 100, cfg.map.quarantine_after);
    },
    pool.itemCapacity,
  );

  // progress: NDJSON lines on stdout unless asked not to; a bar on stderr when it is a terminal
  const ndjsonProgress = o.progress === 'auto' || o.progress === 'ndjson';
  const bar = o.progress === 'bar' || (o.progress === 'auto' && o.err.isTTY) ? new ProgressBar(o.err) : null;
  const tick = () => {
    // a timer must never throw: reading RSS fails when out of file descriptors; skip this line
    let p;
    try {
      p = progressEvent(stats, pool.busy);
    } catch {
      return;
    }
    if (ndjsonProgress && !writer.busy) void writer.write(p);
    bar?.draw(p);
  };
  const ticker = o.progress === 'none' ? null : setInterval(tick, o.progressIntervalMs);
  ticker?.unref();

  // temp files of runs killed mid-write; other runs may share the output dir: theirs stay
  if (cfg.outputDir) for (const p of removeDeadTemps(cfg.outputDir).problems) warnLine(`sluice: output temp files: ${p}`);

  // stdin: counting and (with the default key) dedupe happen as lines are read, synchronously
  const admit = (rel: string, size: number, mtimeMs: number): string | boolean => {
    stats.found++;
    if (!fused) return true;
    const digest = metaDigest({ rel, size, mtime_ms: mtimeMs });
    if (cfg.dedupe && journal.lookupDigest(digest)) {
      stats.skipped++;
      return false;
    }
    return digest.toString('hex', 0, 16); // the key, hashed once
  };
  let inputErrors = 0;
  const onWarning = (w: WalkWarning) => void writer.write({ v: 1, type: 'warning', code: w.code, path: defaultDisplay(w.path), message: w.message });
  const items = o.stdin
    ? stdinItems(o.stdin.input, { format: o.stdin.format, strict: o.stdin.strict }, {
      signal: walkStop.signal,
      admit,
      onProblem: (p) => {
        inputErrors++;
        void writer.write({ v: 1, type: 'error', code: 'SLUICE_E_INPUT', line: p.line, message: `stdin line ${p.line}: ${p.message}` });
      },
      onNote: (message) => warnLine(`sluice: ${message}`),
    })
    : walker ? walker.items({
      signal: walkStop.signal,
      onCounts: (found, skipped) => { stats.found = found; stats.skipped = skipped; },
      onWarning,
    }) : walk(cfg.walk, { signal: walkStop.signal, skip: ownFiles, onWarning, admit });
  const source = Readable.from(items, { objectMode: true, highWaterMark: 16 });
  // the total is known once the source ends on its own (not when the walk was stopped)
  source.once('end', () => {
    if (!walkStop.signal.aborted) stats.walking = false;
  });
  // content keys read the file: that stays an asynchronous stage
  const contentDedupe = fused ? null : new Dedupe({ isDone: (k) => journal.lookup(k) }, 'content', () => stats.skipped++, timeoutMs);
  let admitted = 0;
  const limiter = new Transform({
    objectMode: true,
    highWaterMark: 16,
    transform(item: Item, _e, cb: TransformCallback) {
      if (o.maxItems !== undefined && admitted >= o.maxItems) {
        stopWith(`--max-items ${o.maxItems} reached`, false);
        return cb();
      }
      if (walkStop.signal.aborted) return cb();
      admitted++;
      if (!order) return cb(null, item);
      void order.admit().then((seq) => {
        item.seq = seq;
        if (!walkStop.signal.aborted) return cb(null, item);
        void print(item, null);
        cb();
      });
    },
  });
  let fatal: SluiceError | null = null;
  // test hook: the result stream breaks with an unexpected error after this many results
  const breakAfter = Number(faultHook('SLUICE_FAULT_SINK_BREAK_AFTER') ?? 0);
  let workersAtEnd = 0;
  let memoryKills = 0;
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 16,
    write(r: ItemResult | null, _e, cb) {
      if (!r) return cb();
      // stopped by the end of the grace period: not the item's fault, not recorded, redone next run
      if (r.error?.code === 'SLUICE_E_ABORTED') return void print(r.item, null).then(() => cb(), cb);
      if (r.error && stopsRun(r.error.code)) {
        // not the item's fault and not recorded: the next run, with space, descriptors or a working processor, does it
        const [why, err] = runLevel(r.item.path, r.error);
        fatal ??= err;
        stopWith(why);
        return void print(r.item, null).then(() => cb(), cb);
      }
      // --max-failures N records N failures: one that comes back after (from a batch that was
      // already running) is left unrecorded for the next run, like an item stopped at a signal
      if (r.status === 'failed' && o.maxFailures !== undefined && stats.failed >= o.maxFailures) return void print(r.item, null).then(() => cb(), cb);
      if (breakAfter && stats.processed >= breakAfter) return cb(new Error('fault injected by SLUICE_FAULT_SINK_BREAK_AFTER'));
      stats.add(r);
      if (o.maxFailures !== undefined && stats.failed >= o.maxFailures) stopWith(`--max-failures ${o.maxFailures} reached`);
      const ev: ResultEvent = { v: 1, type: 'result', key: r.item.key!, path: r.item.path, status: r.status, ms: r.ms, attempts: r.attempts };
      if (r.item.path_b64) ev.path_b64 = r.item.path_b64;
      if (r.output) ev.output = r.output;
      if (r.error) ev.error = r.error;
      journal.append({
        key: r.item.key!, status: r.status, path: r.item.path, ...(r.item.path_b64 ? { path_b64: r.item.path_b64 } : {}),
        at: new Date().toISOString(), ms: r.ms, attempts: r.attempts, ...journaledOutput(r.output),
        ...(r.outputs ? { outputs: r.outputs } : {}), ...(r.outputs_more ? { outputs_more: r.outputs_more } : {}),
        ...(r.error ? { error: { code: r.error.code, message: r.error.message } } : {}),
      }).then(() => print(r.item, ev)).then(() => cb(), cb);
    },
  });

  try {
    await (contentDedupe ? pipeline(source, contentDedupe, limiter, mapper, sink) : pipeline(source, limiter, mapper, sink));
  } catch (err) {
    fatal = err instanceof SluiceError ? err : new SluiceError('SLUICE_E_FATAL', (err as Error).message, { cause: err });
  } finally {
    // results held for an item that never finished (dropped at a stop) go out now, in order
    await order?.flush();
    if (ticker) clearInterval(ticker);
    o.stop?.removeEventListener('abort', onStop);
    if (graceTimer) clearTimeout(graceTimer);
    workersAtEnd = pool.threads;
    memoryKills = pool.memoryKills;
    await pool.close().catch(() => {});
    await journal.close().catch((err: unknown) => { fatal ??= err as SluiceError; });
  }

  // assigned from callbacks, which TypeScript's narrowing cannot see
  const failedHard = fatal as SluiceError | null;
  if (!failedHard) {
    try {
      // a signal now stops the compaction (the journal stays as it was) and the run exits as stopped
      const c = await journal.compactIfWorthIt(o.stop);
      if (c) warnLine(`sluice: journal compacted: ${c.before} lines -> ${c.after}`);
    } catch (err) {
      warnLine(`sluice: journal not compacted (kept as it was): ${(err as Error).message}`);
    }
  }
  // the stop listener is gone once the pipeline ends: a signal after that is seen here
  const stoppedLate = () => { if (!stopped && o.stop?.aborted) stopped = String(o.stop.reason ?? 'stopped'); };
  stoppedLate();
  // vanished inputs need a walk that ran to the end; the walker thread marked what it found
  if (walker?.seen && walker.table) journal.markSeen(walker.table, walker.seen);
  stoppedLate();
  const why = stopped as string | null;
  const walkedAll = !!cfg.dedupe && !o.stdin && !why && !failedHard;
  const vanished = walkedAll ? await journal.vanished(20) : null;
  // outputs of inputs that now fail or are gone, by the same rule (removed with --prune-outputs)
  const checked = walkedAll ? await staleOutputs({ journal, stateDir, book, prune: !!o.pruneOutputs, limit: 20, display: defaultDisplay, say: warnLine }) : null;
  // the job: what the checkpoint holds failed now, this run's failures and those carried from before
  const jobFailed = journal.failedNow(walkedAll);
  const carried = Math.max(0, jobFailed - stats.failed);
  let exitCode: number = stats.failed || inputErrors || (carried && !o.runStatus) ? EXIT.FAILED : EXIT.OK;
  if (fatal) exitCode = fatal.exitCode;
  else if (why === 'stdout closed') exitCode = EXIT.PIPE;
  else if (why === 'SIGINT') exitCode = EXIT.SIGINT;
  else if (why === 'SIGTERM') exitCode = EXIT.SIGTERM;

  const ended = new Date().toISOString();
  const report = buildReport(stats, {
    run, pipeline: cfg.name, processor: cfg.map.processor, config_hash: hash, started, ended,
    interrupted: why !== null && !why.startsWith('--max-items'), stopped: why, exit_code: exitCode, vanished, stale_outputs: checked?.stale ?? null,
    workers: { concurrency: o.concurrency, alive_at_end: workersAtEnd, stopped_for_memory: memoryKills },
    input_errors: inputErrors,
    job: { failed: jobFailed, carried_failed: carried, failures: carried ? await checkpointFailures(journal.file) : [] },
  });
  // said after the reason the run stopped (a full disk under the state dir fails these too)
  const after: string[] = [];
  try {
    writeReport(reportPath, o.config.report.formats, report);
  } catch (err) {
    after.push(`sluice: cannot write report ${reportPath}: ${(err as Error).message}`);
  }
  try {
    writeRunState(stateDir, {
      pipeline: cfg.name, processor: cfg.map.processor, config_hash: hash, config_parts: parts, runs: (prev?.runs ?? 0) + 1,
      last: { run, started, ended, ok: stats.ok, failed: stats.failed, skipped: stats.skipped, exit_code: exitCode }, ...bookFields(book, checked?.pending),
    });
  } catch (err) {
    // e.g. the disk that filled under the journal: the journal is what resume needs
    after.push(`sluice: cannot write the run state ${path.join(stateDir, RUN_FILE)} (the previous one is kept): ${(err as Error).message}`);
  }

  if (o.progress !== 'none') {
    const p = progressEvent(stats, 0);
    if (ndjsonProgress) await writer.write(p);
    if (bar) { bar.draw(p); bar.clear(); }
  }
  const summary: SummaryEvent = {
    v: 1, type: 'summary', total: stats.total, ok: stats.ok, failed: stats.failed, skipped: stats.skipped,
    elapsed_s: Number(stats.elapsedS().toFixed(3)), rate: Number(stats.rate().toFixed(1)),
    report: defaultDisplay(reportPath), exit_code: exitCode,
  };
  if (why) summary.stopped = why;
  if (failedHard) summary.error = { code: failedHard.code, message: failedHard.message };
  if (inputErrors) summary.input_errors = inputErrors;
  if (carried) summary.carried_failed = carried;
  if (vanished?.count) {
    summary.vanished = vanished.count;
    summary.vanished_paths = vanished.examples;
  }
  if (checked?.stale.count) {
    summary.stale_outputs = checked.stale.count;
    summary.stale_output_paths = checked.stale.examples;
    if (o.pruneOutputs) summary.pruned_outputs = checked.stale.pruned;
  }
  await writer.write(summary);
  if (fatal) warnLine(`sluice: ${fatal.message}`);
  for (const line of after) warnLine(line);
  if (!fatal) for (const line of staleNotes(checked?.stale ?? null, !!o.pruneOutputs, why)) warnLine(line);
  if (carried && !fatal) {
    warnLine(`sluice: ${carried} item(s) failed in earlier runs are still failed${o.runStatus ? '' : ' (exit 1)'}: \`sluice results --status failed\` lists them, --retry-failed runs them again`);
  }
  return { exitCode, summary, stopped: why };
}

/** Why the run stops, and the error it ends with, for a failure that is the run's, not the item's (errors.ts stopsRun). */
function runLevel(shown: string, e: ErrorInfo): [string, SluiceError] {
  const kept = 'the run stopped, everything recorded is kept';
  switch (e.code) {
    case 'SLUICE_E_DISK_FULL':
      return ['disk full', new SluiceError(e.code, `no space left writing the output of ${shown}: ${e.message}; ${kept}`)];
    case 'SLUICE_E_FD_LIMIT':
      return ['out of file descriptors', new SluiceError(e.code, `out of file descriptors on ${shown}: ${e.message}; ${kept}; raise the open-file limit (ulimit -n) and run again`)];
    default:
      return ['the processor could not be loaded', new SluiceError(e.code, `${e.message}; ${kept}`)];
  }
}

/** The output goes into the journal when small, so `sluice results` can rebuild what stdout showed. */
function journaledOutput(output: Record<string, unknown> | undefined): { output?: Record<string, unknown>; output_omitted?: true } {
  if (!output) return {};
  return JSON.stringify(output).length <= MAX_JOURNALED_OUTPUT ? { output } : { output_omitted: true };
}
