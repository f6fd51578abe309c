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
