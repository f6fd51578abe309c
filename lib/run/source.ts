import type { Faults } from '../core/faults.js';
import type { Item } from '../core/item.js';
import { defaultDisplay } from '../core/fsx.js';
import type { Journal } from '../checkpoint/journal.js';
import { keyOfWords, metaWords } from '../checkpoint/keys.js';
import { walk, type WalkWarning } from '../stages/walk/walk.js';
import { WalkerThread } from '../stages/walk/thread.js';
import { CountAhead } from './count-ahead.js';
import { stdinItems, type StdinFormat } from '../stages/stdin.js';
import type { RunStats } from './report.js';
import type { PipelineConfig } from './config.js';

// Where a run's items come from: paths on stdin, the walker thread (the default key: walk, key
// and dedupe off the main thread), or the walk in this thread (content keys, which read files and
// stay a stream stage). The choice and the wiring of each are here.

export interface StdinSource { input: AsyncIterable<Buffer | string>; format: StdinFormat; strict: boolean }

/**
 * A journal this big (~50k items) makes the walk worth a helper thread: a resume stats, keys and
 * looks up every file before the first new one; a fresh run is bound by its processor instead.
 */
const HELPER_MIN_JOURNAL = 8 << 20;

/** The default key walks, keys and dedupes in a thread of its own; content keys read files in the stream. */
export function walksInThread(cfg: PipelineConfig): boolean {
  return cfg.dedupe?.key !== 'content';
}

/**
 * The walker thread, started before the journal loads so that the walk gets going meanwhile
 * (null: stdin, or content keys). `recordedBytes`: the journal's size, which decides the helper.
 */
export function startWalker(cfg: PipelineConfig, ownFiles: Set<string>, recordedBytes: number, stdin: boolean, faults: Faults = {}): WalkerThread | null {
  if (stdin || !walksInThread(cfg)) return null;
  const helperMin = faults.walkHelperMinBytes ?? HELPER_MIN_JOURNAL;
  return new WalkerThread({ opts: cfg.walk, skip: [...ownFiles], dedupe: !!cfg.dedupe, helper: recordedBytes >= helperMin });
}

/**
 * The count ahead (count-ahead.ts), not yet started, when it is worth its walk: the bounded walk
 * runs in its thread (not stdin, not content keys, whose keys read every byte), and the journal
 * is small. A journal big enough for the walk's helper means a resume that mostly skips: its own
 * walk runs unbounded through the done files, and a second one would double that work.
 */
export function startCounter(walker: WalkerThread | null, recordedBytes: number, faults: Faults = {}): CountAhead | null {
  if (!walker || recordedBytes >= (faults.walkHelperMinBytes ?? HELPER_MIN_JOURNAL)) return null;
  return new CountAhead(walker);
}

/** Give the walker the checkpoint's table (its first lookup waits for it). */
export function handTable(walker: WalkerThread, cfg: PipelineConfig, journal: Journal, faults: Faults = {}): void {
  // test hook: hand the table over late, so that the walk has to hold files meanwhile
  const late = faults.tableDelayMs ?? 0;
  const hand = () => walker.setTable(cfg.dedupe ? journal.snapshot() : null);
  if (late > 0) setTimeout(hand, late).unref();
  else hand();
}

interface SourceOptions {
  cfg: PipelineConfig;
  journal: Journal;
  stats: RunStats;
  signal: AbortSignal;
  walker: WalkerThread | null;
  stdin?: StdinSource;
  ownFiles: Set<string>;
  onWarning: (w: WalkWarning) => void;
  /** a stdin line that names no item */
  onInputError: (line: number, message: string) => void;
  say: (line: string) => void;
}

/** The items to run, counted in `stats` (found, and skipped as done) as they are read. */
export function sourceItems(s: SourceOptions): AsyncIterable<Item> {
  const { cfg, journal, stats } = s;
  const fused = walksInThread(cfg);
  // stdin and the in-thread walk: counting and (with the default key) dedupe happen as names are read, synchronously
  const admit = (rel: string, size: number, mtimeMs: number): string | boolean => {
    stats.found++;
    if (!fused) return true;
    const words = metaWords({ rel, size, mtime_ms: mtimeMs });
    if (cfg.dedupe && journal.lookupMetaWords(words)) {
      stats.skipped++;
      return false;
    }
    return keyOfWords(words); // the key, hashed once
  };
  if (s.stdin) {
    return stdinItems(s.stdin.input, { format: s.stdin.format, strict: s.stdin.strict }, {
      signal: s.signal,
      admit,
      onProblem: (p) => s.onInputError(p.line, `stdin line ${p.line}: ${p.message}`),
      onNote: (message) => s.say(`sluice: ${message}`),
    });
  }
  if (s.walker) {
    return s.walker.items({
      signal: s.signal,
      onCounts: (found, skipped) => { stats.found = found; stats.skipped = skipped; },
      onWarning: s.onWarning,
    });
  }
  return walk(cfg.walk, { signal: s.signal, skip: s.ownFiles, onWarning: s.onWarning, admit });
}

/** A walk warning as the event printed for it. */
export function warningEvent(w: WalkWarning) {
  return { v: 1 as const, type: 'warning' as const, code: w.code, path: defaultDisplay(w.path), message: w.message };
}
