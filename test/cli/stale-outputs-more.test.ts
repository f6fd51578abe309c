// Stale outputs, continued (stale-outputs.test.ts has the basics): never removed through a link,
// kept track of across a changed config, looked for only after a complete walk.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { resultsByPath, sluice, tmpDir, tree } from '../helpers.js';
import { exists, outputs, report, run, summaryOf } from '../support/stale-outputs.js';


t.test('a symlink planted at a stale output path is not followed: its target is untouched', async (t) => {
  const dir = tmpDir();
  const elsewhere = tmpDir();
  tree(dir, { 'in/a.txt': 'a', 'in/sub/b.txt': 'b', 'in/c.txt': 'c', 'in/keep.txt': 'k' });
  t.equal((await run(dir)).code, 0);
  for (const f of ['a.txt', 'sub/b.txt', 'c.txt']) fs.rmSync(path.join(dir, 'in', f));
  fs.writeFileSync(path.join(elsewhere, 'victim'), 'keep me');
  fs.mkdirSync(path.join(elsewhere, 'sub'));
  fs.writeFileSync(path.join(elsewhere, 'sub/b.txt.out'), 'keep me too');
  // a link at the stale output's own name, and a link on the way to another one
  fs.rmSync(path.join(dir, 'out/a.txt.out'));
  fs.symlinkSync(path.join(elsewhere, 'victim'), path.join(dir, 'out/a.txt.out'));
  fs.rmSync(path.join(dir, 'out/sub'), { recursive: true });
  fs.symlinkSync(path.join(elsewhere, 'sub'), path.join(dir, 'out/sub'));
  const second = await run(dir, '--prune-outputs');
  t.equal(second.code, 0, second.stderr);
  t.match(summaryOf(second), { vanished: 3, stale_outputs: 1, stale_output_paths: ['out/c.txt.out'], pruned_outputs: 1 }, 'only the regular file is a stale output');
  t.equal(fs.readFileSync(path.join(elsewhere, 'victim'), 'utf8'), 'keep me', 'the link\'s target is untouched');
  t.equal(fs.readFileSync(path.join(elsewhere, 'sub/b.txt.out'), 'utf8'), 'keep me too', 'nothing removed through a directory link');
  t.ok(fs.lstatSync(path.join(dir, 'out/a.txt.out')).isSymbolicLink(), 'the link itself is left as it is');
  t.notOk(exists(dir, 'out/c.txt.out'));
  t.ok(exists(dir, 'out/keep.txt.out'));
});

t.test('a changed config redoing an item that then fails: the earlier ok output is reported, still after --retry-failed, and pruned on request', async (t) => {
  const dir = tmpDir();
  tree(dir, { 'in/a.txt': 'a', 'in/b.txt': 'b', 'in/gone.txt': 'g' });
  t.equal((await run(dir)).code, 0);
  fs.rmSync(path.join(dir, 'in/gone.txt'));
  // new options: the journal is set aside and every item redone; b now fails
  const second = await run(dir, '-O', 'fail=b');
  t.equal(second.code, 1, second.stderr);
  t.match(second.stderr, /options changed/);
  t.match(resultsByPath(second.lines)['in/b.txt'], { status: 'failed' });
  t.same([...(summaryOf(second).stale_output_paths ?? [])].sort(), ['out/b.txt.out', 'out/gone.txt.out'], 'the output of the item that fails now, and that of the input gone since');
  const third = await run(dir, '-O', 'fail=b', '--retry-failed');
  t.equal(third.code, 1, third.stderr);
  t.match(resultsByPath(third.lines)['in/b.txt'], { status: 'failed' });
  t.match(summaryOf(third), { stale_outputs: 2 }, 'still reported by the next run');
  const fourth = await run(dir, '-O', 'fail=b', '--prune-outputs');
  t.match(summaryOf(fourth), { stale_outputs: 2, pruned_outputs: 2 });
  t.notOk(exists(dir, 'out/b.txt.out'));
  t.notOk(exists(dir, 'out/gone.txt.out'));
  t.ok(exists(dir, 'out/a.txt.out'), 'the output of the item still ok stays');
  const fifth = await run(dir, '-O', 'fail=b');
  t.notOk('stale_outputs' in summaryOf(fifth));
  t.notOk('set_aside_outputs' in JSON.parse(fs.readFileSync(path.join(dir, 'st/run.json'), 'utf8')), 'the set-aside journal is no longer checked once none of its outputs is stale');
});

t.test('a run that stops before its walk ends looks for no stale output, and --prune-outputs says it removed nothing', async (t) => {
  const dir = tmpDir();
  tree(dir, { 'in/a.txt': 'a', 'in/b.txt': 'b', 'in/c.txt': 'c' });
  t.equal((await run(dir)).code, 0);
  fs.rmSync(path.join(dir, 'in/a.txt'));
  fs.writeFileSync(path.join(dir, 'in/d.txt'), 'd');
  fs.writeFileSync(path.join(dir, 'in/e.txt'), 'e');
  const r = await run(dir, '--max-items', '1', '--prune-outputs');
  t.notOk('stale_outputs' in summaryOf(r));
  t.match(r.stderr, /--prune-outputs: nothing checked or removed: the run stopped \(--max-items 1 reached\)/);
  t.ok(exists(dir, 'out/a.txt.out'));
  t.equal(report(dir).stale_outputs, null);
});

t.test('--prune-outputs with paths on standard input is a usage error', async (t) => {
  const dir = tmpDir();
  const r = await sluice(['run', '-', '--processor', outputs, '--out', 'out', '--state', 'st', '--prune-outputs'], { cwd: dir, input: '' });
  t.equal(r.code, 2);
  t.match(r.stderr, /--prune-outputs needs a walk of the inputs/);
});
