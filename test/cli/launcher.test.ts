import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { readTimeline, type TimelineHead } from '../../lib/run/timeline.js';
import { THREAD_YOUNG_GENERATION_MB } from '../../lib/core/threads.js';
import { ROOT, exitWithin, quietEnv, tmpDir, track, tree, type Teardown } from '../helpers.js';

// The command users run is package.json's "bin": a launcher whose first lines are a shell script
// starting Node with the main thread's heap sizes (docs/design-notes.md, "The main thread's heap").
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; version: string };
const LAUNCHER = path.join(ROOT, pkg.bin.sluice!);
// its `node` is this Node, found on PATH as a shell would
const env = quietEnv({ PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` });

/** Run `program` to its end (killed at the test's end if it is still going); its status, stdout and result lines. */
async function runProgram(t: Teardown, program: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  const child = track(spawn(program, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] }));
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await exitWithin(child, 60_000);
  const results = () => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.type === 'result');
  return { code, stdout, stderr, results };
}

t.test('the command in package.json "bin" runs as a program and hands every argument to sluice unchanged', async (t) => {
  t.ok(fs.statSync(LAUNCHER).mode & 0o111, 'executable');
  const dir = tmpDir();
  // a folder name a shell would split, expand or run
  const input = path.join(dir, `it's a "dir" $(touch x); -n`);
  tree(input, { 'a.txt': 'a', 'b.txt': 'bb' });
  const state = path.join(dir, 'state');
  const run = await runProgram(t, LAUNCHER, ['run', '--input', input, '--processor', 'noop', '--state', state, '--progress', 'none'], dir);
  t.equal(run.code, 0, run.stderr);
  t.same(run.results().map((r) => [r.status, path.basename(r.path)]).sort(), [['ok', 'a.txt'], ['ok', 'b.txt']], 'both files of the folder, found by its exact name');
  t.notOk(fs.existsSync(path.join(dir, 'x')), 'nothing in the name was run');
  const head = readTimeline(state)?.[0] as TimelineHead | undefined;
  t.match(head?.command, /^sluice run --input /, 'the timeline (and the HTML report) names the command sluice');
});

t.test('the launcher starts the main thread with its heap sizes, and the worker threads start with them set', async (t) => {
  const dir = tmpDir();
  const child = track(spawn(LAUNCHER, ['run', '-', '--processor', 'noop', '--state', path.join(dir, 'st'), '--progress', 'none'], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] }));
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // the run has started (its start line) while stdin is still open: read its command line then
  await new Promise<void>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('"type":"start"')) resolve();
    });
    child.once('exit', () => resolve());
  });
  const argv = fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
  t.equal(path.basename(argv[0]!), path.basename(process.execPath), 'the process is node itself (the shell exec\'d it): signals reach sluice');
  t.ok(argv.includes('--max-old-space-size=1536') && argv.includes('--max-semi-space-size=8'), `heap sizes given: ${argv.slice(0, 4).join(' ')}`);
  // an item through the worker threads: they started although those flags are not ones a thread takes
  const f = path.join(dir, 'one.txt');
  fs.writeFileSync(f, 'x');
  child.stdin.end(JSON.stringify({ path: f }) + '\n');
  t.equal(await exitWithin(child, 60_000), 0, stderr);
  t.match(stdout, /"type":"result".*"status":"ok"/, 'the item done in a worker');
});

t.test('each processor worker under the launcher has the heap max_memory_mb gives it, not the main thread\'s; heap sizes in NODE_OPTIONS are the user\'s', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'a.txt': 'a' });
  // a processor that reports its own thread's heap limit
  const proc = path.join(dir, 'limit.mjs');
  fs.writeFileSync(proc, "import v8 from 'node:v8';\nexport default async () => ({ limit_mb: v8.getHeapStatistics().heap_size_limit / 2 ** 20 });\n");
  const limitOf = async (state: string, extraEnv: Record<string, string>) => {
    const run = await runProgram(t, LAUNCHER, ['run', '--input', path.join(dir, 'in'), '--processor', proc, '--state', path.join(dir, state), '--progress', 'none'], dir, extraEnv);
    t.equal(run.code, 0, run.stderr);
    return run.results()[0]?.output?.limit_mb as number | undefined;
  };
  // V8 lets a heap-size flag win over a thread's resourceLimits: had the launcher left its
  // 1,536 MB set, the worker's limit would be 1,536 + 24 MB
  t.equal(await limitOf('st1', {}), 2048 + THREAD_YOUNG_GENERATION_MB, 'the default max_memory_mb (2048) plus the young generation');
  t.equal(await limitOf('st2', { NODE_OPTIONS: '--max-old-space-size=3000' }), 3000 + THREAD_YOUNG_GENERATION_MB, 'the user\'s own flag, as node gives it to every thread');
});

t.test('the launcher runs through a symlink without an extension, as npm install -g and npm link put it on PATH', async (t) => {
  const dir = tmpDir();
  fs.symlinkSync(LAUNCHER, path.join(dir, 'sluice'));
  const run = await runProgram(t, 'sluice', ['--version'], dir, { PATH: `${dir}${path.delimiter}${env.PATH ?? ''}` });
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout.trim(), pkg.version, 'the package\'s version');
});

t.test('an item that fills its worker\'s heap under a heap size from NODE_OPTIONS fails saying its real limit and that node\'s flag set it, not max_memory_mb', async (t) => {
  const dir = tmpDir();
  tree(path.join(dir, 'in'), { 'heap.txt': 'x' });
  const run = await runProgram(t, LAUNCHER, ['run', '--input', path.join(dir, 'in'), '--processor', path.join(ROOT, 'test/fixtures/processors/misbehave.mjs'), '--state', path.join(dir, 'st'), '--progress', 'none'], dir, { NODE_OPTIONS: '--max-old-space-size=96' });
  t.equal(run.code, 1, run.stderr);
  const [result] = run.results();
  t.equal(result?.error?.code, 'SLUICE_E_WORKER_OOM');
  t.match(result?.error?.message, new RegExp(`its JS heap limit: ${96 + THREAD_YOUNG_GENERATION_MB} MB in all, where map\\.max_memory_mb asks for 2048 MB .*: heap sizes given to node \\(NODE_OPTIONS or its command line\\) replace it`));
});
