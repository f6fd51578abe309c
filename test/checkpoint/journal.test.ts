import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { isFastLine, Journal, latestLines, parseLine, reverseLines, type JournalEntry } from '../../lib/checkpoint/journal.js';
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

t.test('a recorded line reaches the file at once, not at the group commit, whatever the fsync policy', async (t) => {
  for (const fsync of ['always', 'batch', 'never'] as const) {
    const dir = tmpDir();
    const j = await Journal.open(dir, { fsync, batchItems: 1000, batchMs: 60_000 });
    await j.append(entry(1));
    // the group commit is 60 s away: the line must get there long before
    const lines = () => fs.readFileSync(j.file, 'utf8').split('\n').filter(Boolean).length;
    for (let waited = 0; lines() === 0 && waited < 2000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    t.equal(lines(), 1, `fsync ${fsync}: in the file (the OS has it) before any flush or close`);
    await j.close();
  }
});

t.test('reverseLines and latestLines read newest first, across block boundaries', async (t) => {
  const dir = tmpDir();
  const j = await Journal.open(dir);
  for (let i = 0; i < 300; i++) await j.append(entry(i % 100, i < 200 ? 'failed' : 'ok'));
  await j.close();
  const lines: string[] = [];
  for await (const l of reverseLines(j.file, 97)) lines.push(l);
  t.same(lines, fs.readFileSync(j.file, 'utf8').split('\n').filter(Boolean).reverse(), 'every line, reversed, with a tiny block size');
  const latest: JournalEntry[] = [];
  for await (const { entry: e } of latestLines(j.file)) latest.push(e!);
  t.equal(latest.length, 100);
  t.ok(latest.every((e) => e.status === 'ok'), 'the latest entry of each key');
  const compacted = await (await Journal.open(dir)).compactIfWorthIt();
  t.same(compacted, { before: 300, after: 100 });
  const re = await Journal.open(dir);
  t.equal(re.size, 100);
  t.equal(re.lines, 100);
  t.same(re.counts(), { ok: 100, failed: 0 });
  t.equal(await re.compactIfWorthIt(), null, 'nothing superseded: left alone');
  await re.close();
});

t.test('parseLine: fast path for sluice\'s own lines, JSON for the rest, null for garbage', async (t) => {
  t.same(parseLine(JSON.stringify(entry(7))), { key: key(7), status: 'ok' });
  t.same(parseLine(JSON.stringify({ status: 'failed', key: key(8), path: 'x' })), { key: key(8), status: 'failed' });
  t.equal(parseLine(JSON.stringify(entry(7)).slice(0, -1)), null, 'a torn line');
  t.equal(parseLine('{"key":"' + key(1) + '","status":"ok","path":"a"'), null);
  t.equal(parseLine('{"key":"nothex","status":"ok"}'), null);
  t.equal(parseLine('{"key":"' + key(1) + '","status":"maybe"}'), null);
  t.equal(parseLine(JSON.stringify(entry(7)).slice(0, 70) + '\0'.repeat(100) + '"}'), null, 'the fast path\'s shape with NUL bytes inside');
  t.equal(parseLine(JSON.stringify({ key: key(9), status: 'ok' })), null, 'JSON without a path is no entry');
});

t.test('a line with the fast path\'s shape and a NUL block inside is unreadable for the load and for latestLines alike', async (t) => {
  const dir = tmpDir();
  const good = [JSON.stringify(entry(1)), JSON.stringify(entry(2)), JSON.stringify(entry(3))];
  const merged = good[1]!.slice(0, 70) + '\0'.repeat(4096) + good[2]!.slice(-20);
  fs.writeFileSync(path.join(dir, 'journal.ndjson'), [good[0], merged, JSON.stringify(entry(4))].join('\n') + '\n');
  const warnings: string[] = [];
  const j = await Journal.open(dir, { warn: (m) => warnings.push(m) });
  t.equal(j.size, 2);
  t.notOk(j.isDone(key(2)), 'the damaged line does not count');
  t.match(warnings, [/skipped 1 unreadable line/]);
  await j.close();
  const seen = { lines: 0, unreadable: 0 };
  const keys: string[] = [];
  for await (const l of latestLines(path.join(dir, 'journal.ndjson'), seen)) keys.push(l.key);
  t.same(keys, [key(4), key(1)]);
  t.same(seen, { lines: 3, unreadable: 1 });
});

t.test('open and read refuse a file that is not a sluice journal, and never cut it', async (t) => {
  for (const body of ['#!/bin/sh\necho hello\n', 'root:x:0:0:root:/root:/bin/bash\n', '{"key":"config"}', '\0\0\0\0']) {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'journal.ndjson'), body);
    await t.rejects(Journal.open(dir), { code: 'SLUICE_E_STATE', message: /is not a sluice journal/ }, JSON.stringify(body));
    await t.rejects(Journal.read(dir), { code: 'SLUICE_E_STATE' });
    t.equal(fs.readFileSync(path.join(dir, 'journal.ndjson'), 'latin1'), body, 'unchanged');
  }
  // a journal line first, anything after: a journal, with its torn tail cut as ever
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'journal.ndjson'), JSON.stringify(entry(1)) + '\nnot a line');
  const j = await Journal.open(dir);
  t.equal(j.size, 1);
  await j.close();
  t.equal(fs.readFileSync(path.join(dir, 'journal.ndjson'), 'utf8'), JSON.stringify(entry(1)) + '\n');
});

t.test('a compaction stopped by an abort leaves the journal as it was and no temp file', async (t) => {
  const dir = tmpDir();
  const first = await Journal.open(dir);
  for (let i = 0; i < 30; i++) await first.append(entry(i % 5));
  await first.close();
  const before = fs.readFileSync(first.file);
  const j = await Journal.open(dir, { faults: { compactPauseMs: 60_000 } }); // test hook: wait with the temp file written
  await j.close();
  const stop = new AbortController();
  const compacting = j.compactIfWorthIt(stop.signal);
  while (fs.readdirSync(dir).length < 2) await new Promise((r) => setTimeout(r, 5));
  t.match(fs.readdirSync(dir).find((n) => n !== 'journal.ndjson'), /^journal\.ndjson\.\d+\.[0-9a-f]{12}\.tmp$/, 'a temp file of a unique name');
  stop.abort('SIGINT');
  t.equal(await compacting, null, 'not compacted');
  t.same(fs.readFileSync(j.file), before, 'the journal as it was');
  t.same(fs.readdirSync(dir), ['journal.ndjson'], 'the temp file removed');
  const again = await Journal.open(dir);
  await again.close();
  t.same(await again.compactIfWorthIt(), { before: 30, after: 5 });
  t.same(fs.readdirSync(dir), ['journal.ndjson'], 'a compaction leaves only the journal');
});

t.test('vanished: keys not looked up this run whose file is gone', async (t) => {
  const dir = tmpDir();
  const j = await Journal.open(dir);
  const at = (i: number) => path.join(dir, `p${i}`);
  for (let i = 0; i < 5; i++) await j.append({ ...entry(i), path: at(i) });
  await j.close();
  fs.writeFileSync(at(1), 'still here, modified: a new key, not vanished');
  const again = await Journal.open(dir);
  t.ok(again.lookup(key(0)));
  t.notOk(again.lookup(key(99)));
  t.same(await again.vanished(2), { count: 3, examples: [at(4), at(3)] });
  t.ok(again.lookup(key(1)) && again.lookup(key(2)) && again.lookup(key(3)) && again.lookup(key(4)));
  t.same(await again.vanished(2), { count: 0, examples: [] }, 'all seen: nothing vanished');
  await again.close();
});

t.test('a line sluice writes takes the fast path whatever the order of the entry\'s properties', async (t) => {
  const dir = tmpDir();
  const j = await Journal.open(dir);
  const k = key(1);
  // the fields in another order than the format's: what a caller building the entry might do
  const shuffled = { at: '2026-01-01T00:00:00.000Z', ms: 3, path: 'a "quoted" name.pdf', error: { code: 'SLUICE_E_PDF_PARSE', message: 'm' }, status: 'failed', key: k } as JournalEntry;
  await j.append(shuffled);
  await j.append({ ms: 1, attempts: 1, path: 'b.pdf', at: '2026-01-01T00:00:00.000Z', status: 'ok', key: key(2) } as JournalEntry);
  await j.close();
  const lines = fs.readFileSync(path.join(dir, 'journal.ndjson'), 'utf8').trim().split('\n');
  t.equal(lines.length, 2);
  for (const line of lines) t.ok(isFastLine(line), `fast path: ${line.slice(0, 60)}`);
  t.same(parseLine(lines[0]!), { key: k, status: 'failed' });
  t.same(JSON.parse(lines[0]!), shuffled, 'every field kept');
  t.notOk(isFastLine(JSON.stringify(shuffled)), 'the same entry as JSON.stringify writes it would not be');
  const again = await Journal.open(dir);
  t.ok(again.isFailed(k));
  t.ok(again.isOk(key(2)));
  await again.close();
});
