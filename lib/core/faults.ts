import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Fault-injection hooks, for the test suite only, in one place. A hook's environment variable is
 * read only when both hold: SLUICE_TEST_HOOKS=1, and this sluice runs from a source checkout (the
 * repository's test/ folder beside dist/, which a published package never ships). So nothing in a
 * user's environment can make an installed sluice fake a full disk or slow itself down.
 */
export const FAULT_HOOKS = {
  /** the journal fails with ENOSPC once it would pass this many bytes */
  SLUICE_FAULT_JOURNAL_ENOSPC_AFTER: 'journal write fails with ENOSPC past N bytes',
  /** writeOutput fails with ENOSPC for outputs whose name contains this text */
  SLUICE_FAULT_OUTPUT_ENOSPC: 'output write fails with ENOSPC for names containing the text',
  /** the journal's key table reaches the walker thread this many ms late */
  SLUICE_FAULT_TABLE_DELAY_MS: 'the walker gets the key table N ms late',
  /** the walk takes a helper thread from this journal size (bytes) instead of 8 MB */
  SLUICE_WALK_HELPER_MIN_BYTES: 'walk helper thread from a journal of N bytes',
  /** the result stream breaks with an unexpected error after N results (the fatal path) */
  SLUICE_FAULT_SINK_BREAK_AFTER: 'the run breaks with an internal error after N results',
  /** compaction pauses this many ms after writing its temp file (a signal can land then) */
  SLUICE_FAULT_COMPACT_PAUSE_MS: 'compaction pauses N ms before its rename',
} as const;
export type FaultHook = keyof typeof FAULT_HOOKS;

// compiled to dist/lib/core/: the checkout's root is three levels up
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let enabled: boolean | undefined;

/** The hook's value, or undefined: always undefined outside the test suite of a checkout. */
export function faultHook(name: FaultHook): string | undefined {
  enabled ??= process.env.SLUICE_TEST_HOOKS === '1' && fs.existsSync(path.join(ROOT, 'test', 'helpers.ts'));
  return enabled ? process.env[name] : undefined;
}
