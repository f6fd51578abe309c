import { latestLines } from '../checkpoint/journal.js';
import { journalPath } from '../run/state-dir.js';
import { NdjsonWriter } from '../core/ndjson.js';
import { eventOfEntry } from '../run/record.js';
import { requireState, resolveStateDir, type StateArgs } from './state-dir.js';

/**
 * `sluice results`: the durable result set, one `result` line per item with its latest status,
 * newest first, read from the journal without taking the lock (safe while a run goes on).
 */
export async function resultsCommand(a: StateArgs & { status?: string }): Promise<number> {
  const { dir, own } = resolveStateDir(a);
  requireState(dir, own);
  const out = new NdjsonWriter(process.stdout);
  const file = journalPath(dir);
  const read = { lines: 0, unreadable: 0 };
  for await (const latest of latestLines(file, read)) {
    // ok and failed are the journal's own statuses; filtered is an ok line a filter stage wrote
    if (a.status === 'failed' && latest.status !== 'failed') continue;
    if (out.closed) break;
    const entry = latest.entry;
    if (!entry) continue;
    const ev = eventOfEntry(entry);
    if (a.status && ev.status !== a.status) continue;
    await out.write(ev);
  }
  if (read.unreadable) process.stderr.write(`sluice: journal ${file}: skipped ${read.unreadable} unreadable line(s)\n`);
  return 0;
}
