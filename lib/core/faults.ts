import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Fault injection, for the test suite only: options a run passes down to the modules that fail
 * on purpose. The CLI reads them from the environment once (faultsFromEnv, in cli/run.ts), and
 * only when both hold: SLUICE_TEST_HOOKS=1, and this sluice runs from a source checkout (the
 * repository's test/ folder beside dist/, which a published package never ships). So nothing in
 * a user's environment can make an installed sluice fake a full disk or slow itself down, and no
 * production module reads the environment for them.
 */
export interface Faults {
  /** the journal fails with ENOSPC once it would pass this many bytes */
  journalEnospcAfter?: number;
  /** writeOutput fails with ENOSPC for outputs whose name contains this text */
  outputEnospc?: string;
  /** the journal's key table reaches the walker thread this many ms late */
  tableDelayMs?: number;
  /** the walk takes a helper thread from this journal size (bytes) instead of 8 MB */
  walkHelperMinBytes?: number;
  /** the result stream breaks with an unexpected error after this many results (the fatal path) */
  sinkBreakAfter?: number;
  /** compaction pauses this many ms after writing its temp file (a signal can land then) */
  compactPauseMs?: number;
  /** the journal's key table is saved once this many bytes of lines were parsed to open it, instead of 8 MB */
  keySnapshotMinBytes?: number;
}

/** Each fault's environment variable. */
const FAULT_VARS: Record<keyof Faults, string> = {
  journalEnospcAfter: 'SLUICE_FAULT_JOURNAL_ENOSPC_AFTER',
  outputEnospc: 'SLUICE_FAULT_OUTPUT_ENOSPC',
  tableDelayMs: 'SLUICE_FAULT_TABLE_DELAY_MS',
  walkHelperMinBytes: 'SLUICE_WALK_HELPER_MIN_BYTES',
  sinkBreakAfter: 'SLUICE_FAULT_SINK_BREAK_AFTER',
  compactPauseMs: 'SLUICE_FAULT_COMPACT_PAUSE_MS',
  keySnapshotMinBytes: 'SLUICE_KEY_SNAPSHOT_MIN_BYTES',
};

// compiled to dist/lib/core/: the checkout's root is three levels up
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The faults the environment asks for: none outside the test suite of a checkout. */
export function faultsFromEnv(env: NodeJS.ProcessEnv = process.env): Faults {
  if (env.SLUICE_TEST_HOOKS !== '1' || !fs.existsSync(path.join(ROOT, 'test', 'helpers.ts'))) return {};
  const out: Faults = {};
  for (const [k, name] of Object.entries(FAULT_VARS) as [keyof Faults, string][]) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    (out as Record<string, unknown>)[k] = k === 'outputEnospc' ? v : Number(v);
  }
  return out;
}
