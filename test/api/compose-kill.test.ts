// A program that composes the stages by hand (test/fixtures/compose-program.mjs: openCheckpoint,
// walk, map, journalSink under stream.pipeline) survives kill -9 as `sluice run` does: killed at
// random moments and run again until it finishes, it records every item exactly once. And it
// holds the state dir's lock: a second copy on the same state dir is refused.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, exitWithin, tmpDir, track } from '../helpers.js';
import { seeded } from '../support/seeded.js';

const PROGRAM = path.join(FIXTURES, 'compose-program.mjs');
const SLOW_SHA = path.join(FIXTURES, 'processors/slow-sha256.mjs');
const WAIT_FOR_FILE = path.join(FIXTURES, 'processors/wait-for-file.mjs');

/**
 * The program as a user starts it, without the test runner's NODE_OPTIONS (tap preloads itself
 * into children, which makes start-up slow enough that every kill would land before the first
 * item); env(1) execs node, so the pid is the program's.
 */
function program(cwd: string, args: string[]): { child: ChildProcess; out: () => string; err: () => string } {
  const child = track(spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, PROGRAM, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { child, out: () => out, err: () => err };
}

/** Resolves once `get()` matches `re` (true), or the child has exited, or after 60 s (a bound for a hang: false). */
function waitFor(child: ChildProcess, get: () => string, re: RegExp): Promise<boolean> {
  const giveUp = Date.now() + 60_000;
  return new Promise((resolve) => {
    const check = () => {
      if (re.test(get())) return done(true);
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > giveUp) return done(false);
    };
    const timer = setInterval(check, 10);
    const done = (v: boolean) => {
      clearInterval(timer);
      resolve(v);
    };
    check();
  });
}

/** Complete (newline-terminated) lines of the journal; a torn tail is not one. */
function completeLines(stateDir: string): string[] {
  const f = path.join(stateDir, 'journal.ndjson');
  if (!fs.existsSync(f)) return [];
  const raw = fs.readFileSync(f, 'utf8');
  return raw.slice(0, raw.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
}

function makeTree(dir: string, n: number): string[] {
  const rels: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = `d${String(Math.floor(i / 300)).padStart(2, '0')}`;
    if (i % 300 === 0) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const rel = `${d}/f${String(i).padStart(5, '0')}.txt`;
    fs.writeFileSync(path.join(dir, rel), `item ${i}\n`.repeat(1 + (i % 7)));
    rels.push(rel);
  }
  return rels;
}

t.test('a second copy of the composed program on a state dir in use fails with SLUICE_E_LOCKED; the first goes on', async (t) => {
  const dir = tmpDir();
  const rels = makeTree(path.join(dir, 'in'), 12);
  // the first copy's items wait for the file `go`: it holds the lock until the test creates it
  const gate = JSON.stringify({ gate: path.join(dir, 'go') });
  const first = program(dir, ['in', 'st', WAIT_FOR_FILE, gate]);
  t.teardown(() => { if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL'); });
  t.ok(await waitFor(first.child, first.out, /^open$/m), `the first copy opened the checkpoint ${first.err()}`);
  const second = program(dir, ['in', 'st', WAIT_FOR_FILE, gate]);
  const code = await exitWithin(second.child, 60_000);
  t.equal(code, 3, 'the second exits with SLUICE_E_LOCKED\'s exit code (3)');
  t.match(second.err(), /^SLUICE_E_LOCKED: .*st/m, 'its stderr names the code and the state dir');
  t.equal(second.out(), '', 'it never opened the checkpoint');
  t.equal(first.child.exitCode, null, 'the first copy is still running');
  fs.writeFileSync(path.join(dir, 'go'), '');
  t.equal(await exitWithin(first.child, 60_000), 0, `the first copy finishes: ${first.err()}`);
  t.match(first.out(), new RegExp(`^done ${rels.length}$`, 'm'), 'and records every item');
  t.equal(completeLines(path.join(dir, 'st')).length, rels.length, 'a journal line per item');
});

t.test('the composed program killed with SIGKILL at random moments, then run to the end: every item recorded exactly once', async (t) => {
  const ITEMS = 1500;
  const KILLS = 22;
  const seed = Number(process.env.SOAK_SEED ?? Date.now() % 2 ** 31);
  t.comment(`seed ${seed} (SOAK_SEED=${seed} replays the kill times)`);
  const rand = seeded(seed);
  const dir = tmpDir();
  const rels = makeTree(path.join(dir, 'in'), ITEMS);
  const st = path.join(dir, 'st');
  // 15 ms an item on 2 workers: at most ~130 items a second, so 22 runs killed within 800 ms of
  // an anchor (half of them their first recorded item) leave work for the final run
  const args = ['in', 'st', SLOW_SHA, JSON.stringify({ ms: 15 })];
  const perRun: number[] = [];
  let kills = 0;
  let tornCut = 0;
  let finishedEarly = 0;
  let runs = 0;
  while (kills < KILLS && runs < KILLS * 2) {
    runs++;
    const before = completeLines(st).length;
    const p = program(dir, args);
    // a quarter of the kills are timed from the spawn (start-up, lock, journal load), a quarter
    // from the checkpoint being open (walk and workers starting), the rest from the run's first
    // recorded item, so that most land while items are being processed however slow start-up is
    const anchor = [null, /^open$/m, /^recorded$/m, /^recorded$/m][kills % 4];
    const delay = 100 + Math.floor(rand() * 700);
    if (anchor) await waitFor(p.child, p.out, anchor);
    await new Promise((r) => setTimeout(r, delay));
    let code: number | null;
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill('SIGKILL');
      code = await exitWithin(p.child, 30_000);
      if (code === 137) kills++;
    } else {
      code = await exitWithin(p.child, 30_000);
      finishedEarly++;
    }
    if (/dropped a torn tail/.test(p.err())) tornCut++;
    perRun.push(completeLines(st).length - before);
    if (code !== 137 && code !== 0) t.fail(`run ${runs} exited ${code} before it was killed: ${p.err()}`);
    if (code === 0) break;
  }
  // the last run, not killed, with the built-in sha256 (same output; the journal's keys do not
  // depend on the processor): it does the rest at full speed
  const last = program(dir, ['in', 'st']);
  const finalCode = await exitWithin(last.child, 120_000);
  if (/dropped a torn tail/.test(last.err())) tornCut++;
  const beforeLast = perRun.reduce((a, b) => a + b, 0);
  const lines = completeLines(st);
  perRun.push(lines.length - beforeLast);
  t.comment(`${kills} kills (${finishedEarly} runs ended before their kill); items recorded by each run: ${perRun.join(' ')}; torn tails cut on open: ${tornCut}`);
  t.ok(kills >= 20, `at least 20 kills landed (${kills})`);
  t.ok(perRun.slice(0, -1).some((n) => n > 0), 'some killed runs had recorded items');
  t.equal(finalCode, 0, `the final run exits 0: ${last.err()}`);
  t.match(last.out(), /^done \d+$/m, 'and says how many it recorded');
  t.equal(Number(/^done (\d+)$/m.exec(last.out())?.[1]), perRun.at(-1), 'the final run recorded what it says');

  const raw = fs.readFileSync(path.join(st, 'journal.ndjson'), 'utf8');
  t.ok(raw.endsWith('\n'), 'the journal ends with a complete line');
  const bad: string[] = [];
  const entries = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, any>;
    } catch {
      bad.push(l.slice(0, 120));
      return {};
    }
  });
  t.same(bad, [], 'no line is torn: every line is JSON');
  t.equal(entries.length, ITEMS, `one line per file (${entries.length} lines for ${ITEMS} files)`);
  const count = new Map<string, number>();
  for (const e of entries) count.set(e.key, (count.get(e.key) ?? 0) + 1);
  const twice = [...count].filter(([, n]) => n > 1);
  t.same(twice, [], 'no key recorded twice');
  t.equal(count.size, ITEMS, 'every key recorded');
  const byPath = new Map(entries.map((e) => [e.path as string, e]));
  const missing = rels.filter((r) => !byPath.has(path.join('in', r)));
  t.same(missing, [], 'every file has its line');
  t.same(entries.filter((e) => e.status !== 'ok').map((e) => e.path), [], 'all recorded ok');
  const wrong = rels.filter((r) => byPath.get(path.join('in', r))?.output?.sha256 !== createHash('sha256').update(fs.readFileSync(path.join(dir, 'in', r))).digest('hex'));
  t.same(wrong, [], 'each line has the file\'s sha256');
});
