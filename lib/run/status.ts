import path from 'node:path';
import { Journal } from '../checkpoint/journal.js';
import { readRunState, type RunState } from '../checkpoint/state.js';
import type { PipelineConfig } from './config.js';
import { runningNow } from './state-dir.js';
import { countWalk } from './plan.js';
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
  // the latest status of each key, as a run loads it (from the key snapshot and the lines after it)
  const journal = await Journal.read(dir);
  const { ok, failed } = journal.counts();
  // the error codes of the items failed now, from their latest lines
  const codes = new Map<string, number>();
  for await (const latest of journal.latestFailed()) {
    const c = latest.entry?.error?.code ?? 'unknown';
    codes.set(c, (codes.get(c) ?? 0) + 1);
  }
  let pending: number | null = null;
  let found: number | null = null;
  // the walk is cheap with the default key (names and stat only); content keys would read every byte
  if (config && (config.dedupe?.key ?? 'path+size+mtime') === 'path+size+mtime') {
    const counted = await countWalk(config, path.resolve(dir), config.dedupe ? journal : null);
    found = counted.found;
    pending = counted.found - counted.done;
  }
  return {
    v: 1, type: 'status', state: defaultDisplay(dir), pipeline: run?.pipeline ?? config?.name ?? null, config_hash: run?.config_hash ?? null,
    runs: run?.runs ?? 0, running: runningNow(dir), done: ok + failed, ok, failed, pending, found, journal_lines: journal.lines + journal.unreadable,
    unreadable_lines: journal.unreadable, last_run: run?.last ?? null,
    top_errors: [...codes].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([code, count]) => ({ code, count })),
  };
}
