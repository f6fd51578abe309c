// --report (or report.path) may not overwrite the checkpoint or an input file.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, sluice, tmpDir } from '../helpers.js';

function setup() {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in/a.txt'), 'a\n');
  fs.writeFileSync(path.join(dir, 'in/b.txt'), 'b\n');
  return dir;
}

const snapshot = (dir: string) => Object.fromEntries(
  fs.readdirSync(dir, { recursive: true }).map(String).sort().filter((f) => fs.lstatSync(path.join(dir, f)).isFile()).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]),
);

t.test('a report path naming the journal, the state dir or another file in it is refused with exit 2, the checkpoint untouched', async (t) => {
  const dir = setup();
  const base = ['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'];
  const first = await sluice(base, { cwd: dir });
  t.equal(first.code, 0, first.stderr);
  const before = snapshot(path.join(dir, 'st'));
  t.ok(before['journal.ndjson'], 'a journal to protect');
  fs.symlinkSync('st', path.join(dir, 'alias'));
  for (const report of ['st/journal.ndjson', 'st', 'st/run.json', 'st/lock', 'alias/journal.ndjson', 'st/sub/x.json']) {
    for (const cmd of report === 'st/journal.ndjson' ? ['run', 'plan'] : ['run']) {
      const r = await sluice([...(cmd === 'run' ? base : ['plan', '--input', 'in', '--processor', 'sha256', '--state', 'st']), '--report', report], { cwd: dir });
      t.equal(r.code, 2, `${cmd} --report ${report}: exit 2`);
      t.match(r.stderr, /report\.path \(--report\) refused: .* is inside the state dir .*st, which holds the checkpoint/, `${cmd} --report ${report}: says why`);
      t.same(ofType(r.lines, 'result'), [], 'nothing ran');
    }
  }
  t.same(snapshot(path.join(dir, 'st')), before, 'the state dir is exactly as it was');
  const ok = await sluice([...base, '--report', 'st/report.json'], { cwd: dir });
  t.equal(ok.code, 0, 'the default name in the state dir is fine');

  // from a pipeline file, validate already says so (its default state dir)
  const p = path.join(dir, 'p.yaml');
  fs.writeFileSync(p, 'version: 1\nname: p\nsource: { walk: { roots: [in] } }\nstages: [{ map: { processor: sha256 } }]\nreport: { path: .sluice/p/journal.ndjson }\n');
  const v = await sluice(['validate', p], { cwd: dir });
  t.equal(v.code, 2);
  t.match(v.stderr, /journal\.ndjson is inside the state dir/);
});

t.test('a report path naming an input file is refused with exit 2 and the file is untouched; the run\'s own earlier report is not an input', async (t) => {
  const dir = setup();
  const base = ['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'];
  for (const report of ['in/a.txt', 'in']) {
    const r = await sluice([...base, '--report', report], { cwd: dir });
    t.equal(r.code, 2, `--report ${report}: exit 2`);
    t.match(r.stderr, report === 'in' ? /in is a directory/ : /in\/a\.txt is an input file under .*in: writing the report there would overwrite it/);
  }
  t.equal(fs.readFileSync(path.join(dir, 'in/a.txt'), 'utf8'), 'a\n', 'the input is untouched');
  t.notOk(fs.existsSync(path.join(dir, 'st')), 'refused before the state dir was made');

  // the md sibling counts too: in/a.md is an input
  fs.writeFileSync(path.join(dir, 'in/a.md'), 'notes\n');
  const md = await sluice([...base, '--report', 'in/a.json', '--set', 'report.formats=[json, md]'], { cwd: dir });
  t.equal(md.code, 2);
  t.match(md.stderr, /in\/a\.md is an input file/);
  t.equal(fs.readFileSync(path.join(dir, 'in/a.md'), 'utf8'), 'notes\n');

  // a report under the root that a run wrote is not an input: reruns work
  const own = [...base, '--report', 'in/run-report.json', '--set', 'report.formats=[json, md]'];
  const r1 = await sluice(own, { cwd: dir });
  t.equal(r1.code, 0, r1.stderr);
  const r2 = await sluice(own, { cwd: dir });
  t.equal(r2.code, 0, r2.stderr);
  t.match(r2.lines.at(-1), { type: 'summary', skipped: 3 }, 'a.txt, b.txt and a.md; never the report');
});
