import fs from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../stages/report.js';
import type { ConfigParts } from '../core/config.js';

export interface RunRecord {
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

export function readRunState(stateDir: string): RunState | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'run.json'), 'utf8')) as RunState;
  } catch {
    return null;
  }
}

export function writeRunState(stateDir: string, s: RunState): void {
  writeAtomic(path.join(stateDir, 'run.json'), JSON.stringify(s, null, 2) + '\n');
}

/** Keep the old journal as a backup and start an empty one (--fresh, or a changed config). */
export function setAsideJournal(stateDir: string): string | null {
  const file = path.join(stateDir, 'journal.ndjson');
  if (!fs.existsSync(file)) return null;
  const backup = path.join(stateDir, `journal.${new Date().toISOString().replace(/[:.]/g, '-')}.bak.ndjson`);
  fs.renameSync(file, backup);
  return backup;
}
