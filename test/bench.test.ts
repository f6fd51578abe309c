// `npm run bench -- --quick` works: every row measured (or its missing tool named), both files
// written. It checks the harness, not the speed: the figures come from tiny corpora.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, tmpDir } from './helpers.js';

t.test('the benchmark harness runs all nine rows in quick mode', async (t) => {
  const out = tmpDir();
  const data = tmpDir();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/bench/run.js'), '--quick', '--out', out], {
    encoding: 'utf8', env: { ...process.env, SLUICE_BENCH_DIR: data }, timeout: 280_000, // ~20 s on an idle machine; a loaded CI machine took over 120 s
  });
  t.equal(r.status, 0, r.stderr.slice(-2000));
  const json = JSON.parse(fs.readFileSync(path.join(out, 'results.quick.json'), 'utf8')) as { quick: boolean; rows: Record<string, any>[] };
  t.equal(json.quick, true);
  t.same(json.rows.map((x) => x.row), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  for (const row of json.rows) {
    t.ok(typeof row.sluice === 'number' && row.sluice > 0, `row ${row.row}: sluice measured (${row.sluice})`);
    // a reference is measured, or the note says which tool is missing
    if (row.row !== 8) t.ok((typeof row.ref === 'number' && row.ref > 0) || /missing/.test(row.note), `row ${row.row}: reference measured or named missing`);
  }
  const row4 = json.rows.find((x) => x.row === 4)!;
  t.ok(row4.values.pages[0] > 14, 'the PDF rows counted the sample pages');
  const md = fs.readFileSync(path.join(out, 'BENCHMARKS.quick.md'), 'utf8');
  t.equal(md.split('\n').filter((l) => /^\| [1-9] \|/.test(l)).length, 9, 'a nine-row table');
  t.match(md, /QUICK mode/);
  t.notOk(fs.existsSync(path.join(data, 'resume-state-5000', 'lock')), 'no run left behind');
  // each row says when, over how many runs and (the PDF rows) on which corpus it was measured
  for (const row of json.rows) {
    t.match(row, { date: /^\d{4}-\d\d-\d\d$/, runs: 1 }, `row ${row.row}: its own date and runs`);
    if ([4, 5, 7, 9].includes(row.row)) t.match(row.corpus, /pipelines\/samples/, `row ${row.row}: its corpus`);
  }
  // --render measures nothing: the same rows again, from results.quick.json
  fs.rmSync(path.join(out, 'BENCHMARKS.quick.md'));
  const again = spawnSync(process.execPath, [path.join(ROOT, 'dist/bench/run.js'), '--quick', '--render', '--out', out], { encoding: 'utf8', timeout: 60_000 });
  t.equal(again.status, 0, again.stderr.slice(-2000));
  const rendered = JSON.parse(fs.readFileSync(path.join(out, 'results.quick.json'), 'utf8')) as typeof json;
  t.same(rendered.rows, json.rows, 'the rows as measured');
  t.equal(fs.readFileSync(path.join(out, 'BENCHMARKS.quick.md'), 'utf8').split('\n').filter((l) => /^\| [1-9] \|.*\| \d{4}-\d\d-\d\d, 1 run\b/.test(l)).length, 9, 'the table written again, each row with when it was measured');
});
