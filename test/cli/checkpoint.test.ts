// The checkpoint as a user meets it: change detection, config fingerprint, vanished inputs,
// compaction, disk full, and the status / results commands. (Kill -9: test/checkpoint/kill-soak.)
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES, mountTmpfs, ofType, readJournal, sluice, tmpDir, tmpfsMountError, tree } from '../helpers.js';

const soak = path.join(FIXTURES, 'processors/soak.mjs');

/** n small files f000.txt... holding their number */
const numbered = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${String(i).padStart(3, '0')}.txt`, String(i)]));
const processed = (r: { lines: Record<string, any>[] }) => ofType(r.lines, 'result').map((l) => l.path as string).sort();
const run = (dir: string, ...more: string[]) => sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none', ...more], { cwd: dir });

t.test('default keys: untouched files are skipped; modified, touched and added files run', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a', 'b.txt': 'b', 'c/d.txt': 'd' });
  t.same(processed(await run(dir)), ['in/a.txt', 'in/b.txt', 'in/c/d.txt']);
  // nothing changed: nothing to do
  const again = await run(dir);
  t.same(processed(again), []);
  t.match(again.lines.at(-1), { skipped: 3, exit_code: 0 });
  // modified content (size changes), a touched mtime, an added file
  fs.writeFileSync(path.join(dir, 'in/a.txt'), 'a changed');
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(dir, 'in/b.txt'), later, later);
  tree(path.join(dir, 'in'), { 'e.txt': 'e' });
  const third = await run(dir);
  t.same(processed(third), ['in/a.txt', 'in/b.txt', 'in/e.txt'], 'modified, touched and added files run; the rest is skipped');
  t.match(third.lines.at(-1), { skipped: 1 });
  t.notOk(third.lines.at(-1)!.vanished, 'a modified file is not a vanished one');
});

t.test('dedupe.key: content recognises renamed and moved files as done', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'alpha', 'b.txt': 'beta' });
  const yaml = 'version: 1\nname: byc\nsource: { walk: { roots: [in] } }\nstages:\n  - dedupe: { key: content }\n  - map: { processor: sha256 }\ncheckpoint: { dir: .st }\n';
  fs.writeFileSync(path.join(dir, 'p.yaml'), yaml);
  const first = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(ofType(first.lines, 'result').length, 2);
  fs.mkdirSync(path.join(dir, 'in/moved'));
  fs.renameSync(path.join(dir, 'in/a.txt'), path.join(dir, 'in/moved/renamed.txt'));
  const second = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.same(processed(second), [], 'the renamed file is not processed again');
  t.match(second.lines.at(-1), { skipped: 2, exit_code: 0 });
});

t.test('a changed processor file or options redo done items, unless --keep-done', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a', 'b.txt': 'b' });
  const proc = path.join(dir, 'proc.mjs');
  fs.writeFileSync(proc, 'export default async (item) => ({ v: 1 });\n');
  const go = (...more: string[]) => sluice(['run', '--input', 'in', '--processor', proc, '--state', 'st', '--progress', 'none', ...more], { cwd: dir });
  const first = await go();
  t.equal(ofType(first.lines, 'result').length, 2);
  t.same(ofType((await go()).lines, 'result'), [], 'unchanged: all skipped');
  fs.writeFileSync(proc, 'export default async (item) => ({ v: 2 });\n');
  const kept = await go('--keep-done');
  t.same(ofType(kept.lines, 'result'), [], '--keep-done keeps the results of the old version');
  t.same(ofType((await go()).lines, 'result'), [], '... and adopts them: the next run does not redo them either');
  fs.writeFileSync(proc, 'export default async (item) => ({ v: 2, edited: true });\n');
  const changed = await go();
  t.match(changed.lines[0], { type: 'start', config_changed: true });
  t.match(changed.stderr, /the processor file's content changed since the last run .*redoing all items; previous journal kept as/);
  t.same(ofType(changed.lines, 'result').map((r) => r.output.v), [2, 2], 'edited processor: every item redone');
  t.ok(fs.readdirSync(path.join(dir, 'st')).some((f) => /^journal\..*\.bak\.ndjson$/.test(f)), 'old journal kept');
});

t.test('vanished inputs are counted and listed in the summary and the report', async (t) => {
  const dir = tmpDir();
  const files: Record<string, string> = {};
  for (let i = 0; i < 25; i++) files[`f${String(i).padStart(2, '0')}.txt`] = String(i);
  tree(path.join(dir, 'in'), files);
  await run(dir);
  for (let i = 0; i < 22; i++) fs.rmSync(path.join(dir, `in/f${String(i).padStart(2, '0')}.txt`));
  const r = await run(dir);
  const s = r.lines.at(-1)!;
  t.equal(s.vanished, 22);
  t.equal(s.vanished_paths.length, 20, 'the first 20 are listed');
  t.ok(s.vanished_paths.every((p: string) => /^in\/f[01]\d|^in\/f2[01]/.test(p)));
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'st/report.json'), 'utf8'));
  t.match(report.vanished, { count: 22 });
  t.equal(report.vanished.examples.length, 20);
  // a walk cut short says nothing about what vanished
  tree(path.join(dir, 'in'), { 'new.txt': 'n' });
  const partial = await run(dir, '--max-items', '0');
  t.notOk(partial.lines.at(-1)!.vanished);
});

t.test('a journal mostly superseded is compacted at the end of a run', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c', 'd.txt': 'd' });
  const proc = path.join(dir, 'fail-then-ok.mjs');
  fs.writeFileSync(proc, "import fs from 'node:fs';\nexport default async (item) => { if (!fs.existsSync(process.env.OK_FLAG)) throw new Error('not yet'); return {}; };\n");
  const env = { ...process.env, OK_FLAG: path.join(dir, 'ok') };
  const go = (...more: string[]) => sluice(['run', '--input', 'in', '--processor', proc, '--state', 'st', '--progress', 'none', ...more], { cwd: dir, env });
  t.equal((await go()).code, 1);
  t.equal((await go('--retry-failed')).code, 1);
  t.equal(readJournal(path.join(dir, 'st')).length, 8, 'two failures per item, before compaction');
  fs.writeFileSync(path.join(dir, 'ok'), '');
  const last = await go('--retry-failed');
  t.equal(last.code, 0);
  t.match(last.stderr, /journal compacted: 12 lines -> 4/);
  const j = readJournal(path.join(dir, 'st'));
  t.equal(j.length, 4);
  t.ok(j.every((e) => e.status === 'ok'), 'only the latest entry of each item is kept');
  t.equal(ofType((await go()).lines, 'result').length, 0, 'and the compacted journal still says they are done');
});

t.test('disk full while writing the journal: exit 3, journal valid, the next run resumes', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), numbered(300));
  // items that take a few ms each finish one by one, so the journal is written in several pieces
  // before the disk "fills" (noop items come back in batches: one write could take them all)
  const slow = path.join(FIXTURES, 'processors/slow.mjs');
  const full = await sluice(['run', '--input', 'in', '--processor', slow, '--state', 'st', '--progress', 'none', '--set', 'stages[1].map.options.ms=3'], {
    cwd: dir, env: { ...process.env, SLUICE_FAULT_JOURNAL_ENOSPC_AFTER: '20000' },
  });
  t.equal(full.code, 3);
  t.match(full.lines.at(-1), { type: 'summary', exit_code: 3, error: { code: 'SLUICE_E_DISK_FULL' } });
  t.match(full.stderr, /cannot write the journal .*: the disk is full; everything recorded before is kept/);
  t.notMatch(full.stderr, /\n\s+at /, 'no stack trace');
  t.match(full.lines.at(-1), { type: 'summary', exit_code: 3 });
  const kept = readJournal(path.join(dir, 'st'));
  t.ok(kept.length > 0 && kept.length < 300, `journal valid with ${kept.length} entries`);
  const next = await sluice(['run', '--input', 'in', '--processor', slow, '--state', 'st', '--progress', 'none', '--set', 'stages[1].map.options.ms=3'], { cwd: dir });
  t.equal(next.code, 0);
  t.equal(ofType(next.lines, 'result').length, 300 - kept.length, 'the next run does exactly the rest');
  t.equal(new Set(readJournal(path.join(dir, 'st')).map((e) => e.key)).size, 300);
});

t.test('disk full under the journal with fast items in batches exits 3 each time, never spinning', async (t) => {
  // fast items travel in batches; the pool used to put a refused batch back and re-send it in a
  // microtask loop once the run was stopping: 100% CPU, deaf to signals. A round that hangs is
  // killed at its deadline and fails here.
  const dir = tmpDir();
  tree(path.join(dir, 'in'), numbered(600));
  const codes: (number | null)[] = [];
  for (const after of [30000, 40000, 45000, 50000, 45000]) {
    fs.rmSync(path.join(dir, 'st'), { recursive: true, force: true });
    const r = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], {
      cwd: dir, env: { ...process.env, SLUICE_FAULT_JOURNAL_ENOSPC_AFTER: String(after) }, deadlineMs: 60_000,
    });
    codes.push(r.code);
  }
  t.same(codes, codes.map(() => 3), 'every round ends with exit 3 (null: killed at the 60 s deadline)');
});

t.test('disk full while writing an output: exit 3, the item is not recorded, the next run does it', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
  const go = (env: NodeJS.ProcessEnv) => sluice(['run', '--input', 'in', '--processor', soak, '--out', 'out', '--state', 'st', '--progress', 'none', '-j', '1'], { cwd: dir, env });
  const full = await go({ ...process.env, SLUICE_FAULT_OUTPUT_ENOSPC: 'b.txt' });
  t.equal(full.code, 3);
  t.match(full.stderr, /no space left writing the output of in\/b\.txt/);
  t.notOk(readJournal(path.join(dir, 'st')).some((e) => e.path === 'in/b.txt'), 'b is not recorded, failed or done');
  const next = await go(process.env);
  t.equal(next.code, 0);
  t.ok(processed(next).includes('in/b.txt'));
  t.equal(fs.readFileSync(path.join(dir, 'out/b.txt.out'), 'utf8').split('\n')[0], 'b.txt');
});

t.test('once a full disk stops the run, an item whose worker dies meanwhile is not recorded failed: the next run does it', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'crash.txt': 'c', 'full.txt': 'f' });
  const go = (env: NodeJS.ProcessEnv) => sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/crash-late.mjs'), '--out', 'out', '--state', 'st', '--progress', 'none', '-j', '2'], { cwd: dir, env });
  const full = await go({ ...process.env, SLUICE_FAULT_OUTPUT_ENOSPC: 'full.txt' });
  t.equal(full.code, 3, full.stderr);
  t.same(readJournal(path.join(dir, 'st')).map((e) => [e.path, e.status, e.error?.code]), [], 'neither is recorded: full.txt for the disk, crash.txt for dying while the run stopped');
  const next = await go(process.env);
  t.equal(next.code, 1, 'the next run does both (crash.txt fails there for its own reason)');
  t.match(readJournal(path.join(dir, 'st')).map((e) => [e.path, e.error?.code ?? e.status]).sort(), [['in/crash.txt', 'SLUICE_E_WORKER_CRASH'], ['in/full.txt', 'ok']]);
});

t.test('status counts found and pending as plan counts found and to do, and its top errors are the codes of the items failed now', async (t) => {
  const dir = tmpDir();
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`in/ok${i}.txt`] = `ok ${i}`;
  Object.assign(files, { 'in/bad1.txt': 'x', 'in/bad2.txt': 'y', 'in/bad3.txt': 'z' });
  tree(dir, files);
  const args = ['--input', 'in', '--processor', path.join(FIXTURES, 'processors/throws.mjs'), '--state', 'st'];
  const first = await sluice(['run', ...args, '--progress', 'none'], { cwd: dir });
  t.equal(first.code, 1, first.stderr);
  // bad3 now passes (renamed: a new key), ok0 changed, one file new
  fs.renameSync(path.join(dir, 'in/bad3.txt'), path.join(dir, 'in/was3.txt'));
  fs.writeFileSync(path.join(dir, 'in/ok0.txt'), 'changed, longer');
  fs.writeFileSync(path.join(dir, 'in/new.txt'), 'new');
  const st = await sluice(['status', ...args, '--json'], { cwd: dir });
  t.equal(st.code, 0, st.stderr);
  const plan = await sluice(['plan', ...args, '--json'], { cwd: dir });
  t.equal(plan.code, 0, plan.stderr);
  t.match(plan.lines[0], { found: 44, done: 41, todo: 3 });
  t.match(st.lines[0], { found: plan.lines[0].found, pending: plan.lines[0].todo, done: 43, ok: 40, failed: 3, journal_lines: 43, unreadable_lines: 0 });
  t.same(st.lines[0].top_errors, [{ code: 'SLUICE_E_PROCESSOR', count: 3 }]);
  // the three run again: two fail again, was3 passes; bad3's failure stays in the journal (its file is gone)
  const second = await sluice(['run', ...args, '--progress', 'none'], { cwd: dir });
  t.same(processed(second), ['in/new.txt', 'in/ok0.txt', 'in/was3.txt']);
  const again = await sluice(['status', ...args, '--json'], { cwd: dir });
  t.match(again.lines[0], { found: 44, pending: 0, failed: 3, journal_lines: 46 });
  t.same(again.lines[0].top_errors, [{ code: 'SLUICE_E_PROCESSOR', count: 3 }]);
});

t.test('results --status failed lists exactly the items failed now, and names a damaged line it had no need to read', async (t) => {
  const dir = tmpDir();
  const files: Record<string, string> = {};
  for (let i = 0; i < 60; i++) files[`in/a${String(i).padStart(2, '0')}.txt`] = `ok ${i}`;
  // walked last, so their lines end the journal: read first, backwards, and the reading stops there
  Object.assign(files, { 'in/z-bad1.txt': 'x', 'in/z-bad2.txt': 'y', 'in/z-bad3.txt': 'z' });
  tree(dir, files);
  const args = ['--input', 'in', '--processor', path.join(FIXTURES, 'processors/throws.mjs'), '--state', 'st'];
  const first = await sluice(['run', ...args, '-j', '1', '--progress', 'none'], { cwd: dir });
  t.equal(first.code, 1, first.stderr);
  const listed = async () => {
    const r = await sluice(['results', '--state', 'st', '--status', 'failed'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    return { paths: r.lines.map((l) => l.path as string).sort(), codes: r.lines.map((l) => l.error?.code), stderr: r.stderr };
  };
  const clean = await listed();
  t.same(clean.paths, ['in/z-bad1.txt', 'in/z-bad2.txt', 'in/z-bad3.txt']);
  t.same(clean.codes, ['SLUICE_E_PROCESSOR', 'SLUICE_E_PROCESSOR', 'SLUICE_E_PROCESSOR']);
  t.equal(clean.stderr, '');
  // an ok line near the start zeroed in the middle (a power cut): the failed ones are still all
  // listed, and the damaged line is named though the reading stopped before it
  const file = path.join(dir, 'st/journal.ndjson');
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines[2] = lines[2]!.slice(0, 50) + '\0'.repeat(20) + lines[2]!.slice(70);
  fs.writeFileSync(file, lines.join('\n'));
  const damaged = await listed();
  t.same(damaged.paths, clean.paths);
  t.match(damaged.stderr, /journal .*journal\.ndjson: skipped 1 unreadable line/);
  // an item failed earlier and ok now is not listed; a file fixed under a new name leaves its old failure
  fs.renameSync(path.join(dir, 'in/z-bad2.txt'), path.join(dir, 'in/z-good2.txt'));
  await sluice(['run', ...args, '--progress', 'none'], { cwd: dir });
  t.same((await listed()).paths, ['in/z-bad1.txt', 'in/z-bad2.txt', 'in/z-bad3.txt'], 'the journal still says z-bad2 failed (its file is gone, its entry stays)');
});

t.test('status and results read the checkpoint; results rebuild what stdout showed', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a', 'b.txt': 'b' });
  fs.copyFileSync(path.join(FIXTURES, 'pdf/empty.pdf'), path.join(dir, 'in/empty.pdf'));
  fs.copyFileSync(path.join(FIXTURES, 'pdf/html.pdf'), path.join(dir, 'in/html.pdf'));
  const yaml = 'version: 1\nname: st\nsource: { walk: { roots: [in], include: ["**/*.pdf"] } }\nstages:\n  - dedupe: {}\n  - map: { processor: pdf-info }\n';
  fs.writeFileSync(path.join(dir, 'p.yaml'), yaml);
  const r = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 1);
  fs.copyFileSync(path.join(FIXTURES, 'pdf/good.pdf'), path.join(dir, 'in/new.pdf'));

  const js = await sluice(['status', 'p.yaml', '--json'], { cwd: dir });
  t.equal(js.code, 0, js.stderr);
  t.match(js.lines[0], { type: 'status', pipeline: 'st', done: 2, ok: 0, failed: 2, pending: 1, found: 3, running: null, runs: 1 });
  t.same(js.lines[0].top_errors.map((e: any) => e.code).sort(), ['SLUICE_E_PDF_EMPTY', 'SLUICE_E_PDF_INVALID']);
  t.match(js.lines[0].last_run, { exit_code: 1, failed: 2 });
  const text = await sluice(['status', '--state', '.sluice/st'], { cwd: dir });
  t.match(text.stdout, /done 2: 0 ok, 2 failed/);
  t.match(text.stdout, /top errors: /);
  const only = await sluice(['status'], { cwd: dir });
  t.match(only.stdout, /state \.sluice\/st/, 'the only state dir under ./.sluice is found without flags');

  const res = await sluice(['results', 'p.yaml'], { cwd: dir });
  const shown = ofType(r.lines, 'result').map(({ v, type, key, path: p, status, attempts, error }) => ({ v, type, key, path: p, status, attempts, error }));
  const rebuilt = res.lines.map(({ v, type, key, path: p, status, attempts, error }) => ({ v, type, key, path: p, status, attempts, error }));
  const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
  t.same(rebuilt.sort(byKey), shown.sort(byKey), 'the same result lines as the run printed');
  const failed = await sluice(['results', 'p.yaml', '--status', 'ok'], { cwd: dir });
  t.equal(failed.lines.length, 0);

  const none = await sluice(['status', '--state', path.join(os.tmpdir(), 'no-such-sluice-state')], { cwd: dir });
  t.equal(none.code, 2);
  t.match(none.stderr, /no checkpoint in .*nothing has run with this state dir/);
});

t.test('input order does not matter: roots given the other way round are all skipped', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a/x.txt': 'x', 'a/y.txt': 'y', 'b/z.txt': 'z' });
  const go = (...roots: string[]) => sluice(['run', ...roots.flatMap((r) => ['--input', r]), '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.same(processed(await go('in/a', 'in/b')), ['in/a/x.txt', 'in/a/y.txt', 'in/b/z.txt']);
  const swapped = await go('in/b', 'in/a');
  t.same(processed(swapped), []);
  t.match(swapped.lines.at(-1), { skipped: 3, exit_code: 0 });
});

t.test('a file given as the input is shown as given, and skipped on a rerun', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a' });
  const go = () => sluice(['run', '--input', 'in/a.txt', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir });
  const first = await go();
  t.same(processed(first), ['in/a.txt']);
  t.equal(ofType(first.lines, 'result')[0]!.key.length, 32);
  const second = await go();
  t.same(processed(second), []);
  t.match(second.lines.at(-1), { skipped: 1, exit_code: 0 });
});

t.test('resume with the walk helper thread, a late checkpoint table and the key snapshot: exactly the changed files run', async (t) => {
  const dir = tmpDir();
  const files: Record<string, string> = {};
  for (let i = 0; i < 2500; i++) files[`d${Math.floor(i / 600)}/f${String(i).padStart(5, '0')}.txt`] = `file ${i}`;
  tree(path.join(dir, 'in'), files);
  const first = await run(dir);
  t.equal(ofType(first.lines, 'result').length, 2500);
  fs.writeFileSync(path.join(dir, 'in/d1/f00700.txt'), 'changed, longer');
  fs.rmSync(path.join(dir, 'in/d3/f02000.txt'));
  tree(path.join(dir, 'in'), { 'd4/new.txt': 'new', 'a-first.txt': 'first' });
  // a helper thread at any journal size, the table handed over 300 ms late, and the table saved
  // at every open that parsed lines (the second run saves it, the third reads it and the lines after it)
  const env = { ...process.env, SLUICE_WALK_HELPER_MIN_BYTES: '0', SLUICE_FAULT_TABLE_DELAY_MS: '300', SLUICE_KEY_SNAPSHOT_MIN_BYTES: '1' };
  const second = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir, env });
  t.equal(second.code, 0, second.stderr);
  t.same(processed(second), ['in/a-first.txt', 'in/d1/f00700.txt', 'in/d4/new.txt']);
  t.match(second.lines.at(-1), { total: 2501, skipped: 2498, vanished: 1, vanished_paths: ['in/d3/f02000.txt'] });
  // the snapshot damaged: the third run says so, reads the journal in full and runs nothing
  const keys = path.join(dir, 'st/journal.keys');
  const bytes = fs.readFileSync(keys);
  bytes[bytes.length - 1]! ^= 0xff;
  fs.writeFileSync(keys, bytes);
  const saved = fs.statSync(keys);
  const third = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir, env });
  t.same(processed(third), []);
  t.match(third.lines.at(-1), { skipped: 2501 });
  t.match(third.stderr, /not using the key snapshot .*journal\.keys: its checksum does not match/, 'the run read the snapshot, and said why it did not use it');
  t.ok(fs.statSync(keys).mtimeMs > saved.mtimeMs, 'and saved it again');
  const fourth = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir, env });
  t.same(processed(fourth), []);
  t.match(fourth.lines.at(-1), { skipped: 2501 });
  t.notMatch(fourth.stderr, /key snapshot/, 'the fourth run starts from it with nothing to say');
});

// A real full disk, where the machine lets the test mount a small tmpfs. The fault hooks above
// cover the same paths everywhere else; this one also meets what a hook cannot: a write that
// fills the disk part-way returns short, no error.
const mountError = tmpfsMountError();

type TestLike = { teardown(fn: () => void): void; ok(...args: any[]): boolean };

/** A tmpfs of `size` at dir/<name>, filled so that only `free` bytes are left; returns the filler to delete. */
function smallDisk(t: TestLike, dir: string, name: string, free: number): { mount: string; filler: string } {
  const mount = path.join(dir, name);
  mountTmpfs(t, mount, '4m');
  const st = fs.statfsSync(mount);
  const filler = path.join(mount, 'filler');
  fs.writeFileSync(filler, Buffer.alloc(st.bavail * st.bsize - free));
  return { mount, filler };
}

/** Journal lines as on disk: every one must be whole JSON (a torn tail would be a bug here). */
function journalOnDisk(t: TestLike, state: string): Record<string, any>[] {
  const text = fs.readFileSync(path.join(state, 'journal.ndjson'), 'utf8');
  t.ok(text === '' || text.endsWith('\n'), 'the journal ends on a complete line');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

t.test('a real full disk under the journal: exit 3, journal whole on disk, the next run with space does the rest', { skip: mountError }, async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), numbered(600));
  const { mount, filler } = smallDisk(t, dir, 'small', 64 * 1024);
  const state = path.join(mount, 'st');
  const go = () => sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', state, '--progress', 'none'], { cwd: dir });
  const full = await go();
  t.equal(full.code, 3, full.stderr);
  t.match(full.stderr.split('\n')[0], /cannot write the journal .*: the disk is full; everything recorded before is kept/, 'the cause comes first');
  // then what else the full disk stopped. The journal cuts its torn tail off, which can free a
  // page or two: then the run state or the report fits, and is written whole instead
  const stateFailed = /cannot write the run state /.test(full.stderr);
  const reportFailed = /cannot write report /.test(full.stderr);
  if (stateFailed) t.match(full.stderr, /cannot write the run state .*the previous one is kept/, 'the run state was stopped, and says so');
  else t.equal(JSON.parse(fs.readFileSync(path.join(state, 'run.json'), 'utf8')).last.exit_code, 3, 'the run state was written whole');
  if (reportFailed) t.match(full.stderr, /cannot write report .*report\.json/, 'the report was stopped, and says so');
  else t.equal(JSON.parse(fs.readFileSync(path.join(state, 'report.json'), 'utf8')).exit_code, 3, 'the report was written whole');
  if (stateFailed && reportFailed) t.match(full.stderr, /cannot write the run state .*\n.*cannot write report /, 'the report is written last (the HTML report draws the timeline\'s end)');
  t.notMatch(full.stderr, /\n\s+at /, 'no stack trace');
  const kept = journalOnDisk(t, state);
  t.ok(kept.length > 0 && kept.length < 600, `${kept.length} entries kept`);
  fs.rmSync(filler);
  const next = await go();
  t.equal(next.code, 0, next.stderr);
  t.notMatch(next.stderr, /torn/, 'nothing to repair');
  t.equal(ofType(next.lines, 'result').length, 600 - kept.length, 'the next run does exactly the rest');
  const all = journalOnDisk(t, state);
  t.equal(all.length, 600);
  t.equal(new Set(all.map((e) => e.key)).size, 600, 'each item recorded once');
});

t.test('a real full disk under the outputs: exit 3, no partial output, nothing recorded without its output', { skip: mountError }, async (t) => {
  const dir = tmpDir();
  const files = numbered(100);
  tree(path.join(dir, 'in'), files);
  const { mount, filler } = smallDisk(t, dir, 'small', 96 * 1024);
  const out = path.join(mount, 'out');
  const go = () => sluice(['run', '--input', 'in', '--processor', soak, '--out', out, '--state', 'st', '--progress', 'none'], { cwd: dir });
  const full = await go();
  t.equal(full.code, 3, full.stderr);
  t.match(full.stderr, /no space left writing the output of in\/f\d+\.txt/);
  const kept = journalOnDisk(t, path.join(dir, 'st'));
  t.ok(kept.length > 0 && kept.length < 100, `${kept.length} entries kept`);
  const complete = (rel: string) => {
    try {
      return fs.readFileSync(path.join(out, rel + '.out'), 'utf8') === `${rel}\n`.repeat(40) + 'END\n';
    } catch {
      return false;
    }
  };
  t.ok(kept.every((e) => complete(path.basename(e.path))), 'every recorded item has its whole output');
  const partial = fs.readdirSync(out).filter((f) => f.endsWith('.out') && !complete(f.slice(0, -4)));
  t.same(partial, [], 'no partial output file');
  fs.rmSync(filler);
  const next = await go();
  t.equal(next.code, 0, next.stderr);
  t.equal(ofType(next.lines, 'result').length, 100 - kept.length, 'the next run does exactly the rest');
  t.ok(Object.keys(files).every(complete), 'every output whole');
});

t.test('a rerun with nothing to do still exits 1 and reports the failures the checkpoint holds, until they are fixed', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'ok-1.txt': 'good', 'ok-2.txt': 'good', 'bad-1.txt': 'bad', 'bad-2.txt': 'bad', 'bad-3.txt': 'bad' });
  const proc = path.join(dir, 'picky.mjs');
  fs.writeFileSync(proc, `import fs from 'node:fs';\nexport default async (item) => { if (fs.readFileSync(item.file, 'utf8') === 'bad') throw new Error('bad content'); return {}; };\n`);
  const go = (...more: string[]) => sluice(['run', '--input', 'in', '--processor', proc, '--state', 'st', '--progress', 'none', ...more], { cwd: dir });
  const first = await go();
  t.equal(first.code, 1);
  const again = await go();
  t.equal(again.code, 1, 'nothing to do, but three items are failed in the checkpoint');
  t.match(again.lines.at(-1), { type: 'summary', failed: 0, skipped: 5, carried_failed: 3, exit_code: 1 });
  t.match(again.stderr, /3 item\(s\) failed in earlier runs are still failed \(exit 1\): `sluice results --status failed` lists them, --retry-failed runs them again/);
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'st/report.json'), 'utf8'));
  t.match(report, { failed: 0, job: { failed: 3, carried_failed: 3, failures: [{ code: 'SLUICE_E_PROCESSOR', count: 3 }] } }, 'the report still shows the job\'s failures');
  t.equal(report.job.failures[0].examples.length, 3);
  t.equal((await go('--run-status')).code, 0, '--run-status: this run alone had no failure');
  for (const f of ['bad-1.txt', 'bad-2.txt', 'bad-3.txt']) fs.writeFileSync(path.join(dir, 'in', f), 'fixed');
  const fixed = await go();
  t.equal(fixed.code, 0, 'once fixed, the job is ok');
  t.match(fixed.lines.at(-1), { ok: 3, failed: 0, skipped: 2 });
  t.notOk('carried_failed' in fixed.lines.at(-1)!);
  fs.writeFileSync(path.join(dir, 'in/bad-9.txt'), 'bad');
  await go();
  fs.rmSync(path.join(dir, 'in/bad-9.txt'));
  const gone = await go();
  t.equal(gone.code, 0, 'a failed item whose file is gone is vanished, not a failure of the job');
  t.match(gone.lines.at(-1), { vanished: 1 });
});

t.test('the config-change message names what changed: options, or outputs going to a dir', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a' });
  const go = (...more: string[]) => sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/slow.mjs'), '--state', 'st', '--progress', 'none', ...more], { cwd: dir });
  t.equal((await go('-O', 'ms=1')).code, 0);
  const opts = await go('-O', 'ms=2');
  t.match(opts.stderr, /^sluice: the processor options changed since the last run/);
  const out = await go('-O', 'ms=2', '--out', 'o');
  t.match(out.stderr, /^sluice: outputs now go to an output dir \(they were inline\) changed since the last run/);
  t.notMatch(out.stderr, /processor options/, 'only --out changed');
});

t.test('the fault-injection hooks are dead in a user\'s environment: without the test suite\'s switch a fake full disk is ignored', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), numbered(50));
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_FAULT_JOURNAL_ENOSPC_AFTER: '500' };
  delete env.SLUICE_TEST_HOOKS;
  const r = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir, env });
  t.equal(r.code, 0, 'the hook did nothing');
  t.equal(readJournal(path.join(dir, 'st')).length, 50);
  const hooked = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st2', '--progress', 'none'], { cwd: dir, env: { ...env, SLUICE_TEST_HOOKS: '1' } });
  t.equal(hooked.code, 3, 'with the switch (and in a checkout) it fires');
});
