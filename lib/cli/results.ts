import path from 'node:path';
import { JOURNAL_FILE, latestLines, type JournalEntry } from '../checkpoint/journal.js';
import { ERROR_CODES, isErrorCode } from '../core/errors.js';
import type { ResultEvent } from '../core/events.js';
import { NdjsonWriter } from '../core/ndjson.js';
import { requireState, resolveStateDir, type StateArgs } from './state-dir.js';

/** A journal entry as the `result` event a run printed for it. */
export function resultOf(e: JournalEntry): ResultEvent & { output_omitted?: true; at: string } {
  const ev: ResultEvent & { output_omitted?: true; at: string } = {
    v: 1, type: 'result', key: e.key, path: e.path, status: e.status, ms: e.ms, attempts: e.attempts ?? 1, at: e.at,
  };
  if (e.path_b64) ev.path_b64 = e.path_b64;
  if (e.output) ev.output = e.output;
  if (e.output_omitted) ev.output_omitted = true;
  if (e.error) ev.error = { code: e.error.code, message: e.error.message, retryable: isErrorCode(e.error.code) ? ERROR_CODES[e.error.code].retryable : false };
  return ev;
}

/**
 * `sluice results`: the durable result set, one `result` line per item with its latest status,
 * newest first, read from the journal without taking the lock (safe while a run goes on).
 */
export async function resultsCommand(a: StateArgs & { status?: string }): Promise<number> {
  const { dir, own } = resolveStateDir(a);
  requireState(dir, own);
  const out = new NdjsonWriter(process.stdout);
  const file = path.join(dir, JOURNAL_FILE);
  const read = { lines: 0, unreadable: 0 };
  for await (const latest of latestLines(file, read)) {
    if (a.status && latest.status !== a.status) continue;
    if (out.closed) break;
    const entry = latest.entry;
    if (entry) await out.write(resultOf(entry));
  }
  if (read.unreadable) process.stderr.write(`sluice: journal ${file}: skipped ${read.unreadable} unreadable line(s)\n`);
  return 0;
}
