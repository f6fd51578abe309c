import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Journal, type JournalEntry } from '../../lib/checkpoint/journal.js';
import { tmpDir } from '../helpers.js';

const key = (i: number) => i.toString(16).padStart(32, '0');
const entry = (i: number, status: 'ok' | 'failed' = 'ok'): JournalEntry => ({ key: key(i), status, path: `p${i}`, at: '2026-11-23T00:00:00.000Z', ms: i });

t.test('appends survive a reopen; latest status wins; forgetFailed', async (t) => {
  const dir = tmpDir();
  const j = await Journal.open(dir);
  for (let i = 0; i < 10; i++) await j.append(entry(i, i % 3 ? 'ok' : 'failed'));
  await j.append(entry(0, 'ok')); // retried and now ok
  await j.close();
  const again = await Journal.open(dir);
  t.equal(again.size, 10);
  t.ok(again.isOk(key(0)));
  t.ok(again.isFailed(key(3)));
  t.same(again.counts(), { ok: 7, failed: 3 });
  t.equal(again.forgetFailed(), 3);
  t.notOk(again.isDone(key(3)));
  await again.close();
});

t.test('group commit: nothing waits in memory past batchItems', async (t) => {
  const dir = tmpDir();
  const j = await Journal.open(dir, { batchItems: 4, batchMs: 60_000 });
  for (let i = 0; i < 8; i++) await j.append(entry(i));
  const lines = fs.readFileSync(j.file, 'utf8').split('\n').filter(Boolean);
  t.equal(lines.length, 8, 'two full batches are on disk without close()');
  await j.close();
});

t.test('a journal cut at any byte of its last three lines reopens with every complete line', async (t) => {
  const dir = tmpDir();
  const j = await Journal.open(dir);
  for (let i = 0; i < 6; i++) await j.append(entry(i));
  await j.close();
  const full = fs.readFileSync(j.file);
  const lineEnds: number[] = [];
  full.forEach((b, i) => { if (b === 0x0a) lineEnds.push(i + 1); });
  const cutFrom = lineEnds[lineEnds.length - 4]!; // start of the third-last line
  for (let cut = cutFrom; cut <= full.length; cut++) {
    const d = tmpDir();
    fs.writeFileSync(path.join(d, 'journal.ndjson'), full.subarray(0, cut));
    const warnings: string[] = [];
    const r = await Journal.open(d, { warn: (m) => warnings.push(m) });
    const complete = lineEnds.filter((e) => e <= cut).length;
    if (r.size !== complete) t.fail(`cut at ${cut}: ${r.size} entries, expected ${complete}`);
    const onDisk = fs.readFileSync(path.join(d, 'journal.ndjson'));
    const expectLen = lineEnds.filter((e) => e <= cut).pop() ?? 0;
    if (onDisk.length !== expectLen) t.fail(`cut at ${cut}: torn tail not truncated (${onDisk.length} vs ${expectLen})`);
    if ((cut !== expectLen) !== (warnings.length === 1)) t.fail(`cut at ${cut}: expected ${cut !== expectLen ? 'one warning' : 'no warning'}`);
    await r.append(entry(100));
    await r.close();
    const after = await Journal.open(d);
    if (after.size !== complete + 1) t.fail(`cut at ${cut}: append after repair lost lines`);
    await after.close();
  }
  t.pass(`every cut from byte ${cutFrom} to ${full.length} reopens correctly`);
});

t.test('garbage in the middle is skipped with a warning; the rest is kept', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'journal.ndjson'), JSON.stringify(entry(1)) + '\n{not json\n' + JSON.stringify(entry(2)) + '\n');
  const warnings: string[] = [];
  const j = await Journal.open(dir, { warn: (m) => warnings.push(m) });
  t.equal(j.size, 2);
  t.match(warnings[0], /skipped 1 unreadable line/);
  await j.close();
});
