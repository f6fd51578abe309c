// The journal's key snapshot (journal.keys): a big journal opens from it and parses only the
// lines after it, with exactly the keys a full parse gives; a snapshot that does not hold is not
// used, and nothing is ever read or written through a link or a FIFO in its place.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Journal, type JournalEntry } from '../../lib/checkpoint/journal.js';
import { JOURNAL_KEYS_FILE } from '../../lib/checkpoint/files.js';
import { setAsideJournal, removeDeadRunTemps } from '../../lib/checkpoint/state.js';
import { tmpDir } from '../helpers.js';

const key = (i: number) => (i * 2654435761 >>> 0).toString(16).padStart(8, '0') + i.toString(16).padStart(24, '0');
const entry = (i: number, status: 'ok' | 'failed' = 'ok'): JournalEntry => ({ key: key(i), status, path: `docs/${i}.pdf`, at: '2026-12-03T00:00:00.000Z', ms: i });
/** save a snapshot once a few KB were parsed (the default is 8 MB) */
const SMALL = { faults: { keySnapshotMinBytes: 4096 } };

async function journalWith(dir: string, n: number, opts = {}): Promise<void> {
  const j = await Journal.open(dir, { fsync: 'never', ...opts });
  for (let i = 0; i < n; i++) await j.append(entry(i, i % 7 === 3 ? 'failed' : 'ok'));
  for (let i = 0; i < n; i += 10) await j.append(entry(i, 'ok')); // superseded lines: retried and now ok
  await j.close();
}

/** Everything a table answers for keys 0..n (and one never recorded), as one comparable value. */
function view(j: Journal, n: number) {
  const st: string[] = [];
  for (let i = 0; i <= n; i++) st.push(j.isOk(key(i)) ? 'o' : j.isFailed(key(i)) ? 'f' : '-');
  return { size: j.size, lines: j.lines, superseded: j.superseded, counts: j.counts(), statuses: st.join('') };
}

/** The same journal, read in full: a copy of it without the snapshot. */
async function fullParse(dir: string, n: number) {
  const copy = tmpDir();
  fs.copyFileSync(path.join(dir, 'journal.ndjson'), path.join(copy, 'journal.ndjson'));
  return view(await Journal.read(copy), n);
}

t.test('a journal reopened reads its keys from the snapshot, with the same keys, statuses and line counts as a full parse', async (t) => {
  const dir = tmpDir();
  await journalWith(dir, 3000);
  t.notOk(fs.existsSync(path.join(dir, JOURNAL_KEYS_FILE)), 'no snapshot while nothing was parsed at open');
  const first = await Journal.open(dir, SMALL); // parses 3,300 lines, saves the table
  t.equal(first.fromSnapshot, 0);
  await first.close();
  t.ok(fs.statSync(path.join(dir, JOURNAL_KEYS_FILE)).size > 3000 * 16, 'the snapshot is saved');
  const j = await Journal.open(dir, SMALL);
  t.equal(j.fromSnapshot, fs.statSync(j.file).size, 'the whole journal comes from the snapshot');
  const want = await fullParse(dir, 3000);
  t.same(view(j, 3000), want);
  t.equal(want.counts.failed, [...Array(3000).keys()].filter((i) => i % 7 === 3 && i % 10 !== 0).length, 'the failed keys the lines say');
  await j.close();
  const ro = await Journal.read(dir);
  t.ok(ro.fromSnapshot > 0, 'a read-only open uses it too');
  t.same(view(ro, 3000), want);
});

t.test('lines appended after the snapshot are applied on top of it: new keys, and new statuses of old keys', async (t) => {
  const dir = tmpDir();
  await journalWith(dir, 2000);
  await (await Journal.open(dir, SMALL)).close(); // saves the snapshot
  const covered = fs.statSync(path.join(dir, 'journal.ndjson')).size;
  const j = await Journal.open(dir, { fsync: 'never' });
  await j.append(entry(3, 'ok')); // failed before
  await j.append(entry(17, 'ok'));
  await j.append(entry(20, 'failed')); // ok before
  for (let i = 2000; i < 2100; i++) await j.append(entry(i, i % 2 ? 'failed' : 'ok'));
  await j.close();
  const again = await Journal.open(dir, { fsync: 'never' }); // below the threshold: the snapshot stays as it was
  t.equal(again.fromSnapshot, covered, 'the snapshot covers the old lines');
  t.ok(again.isOk(key(3)) && again.isOk(key(17)) && again.isFailed(key(20)) && again.isFailed(key(2001)) && again.isOk(key(2000)));
  t.same(view(again, 2100), await fullParse(dir, 2100));
  await again.close();
});

t.test('a snapshot the journal has moved on from is not used: a compacted journal, a journal set aside, a shorter one', async (t) => {
  const dir = tmpDir();
  await journalWith(dir, 2000);
  await (await Journal.open(dir, SMALL)).close();
  // compaction rewrites the journal with the latest line per key: other bytes, fewer of them
  const j = await Journal.open(dir, SMALL);
  t.ok(j.fromSnapshot > 0);
  await j.close();
  t.ok(await j.rewrite());
  const compacted = await Journal.open(dir, { fsync: 'never' });
  t.equal(compacted.fromSnapshot, 0, 'parsed in full after compaction');
  t.same(view(compacted, 2000), await fullParse(dir, 2000));
  await compacted.close();

  // the same length, other bytes at the end: the fingerprint differs
  await (await Journal.open(dir, SMALL)).close();
  const file = path.join(dir, 'journal.ndjson');
  const text = fs.readFileSync(file, 'utf8');
  const last = text.lastIndexOf('"status":"ok"');
  fs.writeFileSync(file, text.slice(0, last) + '"status":"xx"' + text.slice(last + 13));
  const edited = await Journal.read(dir);
  t.equal(edited.fromSnapshot, 0, 'an edited tail is noticed');

  // --fresh: the journal is set aside, and its snapshot with it
  await (await Journal.open(dir, SMALL)).close();
  t.ok(fs.existsSync(path.join(dir, JOURNAL_KEYS_FILE)));
  t.ok(setAsideJournal(dir));
  t.notOk(fs.existsSync(path.join(dir, JOURNAL_KEYS_FILE)), 'removed with the journal it stood for');
  const fresh = await Journal.open(dir);
  t.equal(fresh.size, 0);
  await fresh.close();
});

t.test('a damaged snapshot is not used, says why, and is replaced; the keys are the full parse\'s', async (t) => {
  const damage: [string, (f: string) => void, RegExp][] = [
    ['a flipped byte in the table', (f) => { const b = fs.readFileSync(f); b[b.length - 100]! ^= 0xff; fs.writeFileSync(f, b); }, /checksum/],
    ['cut short', (f) => fs.truncateSync(f, fs.statSync(f).size - 1000), /cut short/],
    ['another file', (f) => fs.writeFileSync(f, 'x'.repeat(500)), /not a sluice key snapshot/],
  ];
  for (const [what, spoil, why] of damage) {
    const dir = tmpDir();
    await journalWith(dir, 1500);
    await (await Journal.open(dir, SMALL)).close();
    spoil(path.join(dir, JOURNAL_KEYS_FILE));
    const warnings: string[] = [];
    const j = await Journal.open(dir, { ...SMALL, warn: (m) => warnings.push(m) });
    t.equal(j.fromSnapshot, 0, `${what}: not used`);
    t.match(warnings.join('\n'), why, `${what}: the warning says why`);
    t.same(view(j, 1500), await fullParse(dir, 1500), `${what}: the keys of a full parse`);
    await j.close();
    const next = await Journal.open(dir, { warn: (m) => warnings.push(m) });
    t.ok(next.fromSnapshot > 0, `${what}: a new snapshot was saved`);
    await next.close();
  }
});

t.test('a link or a FIFO in the snapshot\'s place is never followed, opened or replaced', async (t) => {
  const dir = tmpDir();
  await journalWith(dir, 1500);
  const target = path.join(tmpDir(), 'precious');
  fs.writeFileSync(target, 'keep me');
  const keys = path.join(dir, JOURNAL_KEYS_FILE);
  fs.symlinkSync(target, keys);
  const warnings: string[] = [];
  const j = await Journal.open(dir, { ...SMALL, warn: (m) => warnings.push(m) });
  await j.close();
  t.ok(fs.lstatSync(keys).isSymbolicLink(), 'the link is left as it is');
  t.equal(fs.readFileSync(target, 'utf8'), 'keep me', 'its target is untouched');
  const again = await Journal.open(dir, { ...SMALL, warn: (m) => warnings.push(m) });
  t.equal(again.fromSnapshot, 0);
  await again.close();
  t.match(warnings.join('\n'), /not using the key snapshot .*link/);

  fs.unlinkSync(keys);
  execFileSync('mkfifo', [keys]);
  const fifoWarnings: string[] = [];
  const f = await Journal.open(dir, { ...SMALL, warn: (m) => fifoWarnings.push(m) }); // would hang if the FIFO were opened to read
  t.equal(f.fromSnapshot, 0);
  t.same(view(f, 1500), await fullParse(dir, 1500));
  await f.close();
  t.ok(fs.lstatSync(keys).isFIFO(), 'the FIFO is left as it is');
  t.match(fifoWarnings.join('\n'), /not using the key snapshot .*FIFO/i);
});

t.test('a journal with an unreadable line gets no snapshot, so its warning comes at every open', async (t) => {
  const dir = tmpDir();
  await journalWith(dir, 1500);
  const file = path.join(dir, 'journal.ndjson');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[700] = '{"not a journal line"}';
  fs.writeFileSync(file, lines.join('\n'));
  for (let i = 0; i < 2; i++) {
    const warnings: string[] = [];
    const j = await Journal.open(dir, { ...SMALL, warn: (m) => warnings.push(m) });
    t.match(warnings.join('\n'), /skipped 1 unreadable line/, `open ${i + 1}`);
    await j.close();
  }
  t.notOk(fs.existsSync(path.join(dir, JOURNAL_KEYS_FILE)));
});

t.test('the temp file of a snapshot write cut short by a kill is removed at the next start', async (t) => {
  const dir = tmpDir();
  const tmp = path.join(dir, `${JOURNAL_KEYS_FILE}.12345.0123456789ab.tmp`);
  fs.writeFileSync(tmp, 'half');
  t.same(removeDeadRunTemps(dir), [path.basename(tmp)]);
  t.notOk(fs.existsSync(tmp));
});
