// Outputs of inputs that now fail or are gone ("stale outputs"): recorded per item in the journal,
// reported at the end of a run whose walk completed, removed only with --prune-outputs, and never
// through a link.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ofType, readJournal, resultsByPath, sluice, tmpDir, tree } from '../helpers.js';
import { exists, outputs, report, run, summaryOf } from '../support/stale-outputs.js';


t.test('a changed file that now fails leaves a stale output that is reported, and pruned on request', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.copyFileSync(path.join(FIXTURES, 'pdf/good.pdf'), path.join(dir, 'in/report.pdf'));
  fs.copyFileSync(path.join(FIXTURES, 'pdf/good.pdf'), path.join(dir, 'in/other.pdf'));
  const pdf = (...more: string[]) => sluice(['run', '--input', 'in', '--processor', 'pdf-text', '--out', 'out', '--state', 'st', '--progress', 'none', '--report', 'st/report.json', '-j', '1', ...more], { cwd: dir });
  const first = await pdf();
  t.equal(first.code, 0, first.stderr);
  t.ok(exists(dir, 'out/report.pdf.txt'));
  t.same(readJournal(path.join(dir, 'st')).map((e) => e.outputs).sort(), [['other.pdf.txt'], ['report.pdf.txt']], 'each ok entry records the output it wrote, relative to the output dir');
  // the file changes (new key) and its new version cannot be read
  fs.copyFileSync(path.join(FIXTURES, 'pdf/random-bytes.pdf'), path.join(dir, 'in/report.pdf'));
  const second = await pdf();
  t.equal(second.code, 1, second.stderr);
  t.match(resultsByPath(second.lines)['in/report.pdf'], { status: 'failed' });
  t.match(summaryOf(second), { stale_outputs: 1, stale_output_paths: ['out/report.pdf.txt'] });
  t.notOk('pruned_outputs' in summaryOf(second), 'nothing pruned unless asked');
  t.notOk('vanished' in summaryOf(second), 'a changed file is not a vanished one');
  t.match(second.stderr, /1 output\(s\) belong to inputs that now fail or are gone \(out\/report\.pdf\.txt\).*--prune-outputs removes them/);
  t.match(report(dir).stale_outputs, { count: 1, examples: ['out/report.pdf.txt'], pruned: 0 });
  t.ok(exists(dir, 'out/report.pdf.txt'), 'still there: only reported');
  // nothing to do but the prune
  const third = await pdf('--prune-outputs');
  t.equal(third.code, 1, third.stderr);
  t.same(ofType(third.lines, 'result'), [], 'no item ran again');
  t.match(summaryOf(third), { stale_outputs: 1, stale_output_paths: ['out/report.pdf.txt'], pruned_outputs: 1 });
  t.match(third.stderr, /removed stale output out\/report\.pdf\.txt/);
  t.notOk(exists(dir, 'out/report.pdf.txt'), 'the stale text is gone');
  t.ok(exists(dir, 'out/other.pdf.txt'), 'the current output stays');
  const fourth = await pdf();
  t.notOk('stale_outputs' in summaryOf(fourth), 'nothing stale is left');
});

t.test('a vanished input\'s output is reported and pruned; the report says so in JSON and markdown', async (t) => {
  const dir = tmpDir();
  tree(dir, { 'in/a.txt': 'a', 'in/b.txt': 'b', 'in/sub/c.txt': 'c' });
  t.equal((await run(dir)).code, 0);
  fs.rmSync(path.join(dir, 'in/sub'), { recursive: true });
  fs.rmSync(path.join(dir, 'in/a.txt'));
  const yaml = `version: 1\nname: v\nsource: { walk: { roots: [in] } }\nstages:\n  - dedupe: {}\n  - map: { processor: ${JSON.stringify(outputs)} }\noutput: { dir: out }\ncheckpoint: { dir: . }\nreport: { path: st/report.json, formats: [json, md] }\n`;
  fs.writeFileSync(path.join(dir, 'p.yaml'), yaml);
  // the same checkpoint through a pipeline file, for the markdown report
  fs.renameSync(path.join(dir, 'st'), path.join(dir, 'v'));
  const pipe = (...more: string[]) => sluice(['run', 'p.yaml', '--progress', 'none', '-j', '1', ...more], { cwd: dir });
  const second = await pipe();
  t.equal(second.code, 0, second.stderr);
  t.match(summaryOf(second), { vanished: 2, stale_outputs: 2 });
  t.same([...summaryOf(second).stale_output_paths].sort(), ['out/a.txt.out', 'out/sub/c.txt.out']);
  const md = fs.readFileSync(path.join(dir, 'st/report.md'), 'utf8');
  t.match(md, /## Stale outputs\n\n2 output\(s\) belong to inputs that now fail or are gone; 2 left \(`--prune-outputs` removes them\)/);
  t.match(md, /- `out\/sub\/c\.txt\.out`/);
  const third = await pipe('--prune-outputs');
  t.equal(third.code, 0, third.stderr);
  t.match(summaryOf(third), { stale_outputs: 2, pruned_outputs: 2 });
  t.notOk(exists(dir, 'out/a.txt.out'));
  t.notOk(exists(dir, 'out/sub/c.txt.out'));
  t.ok(exists(dir, 'out/b.txt.out'));
  t.ok(fs.statSync(path.join(dir, 'out/sub')).isDirectory(), 'directories stay (another run may be writing into them)');
  t.match(fs.readFileSync(path.join(dir, 'st/report.md'), 'utf8'), /2 output\(s\) belong to inputs that now fail or are gone; 2 removed \(--prune-outputs\)/);
});

t.test('an output that a current ok item also wrote is never reported or removed', async (t) => {
  const dir = tmpDir();
  // c and d both write shared.out; a changed file whose new version is ok writes its output again
  tree(dir, { 'in/c.txt': 'name: shared.out\nc', 'in/d.txt': 'name: shared.out\nd', 'in/e.txt': 'e' });
  t.equal((await run(dir)).code, 0);
  fs.rmSync(path.join(dir, 'in/c.txt'));
  fs.writeFileSync(path.join(dir, 'in/e.txt'), 'e, longer now');
  const second = await run(dir, '--prune-outputs');
  t.equal(second.code, 0, second.stderr);
  t.match(summaryOf(second), { vanished: 1 });
  t.notOk('stale_outputs' in summaryOf(second), 'neither shared.out (d is ok) nor e.txt.out (e is ok again) is stale');
  t.notMatch(second.stderr, /removed/);
  t.ok(exists(dir, 'out/shared.out'));
  t.equal(fs.readFileSync(path.join(dir, 'out/e.txt.out'), 'utf8'), 'e, longer now');
  t.match(report(dir).stale_outputs, { count: 0, pruned: 0 });
});
