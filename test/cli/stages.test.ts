// Pipelines of several stages: maps chained with filters between them, each map's output the
// next one's input; filters on name, size, real type and the previous output; names in events,
// report and validation messages.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ofType, readJournal, sluice, tmpDir } from '../helpers.js';

const STEP = path.join(FIXTURES, 'processors/step.mjs');

function setup(stages: string, files: Record<string, string | Buffer>): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (const [name, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'in', name), body);
  fs.writeFileSync(path.join(dir, 'p.yaml'), `version: 1\nname: p\nsource: { walk: { roots: [in] } }\nstages:\n${stages}`);
  return dir;
}

const step = (tag: string, extra = '') => `  - map: { name: ${tag}, processor: ${STEP}, concurrency: 1, options: { tag: ${tag}${extra} } }\n`;

t.test('three maps with a filter between them: each map gets the one before\'s output, the filter drops by size, and each stage is counted', async (t) => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 10; i++) files[`f${i}.txt`] = 'x'.repeat(i < 4 ? 10 : 1000);
  const dir = setup(step('one') + '  - filter: { name: big, size: { min: 100 } }\n' + step('two') + step('three'), files);
  const run = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  t.match(run.lines[0], { type: 'start', processor: STEP, stages: [{ name: 'one', kind: 'map' }, { name: 'big', kind: 'filter' }, { name: 'two', kind: 'map' }, { name: 'three', kind: 'map' }] });
  const results = ofType(run.lines, 'result');
  t.equal(results.length, 6, 'the 6 files of 1000 bytes have a result line; the 4 filtered ones none');
  for (const r of results) t.match(r, { status: 'ok', stage: 'three', output: { n: 3, tag: 'three', prev: 'two', size: 1000 } });
  const summary = run.lines.at(-1)!;
  t.match(summary, { type: 'summary', ok: 6, failed: 0, filtered: 4, skipped: 0, exit_code: 0 });
  t.same((summary.stages as { name: string; in: number; ok: number; filtered: number }[]).map((s) => [s.name, s.in, s.ok, s.filtered]),
    [['one', 10, 10, 0], ['big', 10, 6, 4], ['two', 6, 6, 0], ['three', 6, 6, 0]], 'items in and out of each stage');
  const report = JSON.parse(fs.readFileSync(path.join(dir, '.sluice/p/report.json'), 'utf8'));
  t.match(report, { ok: 6, filtered: 4, stages: [{ name: 'one', in: 10 }, { name: 'big', filtered: 4 }, { name: 'two', in: 6 }, { name: 'three', in: 6 }] });
  const journal = readJournal(path.join(dir, '.sluice/p'));
  t.equal(journal.length, 10, 'every item recorded once, the filtered ones too');
  t.equal(journal.filter((e) => e.filtered === true && e.stage === 'big').length, 4);
  const again = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.match(again.lines.at(-1), { ok: 0, filtered: 0, skipped: 10 }, 'a rerun decides nothing again');
  const listed = await sluice(['results', 'p.yaml', '--status', 'filtered'], { cwd: dir });
  t.equal(ofType(listed.lines, 'result').length, 4, 'sluice results --status filtered lists the dropped items');
});

t.test('a filter on the real type drops an HTML page named .pdf as not a PDF, counted filtered, and keeps the real PDFs', async (t) => {
  const pdf = (n: string) => fs.readFileSync(path.join(FIXTURES, 'pdf', n));
  const dir = setup('  - filter: { type: [pdf] }\n  - map: { processor: sha256 }\n', {
    'good.pdf': pdf('good.pdf'), 'html.pdf': pdf('html.pdf'), 'empty.pdf': pdf('empty.pdf'), 'notes.txt': 'plain text\n', 'random.pdf': pdf('random-bytes.pdf'),
  });
  const run = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  const ok = ofType(run.lines, 'result').map((r) => path.basename(r.path as string)).sort();
  t.same(ok, ['good.pdf'], 'only a file that starts like a PDF goes on (empty.pdf has no bytes)');
  t.match(run.lines.at(-1), { ok: 1, filtered: 4, failed: 0 });
  const filtered = await sluice(['results', 'p.yaml', '--status', 'filtered'], { cwd: dir });
  t.same(ofType(filtered.lines, 'result').map((r) => path.basename(r.path as string)).sort(), ['empty.pdf', 'html.pdf', 'notes.txt', 'random.pdf']);
  t.ok(ofType(filtered.lines, 'result').every((r) => r.stage === 'filter0'), 'an unnamed stage is named by its kind and place');
});

t.test('a filter on the previous map\'s output, on extensions and globs', async (t) => {
  const dir = setup(step('one') + '  - filter: { where: ["output.size >= 5", "output.tag == \'one\'"], ext: [TXT], glob: ["keep/**"] }\n' + step('two'), { 'a.txt': '12345', 'b.txt': '1', 'c.md': '123456' });
  fs.mkdirSync(path.join(dir, 'in/keep'));
  fs.writeFileSync(path.join(dir, 'in/keep/d.txt'), '123456');
  fs.writeFileSync(path.join(dir, 'in/keep/e.md'), '123456');
  const run = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  t.same(ofType(run.lines, 'result').map((r) => r.path), ['in/keep/d.txt'], 'only a .txt under keep/ with output.size >= 5');
  t.match(run.lines.at(-1), { ok: 1, filtered: 4 });
});

t.test('an item that fails at a stage ends there: failed with that stage\'s name, later stages never see it, exit 1', async (t) => {
  const dir = setup(step('one') + step('two', ', fail_on: bad') + step('three'), { 'good.txt': 'g', 'bad.txt': 'b' });
  const run = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 1);
  const byName = Object.fromEntries(ofType(run.lines, 'result').map((r) => [path.basename(r.path as string), r]));
  t.match(byName['bad.txt'], { status: 'failed', stage: 'two', error: { code: 'SLUICE_E_PROCESSOR', message: /two refuses bad\.txt/ } });
  t.match(byName['good.txt'], { status: 'ok', stage: 'three', output: { n: 3 } });
  const stages = (run.lines.at(-1)!.stages as { name: string; in: number; failed: number }[]).map((s) => [s.name, s.in, s.failed]);
  t.same(stages, [['one', 2, 0], ['two', 2, 1], ['three', 1, 0]]);
});

t.test('validation names a bad key of a named stage with its index and name, every bad key at once, and refuses duplicate names', async (t) => {
  const dir = setup(step('one') + '  - filter: { name: sizes, size: { max: lots }, type: [pdff] }\n  - map: { name: one, processor: sha256, timeout: soon }\n', { 'a.txt': 'a' });
  const v = await sluice(['validate', 'p.yaml'], { cwd: dir });
  t.equal(v.code, 2);
  t.match(v.stderr, /stages\[1\]\.filter\.size\.max \(stage "sizes"\): expected a number of bytes or a size/);
  t.match(v.stderr, /stages\[1\]\.filter\.type\[0\] \(stage "sizes"\):/);
  t.match(v.stderr, /stages\[2\]\.map\.timeout \(stage "one"\): expected/);
  const dup = setup(step('one') + '  - map: { name: one, processor: sha256 }\n', { 'a.txt': 'a' });
  const d = await sluice(['validate', 'p.yaml'], { cwd: dup });
  t.equal(d.code, 2);
  t.match(d.stderr, /stages\[1\]\.map\.name \(stage "one"\): stage name "one" is already used by stages\[0\]/);
  const where = setup('  - filter: { where: ["output.pages >"] }\n  - map: { processor: sha256 }\n', { 'a.txt': 'a' });
  const w = await sluice(['validate', 'p.yaml'], { cwd: where });
  t.equal(w.code, 2);
  t.match(w.stderr, /stages\[0\]\.filter\.where\[0\]: expected "<field> <op> <value>"/);
  const good = setup(step('one') + '  - filter: { type: [pdf] }\n  - map: { processor: sha256 }\n', { 'a.txt': 'a' });
  const ok = await sluice(['validate', 'p.yaml'], { cwd: good });
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /walk -> dedupe\(path\+size\+mtime\) -> map\(one: .*step\.mjs.*\) -> filter\(filter1: type\) -> map\(map2: sha256/);
});

t.test('changing a later stage\'s options is a config change: the items are done again', async (t) => {
  const dir = setup(step('one') + step('two'), { 'a.txt': 'a', 'b.txt': 'b' });
  const first = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(ofType(first.lines, 'result').length, 2);
  const changed = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[1].map.options.tag=deux'], { cwd: dir });
  t.match(changed.stderr, /the stages \(a processor, its options or a filter\) changed/);
  t.same(ofType(changed.lines, 'result').map((r) => (r.output as { tag: string }).tag), ['deux', 'deux']);
});

t.test('--set finds a stage by its name: stages[NAME].map...; an unknown name is a usage error naming the stages that have one', async (t) => {
  const dir = setup(step('one') + step('two'), { 'a.txt': 'a' });
  const run = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[two].map.options.tag=zwei'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  t.match(ofType(run.lines, 'result')[0], { output: { tag: 'zwei', prev: 'one' } });
  const bad = await sluice(['run', 'p.yaml', '--progress', 'none', '--set', 'stages[three].map.timeout=5s'], { cwd: dir });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--set stages\[three\]\.map\.timeout: no stage is named "three" \(named stages: one, two\)/);
  const wrong = await sluice(['run', 'p.yaml', '--set', 'stages[two].map.timeout=soon'], { cwd: dir });
  t.equal(wrong.code, 2);
  t.match(wrong.stderr, /stages\[1\]\.map\.timeout \(stage "two"\): expected/, 'its errors name the stage by place and name');
});

t.test('a worker lost inside fused stages fails the item at the stage it was at, not the first', async (t) => {
  // noop then pdf-text, the same settings: one task runs both; the bomb's memory gets the worker stopped in pdf-text
  const opts = 'concurrency: 1, timeout: 120s, max_rss_mb: 800, quarantine_after: 1';
  const dir = setup(`  - map: { name: first, processor: noop, ${opts} }\n  - map: { name: text, processor: pdf-text, ${opts}, options: { engine: pdfjs } }\n`,
    { 'bomb.pdf': fs.readFileSync(path.join(FIXTURES, 'pdf', 'bomb.pdf')) });
  const r = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  t.match(ofType(r.lines, 'result'), [{ status: 'failed', stage: 'text', error: { code: 'SLUICE_E_QUARANTINED', message: /SLUICE_E_WORKER_OOM/ } }]);
  t.match(r.lines.at(-1)!.stages, [{ name: 'first', in: 1, ok: 1, failed: 0 }, { name: 'text', in: 1, ok: 0, failed: 1 }], 'counted where it failed');
});
