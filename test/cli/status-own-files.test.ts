// `sluice status` counts pending inputs the way run and plan choose them: the run's own files
// (its state dir, report and outputs) are never inputs, even when they sit under a root.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { sluice, tmpDir } from '../helpers.js';

t.test('status and plan agree on what is pending when the state dir and the report lie under the root', async (t) => {
  const dir = tmpDir();
  for (const f of ['a.txt', 'b.txt', 'c.txt']) fs.writeFileSync(path.join(dir, f), f);
  // the root is the pipeline's own folder: .sluice/ (journal, run.json, report.json) is under it
  fs.writeFileSync(path.join(dir, 'p.yaml'), [
    'version: 1', 'name: own', 'source: { walk: { roots: [.], include: ["**/*"] } }', 'stages:', '  - map: { processor: sha256 }',
    'report: { path: report.json, formats: [json, md] }', '',
  ].join('\n'));
  const r = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir, t });
  t.equal(r.code, 0, r.stderr);
  const done = r.lines.filter((l) => l.type === 'result').map((l) => path.basename(String(l.path))).sort();
  t.same(done, ['a.txt', 'b.txt', 'c.txt', 'p.yaml'], 'the run took the inputs, not its own files');
  const plan = await sluice(['plan', 'p.yaml'], { cwd: dir, t });
  t.match(plan.stdout, /found 4: 4 already done, 0 to do/);
  const status = await sluice(['status', 'p.yaml', '--json'], { cwd: dir, t });
  t.equal(status.code, 0, status.stderr);
  t.match(status.lines[0], { type: 'status', done: 4, pending: 0, found: 4 }, 'status counts what plan counts');
});

t.test('a lock held on another host is reported as running there, and a run refuses it by the same rule', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in/a.txt'), 'a');
  const first = await sluice(['run', '--input', 'in', '--processor', 'noop', '--state', 'st', '--progress', 'none'], { cwd: dir, t });
  t.equal(first.code, 0, first.stderr);
  // a pid that is surely not alive here: only its host makes it live
  const record = JSON.stringify({ pid: 2_000_000_000, host: 'build-07.example', started: '2026-01-02T03:04:05Z' });
  fs.writeFileSync(path.join(dir, 'st/lock'), record);
  const js = await sluice(['status', '--state', 'st', '--json'], { cwd: dir, t });
  t.match(js.lines[0], { type: 'status', running: { pid: 2_000_000_000, host: 'build-07.example' } });
  const text = await sluice(['status', '--state', 'st'], { cwd: dir, t });
  t.match(text.stdout, 'running now: pid 2000000000 on build-07.example, since 2026-01-02T03:04:05Z');
  const run = await sluice(['run', '--input', 'in', '--processor', 'noop', '--state', 'st'], { cwd: dir, t });
  t.equal(run.code, 3, 'a run refuses the lock too');
  t.equal(fs.readFileSync(path.join(dir, 'st/lock'), 'utf8'), record, 'and leaves it as it was');
});
