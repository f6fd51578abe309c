import { Journal, latestLines } from '../checkpoint/journal.js';
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
  // --status failed: the journal's table knows which items are failed now, so only their latest
  // lines are read (Journal.latestFailed); the unreadable lines are then the table's count, with
  // the failed lines whose body is not JSON
  const failedOnly = a.status === 'failed' ? await Journal.read(dir) : null;
  let bodiless = 0;
  for await (const latest of failedOnly ? failedOnly.latestFailed() : latestLines(file, read)) {
    if (out.closed) break;
    const entry = latest.entry;
    if (!entry) {
      bodiless++;
      continue;
    }
    // ok and failed are the journal's own statuses; filtered is an ok line a filter stage wrote
    const ev = eventOfEntry(entry);
    if (!a.status || ev.status === a.status) await out.write(ev);
  }
  const unreadable = failedOnly ? failedOnly.unreadable + bodiless : read.unreadable;
  if (unreadable) process.stderr.write(`sluice: journal ${file}: skipped ${unreadable} unreadable line(s)\n`);
  return 0;
}
