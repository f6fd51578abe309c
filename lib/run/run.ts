import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { Faults } from '../core/faults.js';
import { SluiceError } from '../core/errors.js';
import { checkFdLimit } from '../core/limits.js';
import { runId, type ResultEvent, type StartEvent, type SummaryEvent } from '../core/events.js';
import type { Item } from '../core/item.js';
import { NdjsonWriter, type EventSink } from '../core/ndjson.js';
import { defaultDisplay } from '../core/fsx.js';
import { removeDeadTemps } from '../core/output.js';
import { parseDuration } from '../core/duration.js';
import { Journal } from '../checkpoint/journal.js';
import { Lock } from '../checkpoint/lock.js';
import { RUN_FILE, STAGES_FILE } from '../checkpoint/files.js';
import { StageStore } from '../checkpoint/stage-store.js';
import { checkStateDir, readRunState, removeDeadRunTemps, setAsideJournal, writeRunState, type ConfigParts, type RunState } from '../checkpoint/state.js';
import { bookFields, outputsBook, staleNotes, staleOutputs, type OutputsBook } from '../checkpoint/stale-outputs.js';
import type { WalkerThread } from '../stages/walk/thread.js';
import { Dedupe } from '../stages/dedupe.js';
import { ParallelMap, type ItemResult } from '../stages/map.js';
import { Chain, checkProcessors, isMultiStage, passesThrough, startOf } from '../stages/chain.js';
import { isBuiltin } from '../processors/index.js';
import { buildReport, checkpointFailures, RunStats, writeReport } from './report.js';
import { Reorder } from '../stages/reorder.js';
import { configHash, configParts, describeChange, stageFingerprints, type PipelineConfig } from './config.js';
import { ProgressTicker, type ProgressMode } from './progress.js';
import { keepByDefault, RecordSink } from './record.js';
import type { CountAhead } from './count-ahead.js';
import { readTimeline, samplesOf, Timeline } from './timeline.js';
import { reportHtml } from './html-report.js';
import { commandLine } from '../core/shell.js';
import { handTable, sourceItems, startCounter, startWalker, walksInThread, warningEvent, type StdinSource } from './source.js';
import { checkReportPath, journalBytes, ownFilesOf, reportPathOf, stateDirFor, stateDirLevels } from './state-dir.js';
import { abortReason, exitCodeOf, interrupts, Stopper, stopText, type StopReason } from './stop.js';

// One run, from the lock to the summary: runPipeline checks and locks, runLocked prepares (run
// state, set-aside journal, walker thread, worker pool), runWith wires source → limit → map →
// record and runs it, finish() writes what a run leaves behind. The source is source.ts's, the
// recording record.ts's, stopping and exit codes stop.ts's.

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
  stdin?: StdinSource;
  /** where the NDJSON events go: a byte stream (stdout), or `events` */
  out?: Writable;
  /** the events as objects, instead of `out` (the library's run()) */
  events?: EventSink;
  err: Writable & { isTTY?: boolean; columns?: number };
  /** aborting it stops taking new items; in-flight items finish, then everything is saved */
  stop?: AbortSignal;
  /** test-only fault injection (core/faults.ts; the CLI reads it from the environment) */
  faults?: Faults;
}

export interface RunOutcome {
  exitCode: number;
  summary: SummaryEvent;
  /** why the run stopped early, as the summary says it (null: it ran to the end) */
  stopped: string | null;
  reason: StopReason | null;
}

export async function runPipeline(o: RunOptions): Promise<RunOutcome> {
  const cfg = o.config;
  const say = (msg: string) => void o.err.write(msg + '\n');
  for (const root of cfg.walk.roots) {
    if (!fs.existsSync(root)) throw new SluiceError('SLUICE_E_USAGE', `input not found: ${defaultDisplay(root)}`, { item: root });
  }
  // too few file descriptors would fail items half-way through: say what is needed now
  checkFdLimit(o.concurrency);
  // a processor that cannot load is one error before anything is recorded, not a failure per item
  // (with only built-ins nothing to wait for: the workers start before this function first yields)
  const checking = checkProcessors(cfg.chain);
  if (checking) await checking;
  const stateDir = stateDirFor(cfg, o.stateDir);
  checkReportPath(cfg, stateDir);
  checkStateDir(stateDir, stateDirLevels(o.stateDir), true);
  const lock = Lock.acquire(stateDir, say);
  try {
    removeDeadRunTemps(stateDir);
    return await runLocked(o, stateDir, say);
  } finally {
    lock.release();
  }
}

/** What runLocked prepared for runWith and finish. */
interface RunSetup {
  o: RunOptions;
  stateDir: string;
  say: (m: string) => void;
  reportPath: string;
  parts: ConfigParts;
  run: string;
  started: string;
  hash: string;
  prev: RunState | null;
  configChanged: boolean;
  ownFiles: Set<string>;
  walker: WalkerThread | null;
  /** counts the run's items ahead of the bounded walk (null: not worth it, see startCounter) */
  counter: CountAhead | null;
  chain: Chain;
  book: OutputsBook;
}

async function runLocked(o: RunOptions, stateDir: string, say: (m: string) => void): Promise<RunOutcome> {
  const cfg = o.config;
  const parts = configParts(cfg, o.version);
  const hash = configHash(cfg, o.version, parts);
  const prev = readRunState(stateDir);
  const configChanged = !!prev && prev.config_hash !== hash;
  let setAside: string | null = null;
  if (o.mode === 'fresh') {
    setAside = setAsideJournal(stateDir);
    if (setAside) say(`sluice: --fresh: previous journal kept as ${setAside}`);
    // every stage again too: the records of stages before the last go aside with it
    const stages = setAsideJournal(stateDir, STAGES_FILE);
    if (stages) say(`sluice: --fresh: previous stage records kept as ${stages}`);
  } else if (configChanged && !o.keepDone) {
    setAside = setAsideJournal(stateDir);
    const what = describeChange(prev!.config_parts, parts) ?? 'processor or options';
    // with several stages, what the unchanged stages before the change recorded is used again (stages.ndjson)
    const redo = isMultiStage(cfg.chain) ? 'redoing all items from the first stage changed (what the stages before it recorded is used again)' : 'redoing all items';
    say(`sluice: ${what} changed since the last run (config ${prev!.config_hash} -> ${hash}): ${redo}${setAside ? `; previous journal kept as ${setAside}` : ''} (--keep-done keeps them)`);
  }
  const ownFiles = ownFilesOf(cfg, stateDir);
  const recorded = journalBytes(stateDir);
  // where the journal's output names are relative to, and set-aside journals whose outputs may be stale
  const book = outputsBook(prev, { setAside, freshJournal: recorded === 0, outDir: cfg.outputDir });
  for (const line of book.notes) say(line);
  const walker = startWalker(cfg, ownFiles, recorded, !!o.stdin, o.faults);
  const counter = startCounter(walker, recorded, o.faults);
  // BullMQ and ioredis are loaded only for a queued run (a quarter of a second at every start otherwise)
  const queue = cfg.queue ? (await import('./queue.js')).queuePools(cfg.queue, hash, say) : null;
  const chain = new Chain(cfg.chain, { concurrency: o.concurrency, outDir: cfg.outputDir, outputEnospc: o.faults?.outputEnospc, pools: queue?.pools });
  // nothing recorded: every file found will run, so the workers start now, while the journal
  // opens and the walk begins (a resume starts them with its first item to do, if any)
  if (recorded === 0 && !o.stdin) chain.warm();
  try {
    return await runWith({
      o, stateDir, say, reportPath: reportPathOf(cfg, stateDir), parts, run: runId(), started: new Date().toISOString(),
      hash, prev, configChanged, ownFiles, walker, counter, chain, book,
    });
  } finally {
    counter?.close();
    await walker?.close();
    await chain.end(true);
    queue?.close();
  }
}

/** What the pipeline leaves for finish(). */
interface Ran {
  journal: Journal;
  stats: RunStats;
  stopper: Stopper;
  fatal: SluiceError | null;
  inputErrors: number;
  workersAtEnd: number;
  memoryKills: number;
  /** queued runs: items redelivered (null: a local run) */
  redelivered: number | null;
  events: EventSink;
  ticker: ProgressTicker;
  /** the stage records (pipelines of several stages), closed */
  stageStore: StageStore | null;
}

async function runWith(s: RunSetup): Promise<RunOutcome> {
  const { o, stateDir, say, walker, chain } = s;
  const cfg = o.config;
  // the item journal and the stage records: the same durability
  const durability = { fsync: cfg.checkpoint.fsync, batchItems: cfg.checkpoint.fsyncEvery, batchMs: cfg.checkpoint.fsyncIntervalMs, warn: say, faults: o.faults };
  const journal = await Journal.open(stateDir, durability);
  if (o.mode === 'retry-failed') journal.forgetFailed();
  // what the stages before the last did per item: a rerun starts an item after the last one recorded
  let stageStore: StageStore | null = null;
  if (chain.recordsStages) {
    try {
      stageStore = await StageStore.open(stateDir, durability);
    } catch (err) {
      await journal.close().catch(() => {});
      throw err;
    }
    chain.useStageStore(stageStore, stageFingerprints(cfg, o.version));
  }
  if (walker) handTable(walker, cfg, journal, o.faults);
  const events: EventSink = o.events ?? new NdjsonWriter(o.out!);
  const stats = new RunStats();
  stats.stages = chain.counts;
  chain.useCheckpoint((k) => journal.lookup(k), () => stats.skippedChildren++);
  const stopper = new Stopper();
  // --keep-order: results wait here for the ones admitted before them (window: what the pool holds, twice)
  const order = o.keepOrder ? new Reorder<ResultEvent>(2 * chain.itemCapacity, (ev) => events.write(ev)) : null;
  /** item `it` prints `ev`, or nothing (null): in order with --keep-order, else at once */
  // a child (fan-out) has no place of its own in --keep-order's line: it prints when done, before its parent
  const print = (it: Item, ev: ResultEvent | null): Promise<void> => (order && it.parent === undefined ? order.put(it.seq!, ev) : ev ? events.write(ev) : Promise.resolve());
  stopper.onStop((drop) => {
    order?.release();
    // items handed to the pool but not started yet are dropped too (not recorded: the next run does them)
    if (drop) chain.abortQueued();
  });
  events.onClosed(() => stopper.stop({ kind: 'pipe' }));
  let graceTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    stopper.stop(abortReason(o.stop!));
    // items in flight may finish within the grace period; then they are stopped, not recorded
    graceTimer = setTimeout(() => {
      const n = chain.abortAll();
      if (n) say(`sluice: grace period over: stopping ${n} item(s) still running; the next run does them`);
    }, o.graceMs ?? 10_000);
    graceTimer.unref();
  };
  if (o.stop?.aborted) onAbort();
  o.stop?.addEventListener('abort', onAbort, { once: true });

  const start: StartEvent = {
    v: 1, type: 'start', run: s.run, pipeline: cfg.name, processor: cfg.map.processor, concurrency: o.concurrency,
    config_hash: s.hash, state: defaultDisplay(stateDir), mode: o.mode, dedupe: cfg.dedupe?.key ?? 'none', already_done: cfg.dedupe ? journal.size : 0, config_changed: s.configChanged,
  };
  if (chain.counts) start.stages = cfg.chain.map((st) => ({ name: st.name, kind: st.kind, ...(st.kind === 'map' ? { processor: defaultDisplay(st.map.processor) } : {}) }));
  await events.write(start);
  // the total and the sizes to do, from the start (not when the bounded walk ends)
  s.counter?.start(!!cfg.dedupe && journal.size > 0, stopper.signal, (c) => { stats.counted = c; });
  writeRunState(stateDir, {
    pipeline: cfg.name, processor: cfg.map.processor, config_hash: s.hash, config_parts: s.parts, runs: (s.prev?.runs ?? 0) + 1,
    last: { run: s.run, started: s.started, ended: null, ok: 0, failed: 0, skipped: 0, exit_code: null }, ...bookFields(s.book),
  });

  // once stopping, items still queued in stream buffers are not started: they were never
  // journaled, so the next run picks them up; only the ones already in a worker finish
  const stages = chain.steps.map(({ step, stage }) => new ParallelMap<Item | ItemResult, ItemResult | null>(
    async (x, push) => {
      const r = 'item' in x ? x : stageStore ? await chain.resumeAt(x) : startOf(x);
      if (passesThrough(r)) return r;
      if (stage && stopper.dropQueued) {
        await dropped(r);
        // a child dropped here: its parent is not recorded either (released now if it was waiting)
        for (const p of released(r, false)) await dropped(p.r);
        return null;
      }
      return step(r, push);
    },
    // a filter reads at most the first bytes of a file: a few at once keep it off the critical path
    stage ? stage.itemCapacity : 16,
  ));
  const ticker = new ProgressTicker(o.progress, o.progressIntervalMs, events, o.err, () => ({ stats, inFlight: chain.busy, runningMs: chain.runningMs(), longest: chain.longestRunning() }), new Timeline(stateDir, s.run, s.started));

  // temp files of runs killed mid-write; other runs may share the output dir: theirs stay
  if (cfg.outputDir) for (const p of removeDeadTemps(cfg.outputDir).problems) say(`sluice: output temp files: ${p}`);

  let inputErrors = 0;
  const items = sourceItems({
    cfg, journal, stats, signal: stopper.signal, walker, stdin: o.stdin, ownFiles: s.ownFiles, say,
    onWarning: (w) => void events.write(warningEvent(w)),
    onInputError: (line, message) => {
      inputErrors++;
      void events.write({ v: 1, type: 'error', code: 'SLUICE_E_INPUT', line, message });
    },
  });
  const source = Readable.from(items, { objectMode: true, highWaterMark: 16 });
  // the total is known once the source ends on its own (not when the walk was stopped)
  source.once('end', () => {
    if (!stopper.signal.aborted) stats.walking = false;
  });
  // content keys read the file: that stays an asynchronous stage
  const contentDedupe = walksInThread(cfg) ? null : new Dedupe({ isDone: (k) => journal.lookup(k) }, 'content', () => stats.skipped++, parseDuration(cfg.map.timeout)!);
  const limiter = admission(o, stopper, order, print);
  // test hook: the result stream breaks with an unexpected error after this many results
  const breakAfter = o.faults?.sinkBreakAfter ?? 0;
  const dropped = (r: ItemResult | null) => (r ? print(r.item, null) : undefined);
  // fan-in: a parent waits for its children, recorded after them (stages/chain.ts FanIn)
  const released = (r: ItemResult, recorded: boolean): { r: ItemResult; record: boolean }[] => {
    const rel = chain.fanIn.settle(r, recorded);
    return rel ? [{ r: rel.parent, record: !rel.drop }] : [];
  };
  let fatal: SluiceError | null = null;
  const sink = new RecordSink(journal, {
    keep(r) {
      const keep = keepByDefault(r);
      if (typeof keep === 'object') {
        // not the item's fault and not recorded: the next run, with space, descriptors or a working processor, does it
        fatal ??= keep.error;
        stopper.stop(keep);
        return false;
      }
      if (!keep) return false;
      // once the run stops for a fault of its own (out of descriptors, a full disk), a failure a
      // retry could fix (a worker that died meanwhile) is the run's too: not recorded, the next run does it
      if (fatal && r.status === 'failed' && r.error?.retryable) return false;
      // --max-failures N records N failures: one that comes back after (from a batch that was
      // already running) is left unrecorded for the next run, like an item stopped at a signal
      if (r.status === 'failed' && o.maxFailures !== undefined && stats.failed >= o.maxFailures) return false;
      if (breakAfter && stats.processed >= breakAfter) return new Error('fault injected by SLUICE_FAULT_SINK_BREAK_AFTER');
      stats.add(r);
      if (o.maxFailures !== undefined && stats.failed >= o.maxFailures) stopper.stop({ kind: 'max-failures', limit: o.maxFailures });
      return true;
    },
    // an item a filter dropped is recorded (a rerun does not decide it again), not printed
    recorded: (r, ev) => {
      if (r.item.key) chain.recorded(r.item.key);
      return print(r.item, r.status === 'filtered' ? null : ev);
    },
    dropped,
    arrive: (r) => chain.fanIn.arrive(r),
    after: released,
  });

  let workersAtEnd = 0;
  let memoryKills = 0;
  let redelivered: number | null = null;
  try {
    await pipeline([source, ...(contentDedupe ? [contentDedupe] : []), limiter, ...stages, sink]);
  } catch (err) {
    fatal = err instanceof SluiceError ? err : new SluiceError('SLUICE_E_FATAL', (err as Error).message, { cause: err });
  } finally {
    // results held for an item that never finished (dropped at a stop) go out now, in order
    await order?.flush();
    ticker.stop();
    o.stop?.removeEventListener('abort', onAbort);
    if (graceTimer) clearTimeout(graceTimer);
    stats.peakChildrenInFlight = chain.fanIn.peakInFlight;
    // parents still waiting: a child of each was dropped at a stop (not recorded: the next run does them)
    for (const p of chain.fanIn.leftOver()) await print(p.item, null);
    workersAtEnd = chain.threads;
    memoryKills = chain.memoryKills;
    redelivered = chain.redelivered;
    const modules = cfg.chain.flatMap((st) => (st.kind === 'map' && !isBuiltin(st.map.processor) ? [defaultDisplay(st.map.processor)] : []));
    for (const m of await chain.end()) say(`sluice: processor ${modules.join(', ')}: ${m}`);
    await stageStore?.close().catch((err: unknown) => { fatal ??= err as SluiceError; });
    await journal.close().catch((err: unknown) => { fatal ??= err as SluiceError; });
  }
  return finish(s, { journal, stats, stopper, fatal, inputErrors, workersAtEnd, memoryKills, redelivered, events, ticker, stageStore });
}

/** --max-items and the stop: what passes from the source to the map (and, with --keep-order, its place in line). */
function admission(o: RunOptions, stopper: Stopper, order: Reorder<ResultEvent> | null, print: (it: Item, ev: null) => Promise<void>): Transform {
  let admitted = 0;
  return new Transform({
    objectMode: true,
    highWaterMark: 16,
    transform(item: Item, _e, cb: TransformCallback) {
      if (o.maxItems !== undefined && admitted >= o.maxItems) {
        stopper.stop({ kind: 'max-items', limit: o.maxItems });
        return cb();
      }
      if (stopper.signal.aborted) return cb();
      admitted++;
      if (!order) return cb(null, item);
      void order.admit().then((seq) => {
        item.seq = seq;
        if (!stopper.signal.aborted) return cb(null, item);
        void print(item, null);
        cb();
      });
    },
  });
}

/** After the pipeline: compaction, vanished inputs and stale outputs, the exit status, report, run state and summary. */
async function finish(s: RunSetup, r: Ran): Promise<RunOutcome> {
  const { o, stateDir, say, walker, book } = s;
  const cfg = o.config;
  const { journal, stats, stopper, fatal, inputErrors, events } = r;
  if (!fatal) {
    try {
      // a signal now stops the compaction (the journal stays as it was) and the run exits as stopped
      const c = await journal.compactIfWorthIt(o.stop);
      if (c) say(`sluice: journal compacted: ${c.before} lines -> ${c.after}`);
    } catch (err) {
      say(`sluice: journal not compacted (kept as it was): ${(err as Error).message}`);
    }
    // a stage changed: the records of its old options (and after) are never matched again
    if (r.stageStore && s.configChanged) {
      try {
        const c = await r.stageStore.compact((e) => s.chain.isLiveRecord(e), o.stop);
        if (c) say(`sluice: stage records compacted: ${c.before} -> ${c.after} (${c.files} output file(s) removed)`);
      } catch (err) {
        say(`sluice: stage records not compacted (kept as they were): ${(err as Error).message}`);
      }
    }
  }
  // the stop listener is gone once the pipeline ends: a signal after that is seen here
  stopper.late(o.stop);
  // vanished inputs need a walk that ran to the end; the walker thread marked what it found
  if (walker?.seen && walker.table) journal.markSeen(walker.table, walker.seen);
  stopper.late(o.stop);
  const reason = stopper.reason;
  const why = reason ? stopText(reason) : null;
  const walkedAll = !!cfg.dedupe && !o.stdin && !reason && !fatal;
  const vanished = walkedAll ? await journal.vanished(20) : null;
  // outputs of inputs that now fail or are gone, by the same rule (removed with --prune-outputs)
  const checked = walkedAll ? await staleOutputs({ journal, stateDir, book, prune: !!o.pruneOutputs, limit: 20, display: defaultDisplay, say }) : null;
  // the job: what the checkpoint holds failed now, this run's failures and those carried from before
  const jobFailed = journal.failedNow(walkedAll);
  const carried = Math.max(0, jobFailed - stats.failed);
  const exitCode = exitCodeOf(reason, fatal, !!(stats.failed || inputErrors || (carried && !o.runStatus)));

  const ended = new Date().toISOString();
  const report = buildReport(stats, {
    run: s.run, state: defaultDisplay(stateDir), pipeline: cfg.name, processor: cfg.map.processor, config_hash: s.hash, started: s.started, ended,
    interrupted: reason !== null && interrupts(reason), stopped: why, exit_code: exitCode, vanished, stale_outputs: checked?.stale ?? null,
    workers: { concurrency: o.concurrency, alive_at_end: r.workersAtEnd, stopped_for_memory: r.memoryKills, ...(r.redelivered !== null ? { redelivered: r.redelivered } : {}) },
    input_errors: inputErrors,
    job: { failed: jobFailed, carried_failed: carried, failures: carried ? await checkpointFailures(journal.file) : [] },
  });
  // said after the reason the run stopped (a full disk under the state dir fails these too)
  const after: string[] = [];
  try {
    writeRunState(stateDir, {
      pipeline: cfg.name, processor: cfg.map.processor, config_hash: s.hash, config_parts: s.parts, runs: (s.prev?.runs ?? 0) + 1,
      last: { run: s.run, started: s.started, ended, ok: stats.ok, failed: stats.failed, skipped: stats.skipped, exit_code: exitCode }, ...bookFields(book, checked?.pending),
    });
  } catch (err) {
    // e.g. the disk that filled under the journal: the journal is what resume needs
    after.push(`sluice: cannot write the run state ${path.join(stateDir, RUN_FILE)} (the previous one is kept): ${(err as Error).message}`);
  }

  await r.ticker.final(stats);
  const summary: SummaryEvent = {
    v: 1, type: 'summary', total: stats.total, ok: stats.ok, failed: stats.failed, skipped: stats.skipped,
    elapsed_s: Number(stats.elapsedS().toFixed(3)), rate: Number(stats.rate().toFixed(1)),
    report: defaultDisplay(s.reportPath), exit_code: exitCode,
  };
  if (why) summary.stopped = why;
  if (stats.stages) {
    summary.filtered = stats.filtered;
    summary.stages = stats.stages.map((c) => c.toJSON());
  }
  if (stats.hasChildren) summary.children = stats.childFigures();
  if (fatal) summary.error = { code: fatal.code, message: fatal.message };
  if (inputErrors) summary.input_errors = inputErrors;
  if (carried) summary.carried_failed = carried;
  if (r.redelivered !== null) summary.redelivered = r.redelivered;
  if (vanished?.count) {
    summary.vanished = vanished.count;
    summary.vanished_paths = vanished.examples;
  }
  if (checked?.stale.count) {
    summary.stale_outputs = checked.stale.count;
    summary.stale_output_paths = checked.stale.examples;
    if (o.pruneOutputs) summary.pruned_outputs = checked.stale.pruned;
  }
  const timelineProblem = r.ticker.end(summary);
  if (timelineProblem) after.push(`sluice: ${timelineProblem}`);
  // once the timeline has its last sample and the summary: the HTML report draws it
  try {
    writeReport(s.reportPath, cfg.report.formats, report, () => reportHtml({
      ...report, durations: [...stats.durations], version: o.version, ended_cleanly: true, command: commandLine(),
      timeline: samplesOf(readTimeline(stateDir) ?? []),
    }));
  } catch (err) {
    after.push(`sluice: cannot write report ${s.reportPath}: ${(err as Error).message}`);
  }
  await events.write(summary);
  if (fatal) say(`sluice: ${fatal.message}`);
  for (const line of after) say(line);
  if (!fatal) for (const line of staleNotes(checked?.stale ?? null, !!o.pruneOutputs, why)) say(line);
  if (carried && !fatal) {
    say(`sluice: ${carried} item(s) failed in earlier runs are still failed${o.runStatus ? '' : ' (exit 1)'}: \`sluice results --status failed\` lists them, --retry-failed runs them again`);
  }
  return { exitCode, summary, stopped: why, reason };
}
