// The journal's key snapshot (journal.keys): a big journal opens from it and parses only the
// lines after it, with exactly the keys a full parse gives; a snapshot that does not hold is not
// used, and nothing is ever read or written through a link or a FIFO in its place.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Journal, type JournalEntry } from '../../lib/checkpoint/journal.js';
import { JOURNAL_KEYS_FILE } from '../../lib/checkpoint/files.js';
import { setAsideJournal, removeDeadRunTemps } from '../../lib/checkpoint/state.js';
import { ROOT, tmpDir } from '../helpers.js';

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

  // compacted, then grown back past the bytes the snapshot covered: only the fingerprint can tell
  await (await Journal.open(dir, SMALL)).close();
  const covered = fs.statSync(j.file).size;
  const c2 = await Journal.open(dir, { fsync: 'never' });
  await c2.close();
  t.ok(await c2.rewrite(), 'compacted');
  const grow = await Journal.open(dir, { fsync: 'never' });
  for (let i = 5000; fs.statSync(j.file).size <= covered; i++) await grow.append(entry(i));
  await grow.close();
  const grown = await Journal.read(dir);
  t.equal(grown.fromSnapshot, 0, 'a compacted journal longer than the snapshot covered: not used');
  t.same(view(grown, 6000), await fullParse(dir, 6000));

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

t.test('a torn tail after the snapshot is cut off, and --retry-failed forgets failures the snapshot holds', async (t) => {
  const dir = tmpDir();
  await journalWith(dir, 2000);
  await (await Journal.open(dir, SMALL)).close();
  const file = path.join(dir, 'journal.ndjson');
  const covered = fs.statSync(file).size;
  fs.appendFileSync(file, '{"key":"' + key(2500) + '","status":"ok","pa'); // a write cut short by a crash
  const warnings: string[] = [];
  const j = await Journal.open(dir, { fsync: 'never', warn: (m) => warnings.push(m) });
  t.equal(j.fromSnapshot, covered);
  t.match(warnings.join('\n'), /dropped a torn tail of \d+ bytes at byte offset \d+/);
  t.equal(fs.statSync(file).size, covered, 'cut back to the last whole line');
  t.notOk(j.isDone(key(2500)));
  const failed = j.counts().failed;
  t.ok(failed > 0);
  t.equal(j.forgetFailed(), failed, 'every failure the snapshot held is forgotten');
  t.notOk(j.isDone(key(3)), 'key 3 (failed) is to do again');
  t.ok(j.isOk(key(4)));
  await j.close();
});

t.test('a snapshot whose checksum matches but whose table or header cannot be this journal\'s is not used', async (t) => {
  /** rewrite the header or table at `at`, then seal it again (the checksum over everything, field zeroed) */
  const reseal = (f: string, change: (b: Buffer) => void) => {
    const b = fs.readFileSync(f);
    change(b);
    b.fill(0, 80, 112);
    createHash('sha256').update(b).digest().copy(b, 80);
    fs.writeFileSync(f, b);
  };
  const cases: [string, (b: Buffer) => void, RegExp][] = [
    ['a status no line gives (a run\'s "seen" mark)', (b) => { const at = b.length - (b.length - 112) / 17; const i = b.subarray(at).findIndex((v) => v !== 0); b[at + i] = 5; }, /does not hold a valid table/],
    ['a key count the table does not have', (b) => b.writeUInt32LE(b.readUInt32LE(24) + 1, 24), /does not hold a valid table|header/],
    ['a line count that is not a number', (b) => b.writeDoubleLE(NaN, 40), /header does not describe/],
    ['a covered length that is not whole', (b) => b.writeDoubleLE(b.readDoubleLE(32) - 0.5, 32), /header does not describe/],
  ];
  for (const [what, change, why] of cases) {
    const dir = tmpDir();
    await journalWith(dir, 1500);
    await (await Journal.open(dir, SMALL)).close();
    reseal(path.join(dir, JOURNAL_KEYS_FILE), change);
    const warnings: string[] = [];
    const j = await Journal.read(dir, {}).catch((e: Error) => e);
    t.ok(j instanceof Journal, `${what}: read`);
    const k = await Journal.open(dir, { warn: (m) => warnings.push(m) });
    t.equal(k.fromSnapshot, 0, `${what}: not used`);
    t.match(warnings.join('\n'), why, `${what}: the warning says why`);
    t.same(view(k, 1500), await fullParse(dir, 1500), `${what}: the keys of a full parse`);
    await k.close();
  }
});

t.test('a snapshot the disk could not take whole is never put in place', async (t) => {
  const dir = tmpDir();
  await journalWith(dir, 1500);
  // open the journal in a process that may write files of 20 KB at most (the snapshot is ~35 KB);
  // SIGXFSZ ignored, so that the write past the limit fails (EFBIG) as on a full disk instead of killing it
  const script = path.join(dir, 'open.mjs');
  fs.writeFileSync(script, `import { Journal } from ${JSON.stringify(path.join(ROOT, 'dist/lib/checkpoint/journal.js'))};
const j = await Journal.open(process.argv[2], { faults: { keySnapshotMinBytes: 4096 }, warn: (m) => console.log(m) });
console.log('keys', j.size);
await j.close();`);
  const r = spawnSync('bash', ['-c', 'unset NODE_OPTIONS; ulimit -f 20; trap "" XFSZ; exec "$0" "$1" "$2"', process.execPath, script, dir], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr || String(r.signal));
  t.match(r.stdout, /could not save the key snapshot .*\n(.|\n)*keys 1500/, 'a warning, and the journal opened');
  t.notOk(fs.existsSync(path.join(dir, JOURNAL_KEYS_FILE)), 'no short snapshot in place');
  t.same(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'and no temp file left');
  const j = await Journal.open(dir, SMALL);
  t.equal(j.fromSnapshot, 0);
  await j.close();
  t.ok((await Journal.read(dir)).fromSnapshot > 0, 'saved whole once the disk takes it');
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
