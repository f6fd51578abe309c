// Resume per stage: what the map stages before the last did is recorded per item, so a rerun
// starts an item after the last stage recorded for it; a change to stage k redoes k and after.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ofType, sluice, tmpDir } from '../helpers.js';

const STEP = path.join(FIXTURES, 'processors/step.mjs');

function setup(n: number, opts: { one?: string; two?: string; three?: string } = {}): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
  const stage = (tag: string, extra = '') => `  - map: { name: ${tag}, processor: ${STEP}, concurrency: 1, options: { tag: ${tag}, log: calls${extra} } }\n`;
  fs.writeFileSync(path.join(dir, 'p.yaml'), `version: 1\nname: p\nsource: { walk: { roots: [in] } }\nstages:\n${stage('one', opts.one)}${stage('two', opts.two)}${stage('three', opts.three)}`);
  return dir;
}
const calls = (dir: string) => {
  const f = path.join(dir, 'calls');
  const lines = fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
  fs.writeFileSync(f, '');
  return { one: lines.filter((l) => l.startsWith('one ')).length, two: lines.filter((l) => l.startsWith('two ')).length, three: lines.filter((l) => l.startsWith('three ')).length };
};

t.test('an option change in stage 3 redoes stage 3 only: stages 1 and 2 are not called, their recorded outputs are used', async (t) => {
  const dir = setup(6);
  const first = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(first.code, 0, first.stderr);
  t.same(calls(dir), { one: 6, two: 6, three: 6 });
  const changed = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[three].map.options.extra=1'], { cwd: dir });
  t.equal(changed.code, 0, changed.stderr);
  t.same(calls(dir), { one: 0, two: 0, three: 6 }, 'only stage 3 ran');
  const results = ofType(changed.lines, 'result');
  t.equal(results.length, 6);
  for (const r of results) t.match(r, { status: 'ok', stage: 'three', output: { n: 3, prev: 'two' } }, 'stage 3 got stage 2\'s recorded output');
  t.match((changed.lines.at(-1)!.stages as unknown[]), [{ name: 'one', in: 0, resumed: 6 }, { name: 'two', in: 0, resumed: 6 }, { name: 'three', in: 6, resumed: 0 }]);
  const stage2 = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[two].map.options.extra=1'], { cwd: dir });
  t.equal(stage2.code, 0, stage2.stderr);
  t.same(calls(dir), { one: 0, two: 6, three: 6 }, 'a change in stage 2 redoes 2 and 3');
});

t.test('an item that failed at stage 3 keeps stages 1 and 2: --retry-failed starts it at stage 3', async (t) => {
  const dir = setup(4, { three: ', fail_on: f2' });
  const first = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(first.code, 1);
  t.same(calls(dir), { one: 4, two: 4, three: 4 });
  fs.writeFileSync(path.join(dir, 'p.yaml'), fs.readFileSync(path.join(dir, 'p.yaml'), 'utf8').replace(', fail_on: f2', ''));
  const retry = await sluice(['run', 'p.yaml', '--progress', 'none', '--retry-failed', '--keep-done'], { cwd: dir });
  t.equal(retry.code, 0, retry.stderr);
  t.same(calls(dir), { one: 0, two: 0, three: 1 }, 'only stage 3 of the failed item');
  t.match(ofType(retry.lines, 'result'), [{ path: 'in/f2.txt', status: 'ok', output: { n: 3 } }]);
});

t.test('outputs too big for a line go to files in the state dir and are read back; --fresh sets the records aside', async (t) => {
  const dir = setup(3, { two: ', big: 10000' });
  const first = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(first.code, 0, first.stderr);
  calls(dir);
  const files = fs.readdirSync(path.join(dir, '.sluice/p/stage-outputs'), { recursive: true }).filter((f) => String(f).endsWith('.json'));
  t.equal(files.length, 3, 'stage 2\'s outputs of 10 KB each in a file');
  const changed = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[three].map.options.extra=1'], { cwd: dir });
  t.same(calls(dir), { one: 0, two: 0, three: 3 });
  t.ok(ofType(changed.lines, 'result').every((r) => (r.output as { n: number }).n === 3));
  const fresh = await sluice(['run', 'p.yaml', '--progress', 'none', '--fresh', '--set', 'stages[three].map.options.extra=1'], { cwd: dir });
  t.match(fresh.stderr, /previous stage records kept as/);
  t.same(calls(dir), { one: 3, two: 3, three: 3 }, '--fresh does every stage again');
});

t.test('sluice plan says per stage how many items would run it, after the stages recorded', async (t) => {
  const dir = setup(5);
  const before = JSON.parse((await sluice(['plan', 'p.yaml', '--json'], { cwd: dir })).stdout);
  t.match(before, { found: 5, todo: 5, stages: [{ name: 'one', run: 5 }, { name: 'two', run: 5 }, { name: 'three', run: 5 }] });
  const first = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(first.code, 0, first.stderr);
  const done = JSON.parse((await sluice(['plan', 'p.yaml', '--json'], { cwd: dir })).stdout);
  t.match(done, { todo: 0, stages: [{ run: 0 }, { run: 0 }, { run: 0 }] });
  const changed = await sluice(['plan', 'p.yaml', '--set', 'stages[three].map.options.extra=1'], { cwd: dir });
  t.match(changed.stdout, /stages \(items that would run each, at most\): one 0, two 0, three 5/);
  const planned = JSON.parse((await sluice(['plan', 'p.yaml', '--json', '--set', 'stages[two].map.options.extra=1'], { cwd: dir })).stdout);
  t.match(planned, { config_changed: true, todo: 5, stages: [{ run: 0 }, { run: 5 }, { run: 5 }] });
  const real = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[two].map.options.extra=1'], { cwd: dir });
  t.same((real.lines.at(-1)!.stages as { in: number }[]).map((s) => s.in), planned.stages.map((s: { run: number }) => s.run), 'the run does what the plan said');
});

t.test('after a change to a stage, the records of its old options go, with their output files, once they are half the records; the new ones still serve', async (t) => {
  const dir = setup(4, { two: ', big: 10000' });
  const state = path.join(dir, '.sluice/p');
  const lines = () => fs.readFileSync(path.join(state, 'stages.ndjson'), 'utf8').trim().split('\n').length;
  const files = () => fs.readdirSync(path.join(state, 'stage-outputs'), { recursive: true }).filter((f) => String(f).endsWith('.json')).length;
  t.equal((await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir })).code, 0);
  t.same([lines(), files()], [8, 4], 'stages one and two recorded for 4 items; two\'s outputs in files');
  calls(dir);
  const changed = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[one].map.options.extra=1'], { cwd: dir });
  t.equal(changed.code, 0, changed.stderr);
  t.same(calls(dir), { one: 4, two: 4, three: 4 });
  t.match(changed.stderr, /stage records compacted: 16 -> 8 \(4 output file\(s\) removed\)/);
  t.same([lines(), files()], [8, 4], 'only the records of the options in force, and their files');
  const later = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[one].map.options.extra=1', '--set', 'stages[three].map.options.extra=1'], { cwd: dir });
  t.equal(later.code, 0, later.stderr);
  t.same(calls(dir), { one: 0, two: 0, three: 4 }, 'the records kept still start each item at stage 3');
  t.notMatch(later.stderr, /compacted/, 'a change to the last stage leaves every record in use: nothing to compact');
});
