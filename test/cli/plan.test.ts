// sluice plan: what a run would do, without doing it (read-only, no lock).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, FIXTURES, quietEnv, sluice, tmpDir, tree } from '../helpers.js';

const throws = path.join(FIXTURES, 'processors/throws.mjs');

const plan = async (dir: string, ...more: string[]) => {
  const r = await sluice(['plan', '--input', 'in', '--processor', throws, '--state', 'st', '--json', ...more], { cwd: dir });
  if (r.code !== 0) throw new Error(`plan exited ${r.code}: ${r.stderr}`);
  return r.lines[0]!;
};
const run = (dir: string, ...more: string[]) => sluice(['run', '--input', 'in', '--processor', throws, '--state', 'st', '--progress', 'none', ...more], { cwd: dir });

t.test('plan --count counts the files a run would find by name alone, without a stat of any of them', async (t) => {
  const dir = tmpDir();
  const files: Record<string, string> = { '.hidden/f-skipped.txt': 'x', 'a/.f-dot.txt': 'x' };
  for (let i = 0; i < 300; i++) files[`d${i % 4}/f-${i}.txt`] = 'x';
  tree(path.join(dir, 'in'), files);
  const stats = (args: string[]) => {
    const log = path.join(dir, 'stats.log');
    fs.rmSync(log, { force: true });
    const r = spawnSync(process.execPath, ['--import', path.join(FIXTURES, 'hooks/count-stats.mjs'), BIN, ...args],
      { cwd: dir, encoding: 'utf8', env: quietEnv({ SLUICE_STATS_LOG: log, SLUICE_STATS_PREFIX: 'f-' }), timeout: 60_000 });
    if (r.status !== 0) throw new Error(`sluice ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return { out: JSON.parse(r.stdout) as Record<string, unknown>, stats: (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').split('\n').filter(Boolean).reduce((n, x) => n + Number(x), 0) };
  };
  const full = stats(['plan', '--input', 'in', '--processor', 'noop', '--state', 'st', '--json']);
  t.match(full.out, { type: 'plan', found: 300 });
  t.ok(full.stats >= 300, `the hook sees the stat calls of a plan (${full.stats})`);
  const count = stats(['plan', '--input', 'in', '--processor', 'noop', '--state', 'st', '--json', '--count']);
  t.same(count.out, { v: 1, type: 'count', pipeline: 'noop', found: 300, elapsed_s: count.out.elapsed_s }, 'the same files found, dotfiles skipped alike');
  t.equal(count.stats, 0, 'no file stat\'ed');
  const text = await sluice(['plan', '--input', 'in', '--processor', 'noop', '--count'], { cwd: dir });
  t.equal(text.stdout, "found 300 (names only: no file stat'ed, nothing looked up)\n");
  t.notOk(fs.existsSync(path.join(dir, '.sluice')), 'no state dir made');
});

t.test('plan counts found, done and to do, with bytes, and changes nothing', async (t) => {
  const dir = tmpDir();
  const files: Record<string, string> = {};
  for (let i = 0; i < 1200; i++) files[`d${i % 3}/f${i}.txt`] = 'x'.repeat(i % 10);
  files['d0/bad-1.txt'] = 'bad';
  files['d1/bad-2.txt'] = 'bad!';
  tree(path.join(dir, 'in'), files);
  const bytes = Object.values(files).reduce((n, b) => n + b.length, 0);

  const before = await plan(dir);
  t.match(before, { type: 'plan', found: 1202, done: 0, todo: 1202, todo_bytes: bytes, config_changed: false, mode: 'resume' });
  t.notOk(fs.existsSync(path.join(dir, 'st')), 'no state dir made');

  const r = await run(dir);
  t.equal(r.code, 1, 'two items fail');
  const after = await plan(dir);
  t.match(after, { found: 1202, done: 1202, todo: 0, todo_bytes: 0 });
  t.equal(after.config_hash, r.lines[0]!.config_hash, 'the same config hash as the run');

  // a modified file and an added one
  fs.writeFileSync(path.join(dir, 'in/d2/f2.txt'), 'changed!');
  tree(path.join(dir, 'in'), { 'new.txt': 'hello' });
  t.match(await plan(dir), { found: 1203, done: 1201, todo: 2, todo_bytes: 'changed!'.length + 'hello'.length });
  t.match(await plan(dir, '--retry-failed'), { done: 1199, todo: 4 }, 'failed items are to do with --retry-failed');
  t.match(await plan(dir, '--fresh'), { mode: 'fresh', done: 0, todo: 1203 });
  const lines = fs.readFileSync(path.join(dir, 'st/journal.ndjson'), 'utf8');
  t.equal(lines.split('\n').filter(Boolean).length, 1202, 'the journal is untouched');

  // the text form
  const text = await sluice(['plan', '--input', 'in', '--processor', throws, '--state', 'st'], { cwd: dir });
  t.match(text.stdout, /found 1203: 1201 already done, 2 to do \(13 bytes\)/);
});

t.test('a changed processor: everything is to do, unless --keep-done', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a', 'b.txt': 'bb' });
  await run(dir);
  const changed = await sluice(['plan', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--json'], { cwd: dir });
  t.match(changed.lines[0], { config_changed: true, done: 0, todo: 2 });
  t.match(changed.lines[0] && (await sluice(['plan', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--json', '--keep-done'], { cwd: dir })).lines[0], { done: 2, todo: 0 });
});

t.test('content keys, a pipeline file, and bad input', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'alpha', 'b.txt': 'beta' });
  fs.writeFileSync(path.join(dir, 'p.yaml'), 'version: 1\nname: byc\nsource: { walk: { roots: [in] } }\nstages:\n  - dedupe: { key: content }\n  - map: { processor: sha256 }\ncheckpoint: { dir: .st }\n');
  await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  fs.renameSync(path.join(dir, 'in/a.txt'), path.join(dir, 'in/renamed.txt'));
  const p = await sluice(['plan', 'p.yaml', '--json'], { cwd: dir });
  t.match(p.lines[0], { pipeline: 'byc', found: 2, done: 2, todo: 0 }, 'a renamed file is done by content');
  const missing = await sluice(['plan', '--input', 'nope', '--processor', 'noop'], { cwd: dir });
  t.equal(missing.code, 2);
  t.match(missing.stderr, /input not found/);
  const stdin = await sluice(['plan', '-', '--processor', 'noop'], { cwd: dir });
  t.equal(stdin.code, 2);
  t.match(stdin.stderr, /standard input/);
});
