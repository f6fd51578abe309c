import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { removeKeySnapshot } from './key-snapshot.js';
import { isUnsafePath, ownDir, readOwnFileSync, removeStaleTemps, writeAtomic } from '../core/safe-fs.js';
import { JOURNAL_FILE, JOURNAL_KEYS_FILE, LEGACY_COMPACT_TMP, reportFormatPaths, PROGRESS_FILE, RUN_FILE, STATE_REPORT_FILE } from './files.js';

/**
 * The state dir and run.json. The state dir is sluice's own: a real directory (not a link to one)
 * owned by the user running sluice, and so is the checkpoint dir holding it (`.sluice`) when the
 * state dir is the default `<checkpoint.dir>/<name>`; anything else is refused with
 * SLUICE_E_STATE (exit 3) before a byte is written. Every file in it is opened through
 * lib/core/safe-fs.
 */


/** What decides an item's result, part by part (run.json keeps them, to name what changed). */
export interface ConfigParts {
  /** `builtin:<name>@<sluice version>`, or `file:<sha256 of the module>` */
  proc: string;
  /** sha256 of the processor options, keys sorted (16 hex digits) */
  options: string;
  key: string | null;
  /** outputs go to files (an output dir is set) rather than inline in the result */
  out: boolean;
  /** pipelines of several stages: sha256 of every stage's kind, processor and options, in order (16 hex digits) */
  chain?: string;
}

interface RunRecord {
  run: string;
  started: string;
  ended: string | null;
  ok: number;
  failed: number;
  skipped: number;
  exit_code: number | null;
}

/** run.json: what the journal's entries were produced with, and the runs so far. */
export interface RunState {
  pipeline: string;
  processor: string;
  config_hash: string;
  /** the fingerprint's parts (names what changed); absent in run.json written before sluice kept them */
  config_parts?: ConfigParts;
  runs: number;
  last: RunRecord | null;
  /** the output dir the journal's recorded output names are relative to; 'mixed' when runs of this journal wrote to more than one */
  outputs_dir?: string | null;
  /** journals set aside (--fresh, a changed config) whose outputs may still be stale, with the output dir they were written to */
  set_aside_outputs?: SetAsideOutputs[];
}

/** A journal set aside (its file name in the state dir) and the output dir its recorded output names are relative to. */
export interface SetAsideOutputs { journal: string; dir: string }

/** A refusal by safe-fs, or an error of the system, as the state error it is (exit 3). */
export function stateError(what: string, err: unknown): SluiceError {
  if (err instanceof SluiceError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new SluiceError('SLUICE_E_DISK_FULL', `cannot write ${what}: ${(err as Error).message}`, { cause: err });
  if (isUnsafePath(err)) return new SluiceError('SLUICE_E_STATE', `refusing ${what}: ${err.message}`, { cause: err });
  return new SluiceError('SLUICE_E_STATE', `cannot use ${what}: ${(err as Error).message}`, { cause: err });
}

/**
 * Check the state dir `dir`, creating it when `create` is set. `own` is how many of its last path
 * components are sluice's (2 for `<checkpoint.dir>/<name>`, 1 for a dir given with --state): each
 * is created one level at a time and must be a real directory of this user's; the part above is
 * the user's own path and is created as usual. Returns false when it does not exist (and `create`
 * is not set).
 */
export function checkStateDir(dir: string, own: 1 | 2, create: boolean): boolean {
  const levels = own === 2 ? [path.dirname(dir), dir] : [dir];
  try {
    if (create) fs.mkdirSync(path.dirname(levels[0]!), { recursive: true });
    for (const d of levels) {
      if (!ownDir(d, create)) return false;
    }
    return true;
  } catch (err) {
    if (isUnsafePath(err)) {
      throw new SluiceError('SLUICE_E_STATE', `refusing the state dir: ${err.message}. A folder can plant a link or a dir of someone else's to make sluice write elsewhere; remove it, or give a directory of your own with --state`, { cause: err });
    }
    throw new SluiceError('SLUICE_E_STATE', `cannot create state dir ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * What a killed run left in the state dir: temp files of run.json and report writes, and the
 * compaction temp file (as large as the journal). Call only while holding the state dir's lock:
 * then no other run writes there, so every temp file in it is a dead run's.
 */
export function removeDeadRunTemps(stateDir: string): string[] {
  return removeStaleTemps(stateDir, [JOURNAL_FILE, JOURNAL_KEYS_FILE, RUN_FILE, PROGRESS_FILE, ...reportFormatPaths(STATE_REPORT_FILE)], [LEGACY_COMPACT_TMP]);
}


export function readRunState(stateDir: string): RunState | null {
  const file = path.join(stateDir, RUN_FILE);
  let text: string | null;
  try {
    text = readOwnFileSync(file);
  } catch (err) {
    throw stateError('the run state', err);
  }
  if (text === null) return null;
  try {
    return JSON.parse(text) as RunState;
  } catch {
    return null;
  }
}

export function writeRunState(stateDir: string, s: RunState): void {
  try {
    writeAtomic(path.join(stateDir, RUN_FILE), JSON.stringify(s, null, 2) + '\n');
  } catch (err) {
    throw stateError('the run state', err);
  }
}

/** Keep the old journal as a backup and start an empty one (--fresh, or a changed config). */
export function setAsideJournal(stateDir: string, name = JOURNAL_FILE): string | null {
  const file = path.join(stateDir, name);
  // the item journal's key snapshot stands for the journal set aside (or for none)
  if (name === JOURNAL_FILE) removeKeySnapshot(path.join(stateDir, JOURNAL_KEYS_FILE));
  try {
    fs.lstatSync(file); // a rename moves a link or a FIFO as it is, never what it points at
  } catch {
    return null;
  }
  const backup = path.join(stateDir, `${name.replace(/\.ndjson$/, '')}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak.ndjson`);
  fs.renameSync(file, backup);
  return backup;
}
