// Running out of file descriptors loses nothing: a limit too low is said up front, and EMFILE
// half-way through stops the run without recording any item as failed.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, FIXTURES, ROOT, SAMPLES, readJournal, sluice, tmpDir } from '../helpers.js';
import { VERSION } from '../../lib/core/version.js';
import { fdsNeeded, openFileLimit } from '../../lib/core/limits.js';

/** sluice under `ulimit -n <n>` (soft and hard: Node cannot raise it back). */
function limited(n: number, args: string[], cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('sh', ['-c', `ulimit -n ${n} && exec ${quoted}`], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

/** Every journal line ok, one per key, and as many keys as files. */
type TestLike = { equal(...args: any[]): boolean; same(...args: any[]): boolean };

function allDone(t: TestLike, stateDir: string, files: number) {
  const entries = readJournal(stateDir);
  const latest = new Map(entries.map((e) => [e.key, e]));
  t.equal(latest.size, files, 'every item is in the journal');
  t.same([...latest.values()].filter((e) => e.status !== 'ok').map((e) => [e.path, e.error?.code]), [], 'and every one is ok');
}

t.test('the open-file limit is read from /proc/self/limits', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'limits'), 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            64                   4096                 files\n');
  t.equal(openFileLimit(path.join(dir, 'limits')), 64);
  t.equal(openFileLimit(path.join(dir, 'none')), null, 'unknown where it cannot be read');
  t.ok(fdsNeeded(4) > fdsNeeded(1), 'more workers need more');
});

t.test('with ulimit -n 64, --version works and a run is refused up front, saying what it needs; with the limit raised every item is done', async (t) => {
  const v = await limited(64, ['--version'], tmpDir());
  t.equal(v.code, 0, v.stderr);
  t.equal(v.stdout.trim(), VERSION);
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
  const r = await limited(64, ['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none', '-j', '2'], dir);
  t.equal(r.code, 3);
  t.match(r.stderr, `the open-file limit is 64 (ulimit -n); a run with 2 worker(s) needs at least ${fdsNeeded(2)}`);
  t.notMatch(r.stderr, STACK, 'no stack trace');
  t.same(readJournal(path.join(dir, 'st')), [], 'nothing recorded');
  t.notOk(fs.existsSync(path.join(dir, 'st/lock')), 'no lock left behind');
  const again = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none', '-j', '2'], { cwd: dir });
  t.equal(again.code, 0, again.stderr);
  allDone(t, path.join(dir, 'st'), 20);
});

t.test('with ulimit -n 128 and 50 PDFs: no crash, no item recorded failed for lack of descriptors, and the next run completes every item', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  const pdfs = fs.readdirSync(SAMPLES).filter((f) => f.endsWith('.pdf'));
  for (let i = 0; i < 50; i++) fs.copyFileSync(path.join(SAMPLES, pdfs[i % pdfs.length]!), path.join(dir, 'in', `d${String(i).padStart(2, '0')}.pdf`));
  const args = ['run', '--input', 'in', '--processor', 'pdf-text', '--out', 'out', '--state', 'st', '--progress', 'none', '-j', '8'];
  const r = await limited(128, args, dir);
  t.ok(r.code === 0 || r.code === 3, `exit 0, or 3 for the run stopped (got ${r.code}: ${r.stderr.slice(0, 400)})`);
  t.notMatch(r.stderr, STACK, 'no stack trace');
  t.same(readJournal(path.join(dir, 'st')).filter((e) => e.status !== 'ok').map((e) => [e.path, e.error?.code]), [], 'no item recorded failed');
  t.notOk(fs.existsSync(path.join(dir, 'st/lock')), 'no lock left behind');
  const again = await sluice(args, { cwd: dir });
  t.equal(again.code, 0, again.stderr);
  allDone(t, path.join(dir, 'st'), 50);
});

t.test('a processor that runs the process out of descriptors stops the run (exit 3) without recording its item; the next run does it', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(dir, 'in', i === 4 ? 'f4-hog.txt' : `f${i}.txt`), 'x');
  fs.writeFileSync(path.join(dir, 'HOG'), '');
  // a low limit keeps the hog small; the RSS watchdog and the progress lines run while it holds them all
  const args = ['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/fd-hog.mjs'), '--state', 'st', '--progress', 'ndjson',
    '--progress-interval', '50ms', '-j', '1'];
  const r = await limited(256, args, dir);
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /out of file descriptors on in\/f4-hog\.txt: .*EMFILE.*raise the open-file limit/);
  t.notMatch(r.stderr, STACK, 'no stack trace: no timer threw');
  const summary = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).at(-1);
  t.match(summary, { type: 'summary', stopped: 'out of file descriptors', exit_code: 3 });
  const journal = readJournal(path.join(dir, 'st'));
  t.notOk(journal.some((e) => e.path === 'in/f4-hog.txt'), 'the item is not recorded');
  t.same(journal.filter((e) => e.status !== 'ok'), [], 'nothing is recorded failed');
  t.notOk(fs.existsSync(path.join(dir, 'st/lock')), 'no lock left behind');
  fs.rmSync(path.join(dir, 'HOG'));
  const again = await limited(256, args, dir);
  t.equal(again.code, 0, again.stderr);
  allDone(t, path.join(dir, 'st'), 10);
});

t.test('a processor that cannot initialise stops the run (exit 2) instead of recording every item as failed', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/broken-init.mjs'), '--state', 'st', '--progress', 'none', '-j', '1'], { cwd: dir });
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /processor .*broken-init\.mjs failed while loading: cannot initialise: model file models\/x\.bin is missing/);
  t.same(r.lines, [], 'refused before the run starts: no result and no summary');
  t.same(readJournal(path.join(dir, 'st')), [], 'no item recorded');
});

t.test("no module but core/zod.ts imports zod's ES module entry (its ~100 files opened at once fail a start under ulimit -n 64)", async (t) => {
  const lib = path.join(ROOT, 'lib');
  const offenders = (fs.readdirSync(lib, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && f !== path.join('core', 'zod.ts'))
    .filter((f) => /^import\s+(?!type\b)[^;]*from\s+'zod(\/[^']*)?'/m.test(fs.readFileSync(path.join(lib, f), 'utf8')));
  t.same(offenders, [], 'import { z } from core/zod.js instead');
});
