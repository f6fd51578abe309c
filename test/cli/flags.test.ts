// The command line as a user of find, xargs and GNU parallel meets it: --include / --exclude,
// -O for processor options, the same flags for every verb, errors that name what was typed.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, FIXTURES, SAMPLES, exitWithin, ofType, sluice, tmpDir, track, node } from '../helpers.js';

function folder(): string {
  const dir = tmpDir();
  const pdf = fs.readFileSync(path.join(SAMPLES, 'press-release.pdf'));
  for (const [rel, body] of Object.entries({ 'in/a.pdf': pdf, 'in/sub/B.PDF': pdf, 'in/notes.txt': 'notes', 'in/.DS_Store': 'x', 'in/.git/x.pdf': pdf })) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), body);
  }
  return dir;
}
const paths = (r: { lines: Record<string, any>[] }) => ofType(r.lines, 'result').map((l) => l.path as string).sort();

t.test('a PDF processor from flags alone walks only PDFs (any case), never other files or dotfiles', async (t) => {
  const dir = folder();
  const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-info', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.same(paths(r), ['in/a.pdf', 'in/sub/B.PDF']);
});

t.test('--include and --exclude replace what a run from flags alone walks', async (t) => {
  const dir = folder();
  const all = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--progress', 'none', '--state', 'st1'], { cwd: dir });
  t.same(paths(all), ['in/a.pdf', 'in/notes.txt', 'in/sub/B.PDF'], 'sha256 reads any file, still not dotfiles');
  const txt = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--progress', 'none', '--state', 'st2', '--include', '**/*.txt'], { cwd: dir });
  t.same(paths(txt), ['in/notes.txt']);
  const ex = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--progress', 'none', '--state', 'st3', '--exclude', 'sub', '--exclude', '*.txt'], { cwd: dir });
  t.same(paths(ex), ['in/.DS_Store', 'in/.git/x.pdf', 'in/a.pdf'], '--exclude replaces the dotfile default');
});

t.test('-O sets a processor option, and a bad value is named by its flag, never by a stage', async (t) => {
  const dir = folder();
  const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '--progress', 'none', '-O', 'max_chars=10'], { cwd: dir });
  t.equal(r.code, 1);
  t.same(ofType(r.lines, 'result').map((l) => l.error?.code), ['SLUICE_E_PDF_TOO_LARGE', 'SLUICE_E_PDF_TOO_LARGE'], 'max_chars=10 reached the processor');
  const bad = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '-O', 'max_pages=0'], { cwd: dir });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /-O max_pages: expected a value >= 1, got 0/);
  const to = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '--timeout', 'fast'], { cwd: dir });
  t.equal(to.code, 2);
  t.match(to.stderr, /--timeout: expected a duration/);
  for (const e of [bad, to]) t.notMatch(e.stderr, /stages|map\./, 'no stage the user never wrote');
  const malformed = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '-O', 'max_pages'], { cwd: dir });
  t.equal(malformed.code, 2);
  t.match(malformed.stderr, /-O max_pages: expected name=value/);
});

t.test('an unknown flag is named once, as typed, and an unknown word as an argument', async (t) => {
  const r = await sluice(['run', '--input', 'x', '--processor', 'noop', '--max-itemz', '3']);
  t.equal(r.code, 2);
  t.match(r.stderr, /^sluice: unknown option --max-itemz\n/);
  t.notMatch(r.stderr, /maxItemz/);
  const w = await sluice(['frob']);
  t.equal(w.code, 2);
  t.match(w.stderr, /unknown argument frob/);
});

t.test('plan, status and results take the same flags as run: changing the verb of a command line works', async (t) => {
  const dir = folder();
  const flags = ['--input', 'in', '--processor', 'pdf-info', '--include', '**/a.pdf'];
  const plan = await sluice(['plan', ...flags, '--json'], { cwd: dir });
  t.equal(plan.code, 0, plan.stderr);
  t.match(JSON.parse(plan.stdout), { found: 1, todo: 1 });
  t.equal((await sluice(['run', ...flags, '--progress', 'none'], { cwd: dir })).code, 0);
  const status = await sluice(['status', ...flags, '--json'], { cwd: dir });
  t.equal(status.code, 0, status.stderr);
  t.match(JSON.parse(status.stdout), { done: 1, ok: 1, pending: 0, found: 1 });
  const results = await sluice(['results', ...flags], { cwd: dir });
  t.equal(results.code, 0, results.stderr);
  t.same(results.lines.map((l) => [l.path, l.status, l.output.pages]), [['in/a.pdf', 'ok', 1]], 'results carries the ok item\'s output');
});

t.test('a directory given where a pipeline file goes suggests --input', async (t) => {
  const dir = folder();
  for (const verb of ['run', 'plan', 'status']) {
    const r = await sluice([verb, 'in'], { cwd: dir });
    t.equal(r.code, 2, verb);
    t.match(r.stderr, /in is a directory, not a pipeline file: to process the files in it, use --input in --processor NAME/, verb);
  }
});

t.test('--help wraps between words', async (t) => {
  const r = await sluice(['run', '--help']);
  t.equal(r.code, 0);
  const flat = r.stdout.replace(/\s+/g, ' ');
  for (const words of ['how long items in flight may take before they are stopped', 'the value is read as YAML', 'replaces source.walk.include;']) {
    t.ok(flat.includes(words), `"${words}" is whole`);
  }
});

t.test('the SIGINT message starts on its own line only on a terminal', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
  const child = track(spawn(...node([BIN, 'run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/slow.mjs'), '--state', 'st', '--progress', 'none', '-j', '1',
    '--set', 'stages[1].map.options.ms=500']), { cwd: dir }));
  const exited = exitWithin(child, 120_000);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => (out += d, out.includes('"result"') && resolve()));
    child.on('exit', () => resolve());
  });
  child.kill('SIGINT');
  t.equal(await exited, 130);
  t.match(err, /^sluice: SIGINT: finishing items in flight/, 'stderr is a pipe here: no empty line first');
});
