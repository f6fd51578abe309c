import path from 'node:path';

// The names of the files in a state dir, in one place: the journal, the lock, run.json and the
// report a run keeps there when the pipeline names no report path. Every module that opens one
// (journal.ts, lock.ts, state.ts) and every command that reads one (run, plan, status, results,
// through run/state-dir.ts) takes its name from here.

export const JOURNAL_FILE = 'journal.ndjson';
/** the journal's key table, saved so that a big journal opens without parsing every line (checkpoint/key-snapshot.ts) */
export const JOURNAL_KEYS_FILE = 'journal.keys';
/** the compaction temp file of sluice versions that used one fixed name */
export const LEGACY_COMPACT_TMP = 'journal.ndjson.compact.tmp';
export const LOCK_FILE = 'lock';
/** pipelines of several stages: what the stages before the last did per item (checkpoint/stage-store.ts) */
export const STAGES_FILE = 'stages.ndjson';
/** ... and the outputs of theirs too big for a line of it */
export const STAGE_OUTPUTS_DIR = 'stage-outputs';
export const RUN_FILE = 'run.json';
/** the running or last run's progress samples, for other processes (run/timeline.ts) */
export const PROGRESS_FILE = 'progress.ndjson';
/** The report's name in the state dir when the pipeline names no report path. */
export const STATE_REPORT_FILE = 'report.json';

/** The formats a report is written in: json always, md and html beside it. */
export const REPORT_FORMATS = ['json', 'md', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Where a report path's format goes: the JSON path itself, or <path without .json>.md / .html. */
export function reportFormatPath(file: string, format: ReportFormat): string {
  return format === 'json' ? file : `${file.replace(/\.json$/i, '')}.${format}`;
}

/** Every file a report path may be written to, whatever its formats. */
export function reportFormatPaths(file: string): string[] {
  return REPORT_FORMATS.map((f) => reportFormatPath(file, f));
}

/** The journal of a state dir. */
export function journalPath(stateDir: string): string {
  return path.join(stateDir, JOURNAL_FILE);
}

/** The journal's key snapshot in a state dir. */
export function journalKeysPath(stateDir: string): string {
  return path.join(stateDir, JOURNAL_KEYS_FILE);
}
