// Resume is the default everywhere: a pipeline file without a dedupe stage skips what is done,
// and one that wants no skipping says so (dedupe: {key: none}); start, plan, status and the run agree.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, sluice, tmpDir } from '../helpers.js';

function setup(stages: string): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
  fs.writeFileSync(path.join(dir, 'p.yaml'), `version: 1\nname: p\nsource: { walk: { roots: [in] } }\nstages:\n${stages}`);
  return dir;
}

t.test('a pipeline file without a dedupe stage skips what an earlier run did, and plan, status and start say so', async (t) => {
  const dir = setup('  - map: { processor: sha256 }\n');
  const first = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(ofType(first.lines, 'result').length, 12);
  const plan = await sluice(['plan', 'p.yaml', '--json'], { cwd: dir });
  t.match(JSON.parse(plan.stdout), { found: 12, done: 12, todo: 0 });
  const status = await sluice(['status', 'p.yaml', '--json'], { cwd: dir });
  t.match(JSON.parse(status.stdout), { done: 12, pending: 0 });
  const again = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.match(again.lines[0], { type: 'start', mode: 'resume', dedupe: 'path+size+mtime', already_done: 12 });
  t.same(ofType(again.lines, 'result'), [], 'nothing done twice');
  t.match(again.lines.at(-1), { skipped: 12 });
});

t.test('dedupe key none runs every item every time, and start, plan and status say nothing is skipped', async (t) => {
  const dir = setup('  - dedupe: { key: none }\n  - map: { processor: sha256 }\n');
  t.equal(ofType((await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir })).lines, 'result').length, 12);
  const plan = await sluice(['plan', 'p.yaml', '--json'], { cwd: dir });
  t.match(JSON.parse(plan.stdout), { found: 12, todo: 12 });
  const status = await sluice(['status', 'p.yaml', '--json'], { cwd: dir });
  t.match(JSON.parse(status.stdout), { pending: 12 });
  const again = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.match(again.lines[0], { type: 'start', dedupe: 'none', already_done: 0 });
  t.equal(ofType(again.lines, 'result').length, 12, 'all twelve again');
});

t.test('validate names every bad key: inside one stage, and in the stages when a top-level key is bad', async (t) => {
  const dir = setup('  - map: { processor: pdf-text, timeout: fast, options: { max_pages: 0 } }\n');
  const v = await sluice(['validate', 'p.yaml'], { cwd: dir });
  t.equal(v.code, 2);
  t.match(v.stderr, /stages\[0\]\.map\.timeout: expected a duration/);
  t.match(v.stderr, /stages\[0\]\.map\.options\.max_pages: expected a value >= 1, got 0/, 'a bad timeout does not hide bad options');
  fs.writeFileSync(path.join(dir, 'q.yaml'), 'version: 1\nname: "bad name!"\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { processor: sha256, timeout: fast }\n');
  const q = await sluice(['validate', 'q.yaml'], { cwd: dir });
  t.equal(q.code, 2);
  t.match(q.stderr, /name: expected a name/);
  t.match(q.stderr, /stages\[0\]\.map\.timeout: expected a duration/, 'a bad name does not hide a bad stage');
});
