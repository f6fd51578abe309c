import path from 'node:path';
import { latestLines } from '../checkpoint/journal.js';
import { KeySet } from '../checkpoint/keyset.js';
import { metaKey } from '../checkpoint/keys.js';
import { readRunState, type RunState } from '../checkpoint/state.js';
import type { PipelineConfig } from './config.js';
import { journalPath, ownFilesOf, runningNow } from './state-dir.js';
import { walk } from '../stages/walk/walk.js';
import { defaultDisplay } from '../core/fsx.js';

export interface Status {
  v: 1;
  type: 'status';
  state: string;
  pipeline: string | null;
  config_hash: string | null;
  runs: number;
  running: { pid: number; host: string; started: string } | null;
  done: number;
  ok: number;
  failed: number;
  /** items the walk finds that are not done; null when not counted (no pipeline file, or content keys) */
  pending: number | null;
  found: number | null;
  journal_lines: number;
  /** journal lines that could not be read (skipped: a NUL-filled block after a power cut, ...) */
  unreadable_lines: number;
  last_run: RunState['last'];
  top_errors: { code: string; count: number }[];
}

/** Everything `sluice status` says, from the checkpoint alone (read-only, no lock taken). */
export async function readStatus(dir: string, config: PipelineConfig | null): Promise<Status> {
  const run = readRunState(dir);
  const done = new KeySet();
  let ok = 0;
  let failed = 0;
  const read = { lines: 0, unreadable: 0 };
  const codes = new Map<string, number>();
  // one pass, backwards; only failed entries are parsed whole (for their error code)
  for await (const latest of latestLines(journalPath(dir), read)) {
    done.set(latest.key, 1);
    if (latest.status === 'ok') ok++;
    else {
      failed++;
      const c = latest.entry?.error?.code ?? 'unknown';
      codes.set(c, (codes.get(c) ?? 0) + 1);
    }
  }
  const lines = read.lines;
  let pending: number | null = null;
  let found: number | null = null;
  // the walk is cheap with the default key (names and stat only); content keys would read every byte
  if (config && (config.dedupe?.key ?? 'path+size+mtime') === 'path+size+mtime') {
    pending = 0;
    found = 0;
    // the run's own files are never inputs (the rule run and plan follow)
    for await (const item of walk(config.walk, { skip: ownFilesOf(config, path.resolve(dir)) })) {
      found++;
      if (!config.dedupe || !done.has(metaKey(item))) pending++;
    }
  }
  return {
    v: 1, type: 'status', state: defaultDisplay(dir), pipeline: run?.pipeline ?? config?.name ?? null, config_hash: run?.config_hash ?? null,
    runs: run?.runs ?? 0, running: runningNow(dir), done: ok + failed, ok, failed, pending, found, journal_lines: lines, unreadable_lines: read.unreadable,
    last_run: run?.last ?? null,
    top_errors: [...codes].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([code, count]) => ({ code, count })),
  };
}


