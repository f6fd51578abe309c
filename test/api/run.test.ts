// run() in the test's own process: the events as objects, the outcome, the checkpoint it leaves,
// and stopping it from the program (an AbortSignal, leaving the iteration) as the CLI is stopped
// by SIGINT and a closed stdout.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { run, SluiceError, openCheckpoint, type PipelineSpec, type RunHandle } from '../../lib/index.js';
import { BIN, FIXTURES, readJournal, sluice, tmpDir, track, tree } from '../helpers.js';

// The worker threads run() starts take the process's flags (lib/core/threads.ts): in this test
// process those include the test runner's --import hooks, which every thread would load before
// sluice's code (seconds per thread on a busy machine). A program using sluice has none: drop them.
for (let i = process.execArgv.length - 1; i >= 0; i--) if (/@tapjs/.test(process.execArgv[i]!)) process.execArgv.splice(i, 1);

/** The CLI as a user starts it, without the test runner's NODE_OPTIONS (env(1) execs node: the pid is sluice's). */
const QUIET = ['env', '-u', 'NODE_OPTIONS'];

const slow = path.join(FIXTURES, 'processors/slow.mjs');
const throws = path.join(FIXTURES, 'processors/throws.mjs');

type Ev = Record<string, any>;

function spec(root: string, processor: string, options?: Record<string, unknown>): PipelineSpec {
  return { version: 1, name: 'api-test', source: { walk: { roots: [root] } }, stages: [{ map: { processor, ...(options ? { options } : {}) } }] };
}

/** A Writable that keeps what sluice says on stderr. */
function collector(): Writable & { text: string } {
  const w = new Writable({ write(chunk, _e, cb) { w.text += String(chunk); cb(); } }) as Writable & { text: string };
  w.text = '';
  return w;
}

/** Every event of a run, to its end. */
async function drain(h: RunHandle): Promise<Ev[]> {
  const events: Ev[] = [];
  for await (const ev of h) events.push(ev);
  return events;
}

const ofType = (evs: Ev[], type: string) => evs.filter((e) => e.type === type);

/** The journal's lines, each checked to be a whole entry (ends with a newline, parses, has a key and a status). */
function wholeJournal(t: Test, stateDir: string): Ev[] {
  const raw = fs.readFileSync(path.join(stateDir, 'journal.ndjson'), 'utf8');
  t.ok(raw === '' || raw.endsWith('\n'), 'the journal ends with a complete line');
  const bad: string[] = [];
  const lines = raw.split('\n').filter(Boolean).map((l) => {
    try {
      const e = JSON.parse(l) as Ev;
      if (typeof e.key !== 'string' || (e.status !== 'ok' && e.status !== 'failed')) bad.push(l);
      return e;
    } catch {
      bad.push(l);
      return {};
    }
  });
  t.same(bad, [], 'every journal line is a complete entry');
  return lines;
}

function dupes(keys: string[]): string[] {
  const seen = new Set<string>();
  return keys.filter((k) => (seen.has(k) ? true : (seen.add(k), false)));
}

/** A tree of `n` files of different sizes and contents; their absolute paths. */
function files(dir: string, n: number): string[] {
  const bodies: Record<string, string> = {};
  for (let i = 0; i < n; i++) bodies[`d${i % 3}/f${String(i).padStart(4, '0')}.txt`] = `file ${i}\n`.repeat(1 + ((i * 37) % 200));
  tree(dir, bodies);
  return Object.keys(bodies).map((rel) => path.join(dir, rel));
}

t.test('a run in-process: one start, one result per file with its sha256, a summary, exit 0, a journal line per file', async (t) => {
  const dir = tmpDir();
  const paths = files(path.join(dir, 'in'), 25);
  const st = path.join(dir, 'st');
  const err = collector();
  const h = run(spec(path.join(dir, 'in'), 'sha256'), { stateDir: st, progressIntervalMs: 0, stderr: err });
  const events = await drain(h);
  t.same([...new Set(events.map((e) => e.type))].sort(), ['result', 'start', 'summary'], 'only start, result and summary events (no progress with progressIntervalMs 0)');
  t.equal(ofType(events, 'start').length, 1, 'one start');
  t.equal(events[0]!.type, 'start', 'the start comes first');
  t.equal(events.at(-1)!.type, 'summary', 'the summary comes last');
  t.ok(events.every((e) => e.v === 1), 'every event is v1');
  const results = ofType(events, 'result');
  t.same(results.map((r) => path.resolve(r.path)).sort(), [...paths].sort(), 'one result per file');
  const wrong = results.filter((r) => r.status !== 'ok' || r.output?.sha256 !== createHash('sha256').update(fs.readFileSync(path.resolve(r.path))).digest('hex'));
  t.same(wrong, [], 'each result is ok with the sha256 node:crypto computes for the file');
  const summary = await h.summary;
  t.same(summary, events.at(-1), '`summary` is the summary event');
  t.match(summary, { type: 'summary', ok: paths.length, failed: 0, skipped: 0, exit_code: 0 });
  const outcome = await h.outcome;
  t.equal(outcome.exitCode, 0, 'exit code 0');
  t.equal(outcome.stopped, null, 'not stopped');
  const journal = readJournal(st);
  t.equal(journal.length, paths.length, 'a journal line per file');
  t.same(journal.map((e) => e.key).sort(), results.map((r) => r.key).sort(), 'the journal holds the keys of the results');
  t.equal(err.text, '', 'nothing said on stderr');
});

t.test('a second run() over the same state dir skips every file: no results, summary.skipped = N', async (t) => {
  const dir = tmpDir();
  const paths = files(path.join(dir, 'in'), 12);
  const st = path.join(dir, 'st');
  const first = await drain(run(spec(path.join(dir, 'in'), 'sha256'), { stateDir: st, progressIntervalMs: 0 }));
  t.equal(ofType(first, 'result').length, paths.length);
  const h = run(spec(path.join(dir, 'in'), 'sha256'), { stateDir: st, progressIntervalMs: 0 });
  const again = await drain(h);
  t.same(ofType(again, 'result'), [], 'no result events');
  t.match(again[0], { type: 'start', already_done: paths.length });
  t.match(await h.summary, { ok: 0, failed: 0, skipped: paths.length, exit_code: 0 });
  t.equal((await h.outcome).exitCode, 0);
  t.equal(readJournal(st).length, paths.length, 'nothing more journaled');
});

t.test('items a processor throws on: failed results with error.code SLUICE_E_PROCESSOR, counted in the summary, exit 1', async (t) => {
  const dir = tmpDir();
  const names = ['a.txt', 'bad-1.txt', 'b.txt', 'c.txt', 'bad-2.txt', 'd.txt', 'bad-3.txt'];
  tree(path.join(dir, 'in'), Object.fromEntries(names.map((n) => [n, n])));
  const st = path.join(dir, 'st');
  const h = run(spec(path.join(dir, 'in'), throws), { stateDir: st, progressIntervalMs: 0, concurrency: 2 });
  const results = ofType(await drain(h), 'result');
  const failed = results.filter((r) => r.status === 'failed');
  t.same(failed.map((r) => path.basename(r.path)).sort(), ['bad-1.txt', 'bad-2.txt', 'bad-3.txt'], 'the files it throws on fail');
  for (const r of failed) t.match(r.error, { code: 'SLUICE_E_PROCESSOR', message: /refusing/, retryable: false }, `${path.basename(r.path)}: its error has the code`);
  t.ok(results.filter((r) => r.status === 'ok').every((r) => r.output?.size === fs.statSync(path.resolve(r.path)).size), 'the others are ok with their output');
  t.match(await h.summary, { ok: 4, failed: 3, exit_code: 1 });
  t.equal((await h.outcome).exitCode, 1, 'exit code 1');
  const journal = readJournal(st);
  t.same(journal.filter((e) => e.status === 'failed').map((e) => e.error?.code), ['SLUICE_E_PROCESSOR', 'SLUICE_E_PROCESSOR', 'SLUICE_E_PROCESSOR'], 'the journal records the failures with their code');
  t.equal(journal.length, names.length);
});

t.test('a pipeline with a bad key cannot start: summary rejects and iteration throws SLUICE_E_CONFIG, nothing is written', async (t) => {
  const dir = tmpDir();
  files(path.join(dir, 'in'), 3);
  const st = path.join(dir, 'st');
  const bad = { ...spec(path.join(dir, 'in'), 'sha256'), colour: 'blue' };
  const h = run(bad, { stateDir: st, progressIntervalMs: 0 });
  const err = await h.summary.then(() => null, (e: unknown) => e);
  t.ok(err instanceof SluiceError, 'summary rejects with a SluiceError');
  t.match(err, { code: 'SLUICE_E_CONFIG', message: /colour/ }, 'its code is SLUICE_E_CONFIG and its message names the key');
  await t.rejects(h.outcome, { code: 'SLUICE_E_CONFIG' }, 'outcome rejects too');
  const seen: Ev[] = [];
  const thrown = await (async () => {
    for await (const ev of h) seen.push(ev);
  })().then(() => null, (e: unknown) => e);
  t.ok(thrown instanceof SluiceError, 'iterating throws a SluiceError');
  t.equal(thrown, err, 'the same error summary rejected with');
  t.same(seen, [], 'no event before it');
  t.notOk(fs.existsSync(st), 'the state dir was not even created');
});

t.test('a state dir locked by another holder: summary rejects and iteration throws SLUICE_E_LOCKED, the checkpoint is left as it was', async (t) => {
  const dir = tmpDir();
  files(path.join(dir, 'in'), 3);
  const st = path.join(dir, 'st');
  const cp = await openCheckpoint(st);
  t.teardown(() => cp.close());
  const before = fs.readdirSync(st).sort();
  const h = run(spec(path.join(dir, 'in'), 'sha256'), { stateDir: st, progressIntervalMs: 0 });
  const err = await h.summary.then(() => null, (e: unknown) => e);
  t.ok(err instanceof SluiceError, 'summary rejects with a SluiceError');
  t.match(err, { code: 'SLUICE_E_LOCKED' });
  const thrown = await drain(h).then(() => null, (e: unknown) => e);
  t.ok(thrown instanceof SluiceError, 'iterating throws a SluiceError');
  t.equal(thrown, err, 'the same error summary rejected with');
  t.same(fs.readdirSync(st).sort(), before, 'no file added to the state dir (no run.json, no report)');
  t.equal(fs.statSync(path.join(st, 'journal.ndjson')).size, 0, 'the journal is still empty');
  await cp.close();
  const after = run(spec(path.join(dir, 'in'), 'sha256'), { stateDir: st, progressIntervalMs: 0 });
  t.equal((await after.outcome).exitCode, 0, 'once released, a run goes ahead');
});

// The abort/SIGINT comparison: the same slow pipeline (20 ms an item, 2 workers, 200 files),
// stopped after K results in-process with an AbortSignal and as the CLI with SIGINT, then resumed.
const N = 200;
const K = 15;
const MS = 20;

/** What an interrupted run left, the same checks for both. */
function checkStopped(t: Test, st: string, resultKeys: string[], summary: Ev, exitCode: number | null, label: string): Ev[] {
  t.equal(exitCode, 130, `${label}: exit code 130`);
  t.equal(summary.exit_code, 130, `${label}: the summary says 130`);
  t.equal(summary.stopped, 'SIGINT', `${label}: the summary says it stopped at SIGINT`);
  const journal = wholeJournal(t, st);
  const keys = journal.map((e) => e.key as string);
  t.same(dupes(keys), [], `${label}: no item journaled twice`);
  t.ok(keys.length >= K && keys.length < N, `${label}: stopped part way (${keys.length} of ${N} journaled)`);
  t.same([...keys].sort(), [...resultKeys].sort(), `${label}: every journaled item had its result event, and every result event is journaled`);
  t.equal(summary.ok + summary.failed, keys.length, `${label}: the summary counts what was journaled`);
  t.equal(JSON.parse(fs.readFileSync(path.join(st, 'run.json'), 'utf8')).last.exit_code, 130, `${label}: run.json's last.exit_code is 130`);
  t.equal(JSON.parse(fs.readFileSync(path.join(st, 'report.json'), 'utf8')).interrupted, true, `${label}: the report says interrupted`);
  return journal;
}

/** After the resumed run: every file recorded exactly once across both runs. */
function checkResumed(t: Test, st: string, firstKeys: string[], start: Ev, resultKeys: string[], label: string): void {
  t.equal(start.already_done, firstKeys.length, `${label}: the second run's start says already_done = what the first journaled`);
  const keys = wholeJournal(t, st).map((e) => e.key as string);
  t.same(dupes(keys), [], `${label}: journal keys unique after the resume`);
  t.equal(keys.length, N, `${label}: all ${N} files journaled`);
  const overlap = resultKeys.filter((k) => firstKeys.includes(k));
  t.same(overlap, [], `${label}: the second run redid nothing the first recorded`);
  t.equal(resultKeys.length, N - firstKeys.length, `${label}: the second run did the rest`);
}

t.test('aborting run() leaves the checkpoint as SIGINT leaves the CLI\'s, and both resume to every file exactly once', async (t) => {
  const dir = tmpDir();
  const root = path.join(dir, 'in');
  files(root, N);
  const pipelineFile = path.join(dir, 'slow.json');
  fs.writeFileSync(pipelineFile, JSON.stringify(spec(root, slow, { ms: MS })));
  const apiState = path.join(dir, 'st-api');
  const cliState = path.join(dir, 'st-cli');

  // (a) in-process, aborted once K results were seen; the iteration goes on to the summary
  const ac = new AbortController();
  const h = run(spec(root, slow, { ms: MS }), { stateDir: apiState, progressIntervalMs: 0, concurrency: 2, signal: ac.signal, stderr: collector() });
  const apiEvents: Ev[] = [];
  let seen = 0;
  for await (const ev of h) {
    apiEvents.push(ev);
    if (ev.type === 'result' && ++seen === K) ac.abort('SIGINT');
  }
  const outcome = await h.outcome;
  t.equal(outcome.stopped, 'SIGINT', 'in-process: outcome.stopped');
  t.match(outcome.reason, { kind: 'abort', reason: 'SIGINT' });
  t.same(outcome.summary, apiEvents.at(-1), 'in-process: the last event is the summary');
  const apiFirst = checkStopped(t, apiState, ofType(apiEvents, 'result').map((r) => r.key), outcome.summary, outcome.exitCode, 'in-process');

  // (b) the CLI, sent SIGINT after K result lines
  const child = track(spawn(QUIET[0]!, [...QUIET.slice(1), process.execPath, BIN, 'run', pipelineFile, '--state', cliState, '-j', '2', '--progress', 'none'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let out = '';
  let signalled = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (!signalled && (out.match(/"type":"result"/g)?.length ?? 0) >= K) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.ok(signalled, 'the CLI was sent SIGINT after K results');
  const cliLines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
  const cliFirst = checkStopped(t, cliState, ofType(cliLines, 'result').map((r) => r.key), cliLines.at(-1)!, code, 'CLI');
  t.same(Object.keys(outcome.summary).sort(), Object.keys(cliLines.at(-1)!).sort(), 'the two summaries have the same fields');

  // resumed to the end: in-process, and the CLI
  const again = run(spec(root, slow, { ms: MS }), { stateDir: apiState, progressIntervalMs: 0, concurrency: 2 });
  const againEvents = await drain(again);
  t.equal((await again.outcome).exitCode, 0, 'in-process resume: exit 0');
  checkResumed(t, apiState, apiFirst.map((e) => e.key), againEvents[0]!, ofType(againEvents, 'result').map((r) => r.key), 'in-process');
  const cliAgain = await sluice(['run', pipelineFile, '--state', cliState, '-j', '2', '--progress', 'none'], { cwd: dir, t, prefix: QUIET });
  t.equal(cliAgain.code, 0, `CLI resume: exit 0 ${cliAgain.stderr}`);
  checkResumed(t, cliState, cliFirst.map((e) => e.key), cliAgain.lines[0]!, ofType(cliAgain.lines, 'result').map((r) => r.key), 'CLI');
});

t.test('breaking out of the iteration stops the run as a closed stdout does (exit 141); what was recorded stays recorded', async (t) => {
  const dir = tmpDir();
  const root = path.join(dir, 'in');
  files(root, N);
  const st = path.join(dir, 'st');
  const h = run(spec(root, slow, { ms: MS }), { stateDir: st, progressIntervalMs: 0, concurrency: 2, stderr: collector() });
  const seen: string[] = [];
  for await (const ev of h) {
    if (ev.type === 'result') seen.push(ev.key);
    if (seen.length === K) break;
  }
  const outcome = await h.outcome;
  t.equal(outcome.exitCode, 141, 'exit code 141');
  t.match(outcome.summary, { exit_code: 141, stopped: 'stdout closed' });
  t.equal(JSON.parse(fs.readFileSync(path.join(st, 'run.json'), 'utf8')).last.exit_code, 141, 'run.json says 141');
  const keys = wholeJournal(t, st).map((e) => e.key as string);
  t.same(dupes(keys), [], 'no item journaled twice');
  t.same(seen.filter((k) => !keys.includes(k)), [], 'every result seen before the break is journaled');
  t.ok(keys.length < N, `the run stopped part way (${keys.length} of ${N} journaled)`);
  t.equal(outcome.summary.ok, keys.length, 'the summary counts what was journaled');

  const again = run(spec(root, slow, { ms: MS }), { stateDir: st, progressIntervalMs: 0, concurrency: 2 });
  const events = await drain(again);
  t.equal((await again.outcome).exitCode, 0);
  checkResumed(t, st, keys, events[0]!, ofType(events, 'result').map((r) => r.key), 'resume');
});
