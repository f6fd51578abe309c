// `sluice run --exec`: a command per file, run in the workers, as a user meets it.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, FIXTURES, exitWithin, ofType, quietEnv, readJournal, sluice, tmpDir, track, node } from '../helpers.js';
import { gone, killAll, pidFrom } from '../support/procs.js';

const results = (lines: Record<string, any>[]) => ofType(lines, 'result');

/** Files whose names would run `touch <marker>` if a shell ever read them, each holding its own name. */
const HOSTILE = [
  'plain.txt', 'with space.txt', `it's "quoted".txt`, '$(touch MARKER-subst).txt', '`touch MARKER-tick`.txt',
  'x; touch MARKER-semi.txt', 'a && touch MARKER-and.txt', 'new\nline.txt', '-n.txt', '--help', "'; touch MARKER-q; '.txt",
];

for (const shell of [false, true]) {
  t.test(`file names with spaces, quotes, $(...), ;, backquotes, a newline or a leading dash are passed as one argument and run nothing${shell ? ' (shell: true)' : ''}`, async (t) => {
    const dir = tmpDir();
    const input = path.join(dir, 'in');
    fs.mkdirSync(input);
    for (const n of HOSTILE) fs.writeFileSync(path.join(input, n), `content of ${n}`);
    // run from inside the input dir: the paths are the bare names, so "-n.txt" is one (cat would take it as options)
    const r = await sluice(['run', '--input', '.', '--exec', 'cat {}', ...(shell ? ['--shell'] : []), '--state', path.join(dir, 'st'), '--progress', 'none', '-j', '2'], { cwd: input });
    t.equal(r.code, 0, r.stderr);
    const got = results(r.lines);
    t.equal(got.length, HOSTILE.length, 'one result per file');
    for (const res of got) {
      t.equal(res.status, 'ok', `${JSON.stringify(res.path)}: ${JSON.stringify(res.error)}`);
      t.equal(res.output?.stdout, `content of ${res.path}`, `${JSON.stringify(res.path)} was read as one file name`);
    }
    t.same(got.map((x) => x.path).sort(), [...HOSTILE].sort());
    const markers = [input, dir, process.cwd()].flatMap((d) => fs.readdirSync(d).filter((f) => f.startsWith('MARKER')));
    t.same(markers, [], 'no name was executed');
  });
}

t.test('the placeholders reach the command: {} ./-name for a leading dash, {.}, {/}, {//}, {/.}', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'report.v2.pdf'), 'x');
  fs.writeFileSync(path.join(dir, '-dash.pdf'), 'x');
  const r = await sluice(['run', '--input', '.', '--exec', `printf '[%s]' {} {.} {/} {//} {/.}`, '--state', path.join(dir, '..', path.basename(dir) + '-st'), '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const by = Object.fromEntries(results(r.lines).map((x) => [x.path, x.output.stdout]));
  t.equal(by['sub/report.v2.pdf'], '[sub/report.v2.pdf][sub/report.v2][report.v2.pdf][sub][report.v2]');
  t.equal(by['-dash.pdf'], '[./-dash.pdf][./-dash][-dash.pdf][.][-dash]');
});

t.test('a non-zero exit, a signal and a timeout each fail with their own code and the tail of stderr; the run goes on', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (const n of ['ok', 'status', 'signal', 'slow']) fs.writeFileSync(path.join(dir, 'in', n), n);
  const script = 'case "$1" in *status) echo "cannot read $1" >&2; exit 4;; *signal) echo segfaulting >&2; kill -SEGV $$;; *slow) echo slow start >&2; sleep 1000;; esac; echo fine';
  const r = await sluice(['run', '--input', 'in', '--exec', `sh -c '${script}' sh {}`, '--timeout', '2s', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  const by = Object.fromEntries(results(r.lines).map((x) => [path.basename(x.path), x]));
  t.match(by.ok, { status: 'ok', output: { stdout: 'fine\n', stdout_bytes: 5 } });
  t.match(by.status, { status: 'failed', error: { code: 'SLUICE_E_EXEC_STATUS', message: 'sh: exit status 4; stderr: cannot read in/status', retryable: false } });
  t.match(by.signal, { status: 'failed', error: { code: 'SLUICE_E_EXEC_SIGNAL', message: 'sh: killed by SIGSEGV; stderr: segfaulting', retryable: false } });
  t.match(by.slow, { status: 'failed', error: { code: 'SLUICE_E_TIMEOUT', message: 'no result after 2000 ms (map.timeout): sh and its process group were stopped; stderr: slow start', retryable: true } });
  t.same(readJournal(path.join(dir, 'st')).map((l) => l.error?.code ?? l.status).sort(), ['SLUICE_E_EXEC_SIGNAL', 'SLUICE_E_EXEC_STATUS', 'SLUICE_E_TIMEOUT', 'ok']);
});

/** sh that starts a grandchild `sleep 1000`, writes its pid to <pids>/<name>, says so on stderr and waits. */
const grandchildCmd = (pids: string) => `sh -c 'sleep 1000 & echo $! > "$1/$2"; echo started >&2; wait' sh ${pids} {/}`;

t.test('an exec timeout leaves no process behind: the grandchild the command started is gone', async (t) => {
  const dir = tmpDir();
  const pids = path.join(dir, 'pids');
  fs.mkdirSync(pids);
  fs.mkdirSync(path.join(dir, 'in'));
  for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(dir, 'in', n), n);
  const seen: number[] = [];
  t.teardown(() => killAll(seen));
  const r = await sluice(['run', '--input', 'in', '--exec', grandchildCmd(pids), '--timeout', '1s', '-j', '2', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  t.same(results(r.lines).map((x) => x.error?.code), ['SLUICE_E_TIMEOUT', 'SLUICE_E_TIMEOUT', 'SLUICE_E_TIMEOUT']);
  for (const n of ['a', 'b', 'c']) {
    const pid = await pidFrom(path.join(pids, n));
    seen.push(pid);
    t.ok(await gone(pid), `grandchild of ${n} (pid ${pid}) is gone`);
  }
});

t.test('a worker stopped at the timeout (its processor ignoring ctx.signal) takes its command\'s whole group with it, at once', async (t) => {
  const dir = tmpDir();
  const pids = path.join(dir, 'pids');
  fs.mkdirSync(pids);
  fs.mkdirSync(path.join(dir, 'in'));
  for (const n of ['spin-1', 'spin-2', 'spin-3', 'spin-4']) fs.writeFileSync(path.join(dir, 'in', n), 'x');
  const seen: number[] = [];
  t.teardown(() => killAll(seen));
  // one at a time: each item's worker is stopped at its timeout before the next starts
  const run = sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/spawn-and-spin.mjs'), '--set', `stages[1].map.options.pids=${pids}`,
    '--timeout', '1s', '-j', '1', '--state', 'st', '--progress', 'none'], { cwd: dir });
  let first = '';
  for (let i = 0; i < 6000 && !first; i++) {
    first = fs.readdirSync(pids)[0] ?? '';
    if (!first) await new Promise((r) => setTimeout(r, 10));
  }
  const pid = await pidFrom(path.join(pids, first));
  seen.push(pid);
  t.ok(await gone(pid), `the grandchild of ${first} (pid ${pid}) is gone`);
  const startedSince = fs.readdirSync(pids).length;
  t.ok(startedSince < 4, `it was gone while the run went on (${startedSince} of 4 items had started), not only when the run ended`);
  const r = await run;
  for (const f of fs.readdirSync(pids)) if (f !== first) seen.push(await pidFrom(path.join(pids, f)));
  t.equal(r.code, 1, r.stderr);
  t.match(results(r.lines), Array(4).fill({ status: 'failed', error: { code: 'SLUICE_E_TIMEOUT', message: /the worker was stopped and replaced/ } }));
  for (const p of seen) t.ok(await gone(p), `grandchild ${p} is gone`);
});

for (const twice of [false, true]) {
  t.test(twice ? 'a second SIGINT quits at once and leaves no command running' : 'SIGINT past the grace period stops the commands still running, their whole groups', async (t) => {
    const dir = tmpDir();
    const pids = path.join(dir, 'pids');
    fs.mkdirSync(pids);
    fs.mkdirSync(path.join(dir, 'in'));
    for (const n of ['a', 'b']) fs.writeFileSync(path.join(dir, 'in', n), n);
    const seen: number[] = [];
    t.teardown(() => killAll(seen));
    const child = track(spawn(...node([BIN, 'run', '--input', 'in', '--exec', grandchildCmd(pids), '-j', '2', '--grace', twice ? '60s' : '300ms', '--state', 'st', '--progress', 'none']),
      { cwd: dir, env: quietEnv(), stdio: ['ignore', 'pipe', 'pipe'] }));
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.resume();
    for (const n of ['a', 'b']) seen.push(await pidFrom(path.join(pids, n)));
    child.kill('SIGINT');
    if (twice) {
      for (let i = 0; i < 6000 && !/SIGINT again to quit/.test(err); i++) await new Promise((r) => setTimeout(r, 10));
      child.kill('SIGINT');
    }
    t.equal(await exitWithin(child, 120_000), 130, err);
    for (const pid of seen) t.ok(await gone(pid), `grandchild ${pid} is gone`);
    t.same(readJournal(path.join(dir, 'st')), [], 'the stopped items are not recorded: the next run does them');
  });
}

t.test('with an output dir, stdout goes to <out>/<rel>.out and the result names it', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'in', 'sub', 'a.txt'), 'hello');
  const r = await sluice(['run', '--input', 'in', '--exec', 'cat', '--out', 'out', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.match(results(r.lines), [{ status: 'ok', output: { stdout_path: 'out/sub/a.txt.out', stdout_bytes: 5 } }]);
  t.equal(fs.readFileSync(path.join(dir, 'out/sub/a.txt.out'), 'utf8'), 'hello');
});

t.test('a program that is not on PATH is a start-up error (exit 2, one message), nothing runs or is recorded', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}`), 'x');
  const r = await sluice(['run', '--input', 'in', '--exec', 'no-such-program-sluice {} -', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.match(r.stderr, /program not found on PATH: no-such-program-sluice/);
  t.notOk(fs.existsSync(path.join(dir, 'st')), 'no state dir, no journal');
  const shellSyntax = await sluice(['run', '--input', 'in', '--exec', 'cat {} | wc -l', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(shellSyntax.code, 2);
  t.match(shellSyntax.stderr, /"\|" at character 8 is shell syntax.*--shell/);
  const both = await sluice(['run', '--input', 'in', '--exec', 'cat', '--processor', 'noop'], { cwd: dir });
  t.equal(both.code, 2);
  t.match(both.stderr, /--exec and --processor cannot be used together/);
});

t.test('sluice validate names a missing program and a bad template in a pipeline file', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'p.yaml'), [
    'version: 1', 'name: ex', 'source: { walk: { roots: [.] } }', 'stages:', '  - dedupe: {}',
    '  - map: { processor: exec, options: { cmd: "no-such-program-sluice {}", max_inline: -1 } }', '',
  ].join('\n'));
  const r = await sluice(['validate', 'p.yaml'], { cwd: dir });
  t.equal(r.code, 2);
  t.match(r.stderr, /stages\[1\]\.map\.options\.max_inline: expected a value >= 0/);
  fs.writeFileSync(path.join(dir, 'p.yaml'), fs.readFileSync(path.join(dir, 'p.yaml'), 'utf8').replace(', max_inline: -1', ''));
  const r2 = await sluice(['validate', 'p.yaml'], { cwd: dir });
  t.equal(r2.code, 2);
  t.match(r2.stderr, /stages\[1\]\.map\.options\.cmd: program not found on PATH: no-such-program-sluice \(line 6\)/);
});
