import path from 'node:path';
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { SluiceError, toErrorInfo } from '../core/errors.js';
import type { Item } from '../core/item.js';
import { check, formatPath } from '../core/schema-util.js';
import { Journal, type JournalOptions } from '../checkpoint/journal.js';
import { Lock } from '../checkpoint/lock.js';
import { checkStateDir, removeDeadRunTemps } from '../checkpoint/state.js';
import { walkOptions } from '../stages/walk/spec.js';
import { WalkerThread } from '../stages/walk/thread.js';
import type { WalkWarning } from '../stages/walk/walk.js';
import { Dedupe } from '../stages/dedupe.js';
import { defaultConcurrency, MapStage, mapOptions, ParallelMap, type ItemResult } from '../stages/map.js';
import { buildReport, RunStats, writeReport } from './report.js';
import { reportHtml } from './html-report.js';
import { VERSION } from '../core/version.js';
import { commandLine } from '../core/shell.js';
import type { ReportFormat } from '../checkpoint/files.js';
import { BUILTIN_PROCESSORS, isBuiltin, resolveProcessor } from '../processors/index.js';
import { checkProcessor } from '../worker/check.js';
import { RecordSink, type RecordHooks } from './record.js';
import { runId } from '../core/events.js';

// The stages as object-mode streams for a program to compose (stream.pipeline, async iteration,
// highland): checkpoint → walk → [dedupe] → map → report → journal sink. Each is the stage a
// run uses (the walker thread with its checkpoint lookup, the worker pool, the journal's record
// rule), so composed by hand they resume and survive a crash as `sluice run` does.

function invalid(what: string, issues: { path: (string | number)[]; message: string }[]): SluiceError {
  return new SluiceError('SLUICE_E_CONFIG', `invalid ${what}:\n${issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join('\n')}`);
}

export interface Checkpoint {
  readonly stateDir: string;
  readonly journal: Journal;
  /** release the lock after closing the journal (fsync); call once the sink has finished */
  close(): Promise<void>;
}

/**
 * A state dir, locked, with its journal open (created if missing): what the walk looks keys up
 * in and the journal sink records to. Refuses a state dir that is not sluice's own, or locked by
 * a live run (SLUICE_E_LOCKED).
 */
export async function openCheckpoint(stateDir: string, options: Partial<Pick<JournalOptions, 'fsync' | 'batchItems' | 'batchMs' | 'faults'>> & { warn?: (line: string) => void } = {}): Promise<Checkpoint> {
  const dir = path.resolve(stateDir);
  checkStateDir(dir, 1, true);
  const warn = options.warn ?? ((line: string) => void process.stderr.write(line + '\n'));
  const lock = Lock.acquire(dir, warn);
  try {
    removeDeadRunTemps(dir);
    const journal = await Journal.open(dir, { fsync: options.fsync ?? 'batch', batchItems: options.batchItems ?? 256, batchMs: options.batchMs ?? 1000, warn, faults: options.faults });
    let closed: Promise<void> | undefined;
    return {
      stateDir: dir, journal,
      close: () => (closed ??= journal.close().finally(() => lock.release())),
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

export interface WalkStageOptions {
  /** files or directories (relative to the cwd) */
  roots: string[];
  include?: string[];
  exclude?: string[];
  follow_symlinks?: boolean | 'inside';
  /** drop the items this checkpoint has done (looked up in the walker thread: the fast path) */
  checkpoint?: Checkpoint;
  /** paths never taken as inputs (the state dir under a root is skipped by itself) */
  skip?: string[];
  onWarning?: (w: WalkWarning) => void;
  /** running totals: files found, and files dropped as done */
  onCounts?: (found: number, skipped: number) => void;
}

/**
 * The walk as a Readable of items, each with its key (path+size+mtime), walked in a thread of
 * its own; with a checkpoint, items it has done are dropped there. Bounded: at most a few
 * batches cross the thread (stages/walk/protocol.ts). destroy() stops the thread.
 */
export function walk(options: WalkStageOptions): Readable {
  const { checkpoint, skip, onWarning, onCounts, ...raw } = options;
  const r = check(walkOptions, raw);
  if (!r.ok) throw invalid('walk options', r.issues);
  const opts = { ...r.value, roots: r.value.roots.map((p) => path.resolve(p)) };
  const skipped = [...(skip ?? []).map((p) => path.resolve(p)), ...(checkpoint ? [checkpoint.stateDir] : [])];
  const walker = new WalkerThread({ opts, skip: skipped, dedupe: !!checkpoint, helper: false });
  walker.setTable(checkpoint ? checkpoint.journal.snapshot() : null);
  const stop = new AbortController();
  const source = Readable.from(walker.items({ signal: stop.signal, onWarning, onCounts }), { objectMode: true, highWaterMark: 16 });
  source.once('close', () => {
    stop.abort();
    void walker.close();
  });
  return source;
}

/** Key items and drop those the checkpoint has done: 'content' keys (sha256 of the bytes) need this stage; the walk already keys by path+size+mtime. */
export function dedupe(options: { checkpoint: Checkpoint; key?: 'path+size+mtime' | 'content'; timeoutMs?: number; onSkip?: (item: Item) => void }): Transform {
  const key = options.key ?? 'path+size+mtime';
  if (key !== 'path+size+mtime' && key !== 'content') {
    throw invalid('dedupe options', [{ path: ['key'], message: `expected "path+size+mtime" or "content", got ${JSON.stringify(key)} (without dedupe, leave the stage out)` }]);
  }
  const journal = options.checkpoint.journal;
  return new Dedupe({ isDone: (k) => journal.lookup(k) }, key, options.onSkip, options.timeoutMs ?? 60_000);
}

export interface MapStageOptions {
  /** a built-in name (sha256, pdf-text, ...) or a module path (relative to the cwd) */
  processor: string;
  options?: Record<string, unknown>;
  concurrency?: number;
  timeout?: string | number;
  retries?: { max?: number; on?: ('timeout' | 'worker_crash' | 'io')[] };
  max_memory_mb?: number;
  max_rss_mb?: number;
  quarantine_after?: number;
  /** where ctx.writeOutput writes (null: outputs inline) */
  outDir?: string | null;
}

/**
 * Items in, results out (ItemResult: status, output or error with its code), through a pool of
 * worker threads: the same isolation, timeouts, retries and memory caps as a run. At most
 * 64 × `concurrency` items are in flight (fast items go to the workers in batches), plus 16 in
 * each of the stream's buffers. The
 * processor (and a defineProcessor module's options) is checked before the first item. The pool
 * closes when the stream ends or is destroyed (a processor module's teardown runs at the end).
 */
export function map(options: MapStageOptions): Transform {
  const { outDir, ...raw } = options;
  const r = check(mapOptions, raw, ['map']);
  if (!r.ok) throw invalid('map options', r.issues);
  const m = r.value;
  const processor = resolveProcessor(m.processor, process.cwd());
  if (isBuiltin(processor)) {
    const o = check(BUILTIN_PROCESSORS[processor]!.spec.options, m.options, ['map', 'options']);
    if (!o.ok) throw invalid(`options for processor ${processor}`, o.issues);
    m.options = o.value as Record<string, unknown>;
  }
  const mapStage = new MapStage({ map: m, processor, concurrency: m.concurrency ?? defaultConcurrency(), outDir: outDir ? path.resolve(outDir) : null });
  const checked = checkProcessor(processor, m.options);
  checked?.catch(() => {});
  const stage = new ParallelMap<Item, ItemResult>(async (item) => {
    await checked;
    return mapStage.process(item);
  }, mapStage.itemCapacity);
  // destroyed before its end: nothing more starts, and the workers are stopped
  const close = (cut: boolean) => void mapStage.end(cut);
  stage.once('end', () => close(false));
  stage.once('close', () => close(stage.destroyed && !stage.readableEnded));
  return stage;
}

/** The journal sink: each result recorded (then `recorded` called), by the rule a run follows (record.ts keepByDefault). */
export function journalSink(checkpoint: Checkpoint, hooks: Omit<RecordHooks, 'keep'> = {}): Writable {
  return new RecordSink(checkpoint.journal, hooks);
}

export interface ReportStageOptions {
  /** report.json's path; formats 'md' and 'html' add report.md and report.html beside it */
  path: string;
  formats?: ReportFormat[];
  /** names in the report */
  pipeline?: string;
  processor?: string;
}

/** Results pass through unchanged and are counted; when they end, the report is written (atomically). */
export function report(options: ReportStageOptions): Transform {
  const stats = new RunStats();
  stats.walking = false;
  const run = runId();
  const started = new Date().toISOString();
  return new Transform({
    objectMode: true,
    highWaterMark: 16,
    transform(r: ItemResult, _e, cb: TransformCallback) {
      stats.found++;
      stats.add(r);
      cb(null, r);
    },
    flush(cb: TransformCallback) {
      try {
        const failed = stats.failed;
        const r = buildReport(stats, {
          run, pipeline: options.pipeline ?? 'composed', processor: options.processor ?? 'composed', config_hash: '', started, ended: new Date().toISOString(),
          interrupted: false, stopped: null, exit_code: failed ? 1 : 0, vanished: null, stale_outputs: null,
          workers: { concurrency: 0, alive_at_end: 0, stopped_for_memory: 0 }, input_errors: 0,
          job: { failed, carried_failed: 0, failures: [] },
        });
        // no timeline here: a composed pipeline has no state dir to sample into
        writeReport(path.resolve(options.path), options.formats ?? ['json'], r, () => reportHtml({ ...r, durations: [...stats.durations], timeline: [], ended_cleanly: true, version: VERSION, command: commandLine() }));
        cb();
      } catch (err) {
        const info = toErrorInfo(err);
        const code = info.code === 'SLUICE_E_DISK_FULL' || info.code === 'SLUICE_E_STATE' ? info.code : 'SLUICE_E_IO';
        cb(new SluiceError(code, `cannot write the report ${options.path}: ${info.message}`, { cause: err }));
      }
    },
  });
}
