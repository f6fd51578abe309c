// Several roots never share a checkpoint key or an output name; a single root keeps its old keys.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { hash } from 'node:crypto';
import { makeTree, ofType, readJournal, sluice, tmpDir } from '../helpers.js';
import { walk } from '../../lib/stages/walk/walk.js';
import { WalkerThread } from '../../lib/stages/walk/thread.js';
import { Journal } from '../../lib/checkpoint/journal.js';
import { metaKey } from '../../lib/checkpoint/keys.js';
import type { Item } from '../../lib/core/item.js';

const MTIME = new Date('2024-03-01T10:00:00Z');

/** The default key as every version so far computed it for a single root: path below the root, size, mtime. */
function legacyKey(rel: string, size: number, mtimeMs: number): string {
  return hash('sha256', `${rel}\0${size}\0${mtimeMs}`, 'hex').slice(0, 32);
}

/** ra/ and rb/ with the same names, sizes and mtimes, different contents; a processor copying each file to the output dir. */
function twoRoots(n: number) {
  const dir = tmpDir();
  for (const r of ['ra', 'rb']) {
    fs.mkdirSync(path.join(dir, r, 'sub'), { recursive: true });
    const files = ['report.pdf', ...Array.from({ length: n - 1 }, (_, i) => `sub/f${String(i).padStart(4, '0')}.txt`)];
    for (const f of files) {
      const p = path.join(dir, r, f);
      fs.writeFileSync(p, `${r}:${f}`.padEnd(40, '.'));
      fs.utimesSync(p, MTIME, MTIME);
    }
  }
  fs.writeFileSync(path.join(dir, 'copy.mjs'), [
    "import fs from 'node:fs';",
    'export default async (item, ctx) => ({ out: await ctx.writeOutput(item.rel + ".txt", fs.readFileSync(item.file)) });',
  ].join('\n'));
  const pipeline = path.join(dir, 'p.yaml');
  fs.writeFileSync(pipeline, [
    'version: 1', 'name: two', 'source: { walk: { roots: [ra, rb] } }', 'stages:', '  - dedupe: {}', '  - map: { processor: ./copy.mjs, concurrency: 2 }',
    'output: { dir: out }', '',
  ].join('\n'));
  return { dir, pipeline };
}

t.test('two roots holding report.pdf with equal size and mtime: both processed into two outputs, a rerun, plan and status agree both are done', async (t) => {
  const { dir, pipeline } = twoRoots(100);
  const r = await sluice(['run', pipeline, '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const results = ofType(r.lines, 'result');
  t.equal(results.length, 200, 'every file of both roots ran');
  t.equal(new Set(results.map((x) => x.key)).size, 200, 'no two files share a key');
  t.equal(new Set(results.map((x) => x.output.out)).size, 200, 'no two files share an output');
  const reports = results.filter((x) => x.path.endsWith('report.pdf')).sort((a, b) => a.path.localeCompare(b.path));
  t.same(reports.map((x) => x.path), ['ra/report.pdf', 'rb/report.pdf'], 'paths are shown as before');
  t.same(reports.map((x) => x.output.out), ['out/ra/report.pdf.txt', 'out/rb/report.pdf.txt'], 'each root\'s outputs under its own folder');
  t.equal(fs.readFileSync(path.join(dir, 'out/ra/report.pdf.txt'), 'utf8'), 'ra:report.pdf'.padEnd(40, '.'));
  t.equal(fs.readFileSync(path.join(dir, 'out/rb/report.pdf.txt'), 'utf8'), 'rb:report.pdf'.padEnd(40, '.'));
  t.equal(readJournal(path.join(dir, '.sluice/two')).length, 200, 'the journal holds both');

  // the walker's helper thread keys a share of each directory: it must key the same way
  const again = await sluice(['run', pipeline, '--progress', 'none'], { cwd: dir, env: { ...process.env, SLUICE_WALK_HELPER_MIN_BYTES: '0' } });
  t.equal(again.code, 0, again.stderr);
  t.equal(ofType(again.lines, 'result').length, 0, 'a rerun skips both roots');
  t.match(again.lines.at(-1), { type: 'summary', skipped: 200, ok: 0 });

  const plan = await sluice(['plan', pipeline, '--json'], { cwd: dir });
  t.match(plan.lines[0], { found: 200, done: 200, todo: 0 }, 'plan agrees with run');
  const status = await sluice(['status', pipeline, '--json'], { cwd: dir });
  t.match(status.lines[0], { done: 200, found: 200, pending: 0 }, 'status agrees with run');

  // one root's file changes: only it is redone
  fs.writeFileSync(path.join(dir, 'rb/report.pdf'), 'changed');
  const third = await sluice(['run', pipeline, '--progress', 'none'], { cwd: dir });
  t.same(ofType(third.lines, 'result').map((x) => x.path), ['rb/report.pdf']);
  t.equal(fs.readFileSync(path.join(dir, 'out/ra/report.pdf.txt'), 'utf8'), 'ra:report.pdf'.padEnd(40, '.'), 'the other root\'s output untouched');
});

t.test('two roots with content keys: two outputs, and a rerun skips both', async (t) => {
  const { dir, pipeline } = twoRoots(3);
  const args = ['run', pipeline, '--progress', 'none', '--set', 'stages[0].dedupe.key=content'];
  const r = await sluice(args, { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.equal(new Set(ofType(r.lines, 'result').map((x) => x.output.out)).size, 6);
  const again = await sluice(args, { cwd: dir });
  t.equal(ofType(again.lines, 'result').length, 0);
});

t.test('a single root keeps the keys and output names of earlier versions: a journal written before resumes', async (t) => {
  const { dir } = twoRoots(3);
  const st = fs.statSync(path.join(dir, 'ra/report.pdf'));
  const old = legacyKey('report.pdf', st.size, Math.trunc(st.mtimeMs));
  // a journal as an earlier version left it: report.pdf done
  const state = path.join(dir, 'state');
  fs.mkdirSync(state);
  fs.writeFileSync(path.join(state, 'journal.ndjson'), JSON.stringify({ key: old, status: 'ok', path: 'ra/report.pdf', at: '2024-03-01T10:00:00.000Z', ms: 1, attempts: 1 }) + '\n');
  const r = await sluice(['run', '--input', 'ra', '--processor', './copy.mjs', '--out', 'out', '--state', 'state', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const results = ofType(r.lines, 'result');
  t.same(results.map((x) => x.path).sort(), ['ra/sub/f0000.txt', 'ra/sub/f0001.txt'], 'the file the old journal recorded is skipped');
  const sub = results.find((x) => x.path === 'ra/sub/f0000.txt')!;
  const sst = fs.statSync(path.join(dir, 'ra/sub/f0000.txt'));
  t.equal(sub.key, legacyKey('sub/f0000.txt', sst.size, Math.trunc(sst.mtimeMs)), 'the key is the path below the root, as before');
  t.equal(sub.output.out, 'out/sub/f0000.txt.txt', 'the output name is the path below the root, as before');
});

t.test('files given as roots from one folder keep their keys; from two folders they are told apart', async (t) => {
  const { dir } = twoRoots(2);
  const run = (inputs: string[], state: string) => sluice(['run', '--input', ...inputs, '--processor', './copy.mjs', '--out', `out-${state}`, '--state', state, '--progress', 'none'], { cwd: dir });
  const one = await run(['ra/report.pdf', 'ra/sub/f0000.txt'], 'one');
  t.equal(one.code, 0, one.stderr);
  const st = fs.statSync(path.join(dir, 'ra/report.pdf'));
  const rep = ofType(one.lines, 'result').find((x) => x.path === 'ra/report.pdf')!;
  t.equal(rep.key, legacyKey('report.pdf', st.size, Math.trunc(st.mtimeMs)), 'same key as a single file root');
  t.equal(rep.output.out, 'out-one/report.pdf.txt');
  const two = await run(['ra/report.pdf', 'rb/report.pdf'], 'two');
  t.equal(two.code, 0, two.stderr);
  const outs = ofType(two.lines, 'result').map((x) => x.output.out).sort();
  t.same(outs, ['out-two/ra/report.pdf.txt', 'out-two/rb/report.pdf.txt']);
  const again = await run(['ra/report.pdf', 'rb/report.pdf'], 'two');
  t.equal(ofType(again.lines, 'result').length, 0, 'both skipped on a rerun');
});

t.test('root prefixes: empty for one root, the path from the common folder otherwise', async (t) => {
  const { rootPrefixes } = await import('../../lib/stages/walk/roots.js');
  t.same(rootPrefixes(['/x/docs']), ['']);
  t.same(rootPrefixes(['/x/ra', '/x/rb']), ['ra/', 'rb/']);
  t.same(rootPrefixes(['/data/2023/docs', '/data/2024/docs']), ['2023/docs/', '2024/docs/'], 'same basenames told apart by their parents');
  t.same(rootPrefixes(['/x/d', '/x/d/sub']), ['', 'sub/'], 'a nested root keys its files as the outer root does');
  t.same(rootPrefixes(['/x/d', '/x/d']), ['', '']);
  t.same(rootPrefixes(['/', '/x']), ['', 'x/']);
  t.same(rootPrefixes(['/a/b', '/a/bc']), ['b/', 'bc/'], 'common folder by whole names, not characters');
});

t.test('the walker thread and its helper key several roots as the main thread\'s walk does', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'ra'), 3000, 700);
  fs.cpSync(path.join(dir, 'ra'), path.join(dir, 'rb'), { recursive: true, preserveTimestamps: true });
  const opts = { roots: [path.join(dir, 'ra'), path.join(dir, 'rb')], include: ['**/*'], exclude: [], follow_symlinks: false as const };
  const all: Item[] = [];
  for await (const it of walk(opts)) all.push(it);
  t.equal(all.length, 6000);
  t.equal(new Set(all.map((i) => metaKey(i))).size, 6000, 'every file of both roots has its own key');
  const state = tmpDir();
  const first = await Journal.open(state, { fsync: 'never' });
  for (const it of all.filter((_, i) => i % 2 === 0)) await first.append({ key: metaKey(it), status: 'ok', path: it.path, at: '', ms: 0 });
  await first.close();
  const journal = await Journal.open(state, { fsync: 'never' });
  t.teardown(() => journal.close());
  const w = new WalkerThread({ opts, skip: [], dedupe: true, helper: true });
  setTimeout(() => w.setTable(journal.snapshot()), 150); // late: the helper is up by then
  const items: Item[] = [];
  for await (const it of w.items()) items.push(it);
  const want = all.filter((_, i) => i % 2 === 1);
  t.same(items.map((i) => `${i.path}|${i.rel}|${i.key}`), want.map((i) => `${i.path}|${i.rel}|${metaKey(i)}`), 'the files not done, keyed alike, in walk order');
});
