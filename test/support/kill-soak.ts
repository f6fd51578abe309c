// The kill -9 soak, shared by the test (a few dozen kills) and bench/kill-soak.ts (hundreds):
// run sluice over a tree, SIGKILL it at a random moment, rerun, repeat, then let it finish, and
// check what a crash may and may not do to the checkpoint and the outputs.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seeded } from './seeded.js';

// compiled to dist/test/support/: the repository is three levels up
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'dist/bin/sluice.js');
const PROCESSOR = path.join(ROOT, 'test/fixtures/processors/soak.mjs');

export interface SoakOptions {
  dir: string;
  items: number;
  /** kills before the run is allowed to finish */
  kills: number;
  jobs?: number;
  /**
   * When to kill: a quarter of the kills come at a uniform random delay in [minMs, maxMs] from
   * the spawn (start-up, journal load, walk), the rest at a random delay in [0, maxMs] after the
   * run's first item started, so that most land while items are being processed however slow
   * start-up is (a loaded CI machine took over 1.5 s to its first item)
   */
  minMs?: number;
  maxMs?: number;
  fsync?: 'always' | 'batch' | 'never';
  /** more environment for every run (test hooks) */
  env?: NodeJS.ProcessEnv;
}

export interface SoakRound {
  kills: number;
  runs: number;
  /** per kill: items started by the killed run and not recorded done after it */
  inFlight: number[];
  /** extra invocations: sum over items of (times processed - 1) */
  redone: number;
  /** items processed more than once although no kill caught them in flight (must be 0) */
  unexplained: string[];
  journalLines: number;
  distinctKeys: number;
  recordedOk: number;
  missingOrPartialOutputs: string[];
  strayFiles: string[];
  finalExit: number | null;
  torn: number;
  /** complete journal lines (newline-terminated) that do not parse: only a torn last line may */
  badLines: number;
  /** the seed of this round's kill times: SOAK_SEED=<seed> replays them */
  seed: number;
  /** the state dir holds a key snapshot at the end */
  snapshot: boolean;
  /** temp files left in the state dir after the last run */
  stateTemps: string[];
}


function makeTree(dir: string, n: number): string[] {
  const rels: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = `d${String(Math.floor(i / 250)).padStart(3, '0')}`;
    if (i % 250 === 0) fs.mkdirSync(path.join(dir, d), { recursive: true });
    const rel = `${d}/f${String(i).padStart(6, '0')}.txt`;
    fs.writeFileSync(path.join(dir, rel), `item ${i}\n`);
    rels.push(rel);
  }
  return rels;
}

type KillAt = { fromSpawnMs: number } | { afterFirstItemMs: number } | null;

function runOnce(o: SoakOptions, kill: KillAt): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const args = [BIN, 'run', '--input', 'in', '--processor', PROCESSOR, '--out', 'out', '--state', 'st', '-j', String(o.jobs ?? 2), '--progress', 'none'];
    if (o.fsync) args.push('--set', `checkpoint.fsync=${o.fsync}`);
    // sluice as a user starts it, without the test runner's NODE_OPTIONS: tap preloads its
    // process-tracking module into every child (and puts it back into any env a test passes),
    // which made start-up so slow that every kill landed before the first item and the soak
    // tested nothing. env(1) execs node, so the pid killed is sluice's.
    const logFile = path.join(o.dir, 'invocations.log');
    const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, ...args], {
      cwd: o.dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...o.env, SLUICE_SOAK_LOG: logFile },
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const logAtSpawn = fs.statSync(logFile).size;
    let timer: NodeJS.Timeout | null = null;
    let poll: NodeJS.Timeout | null = null;
    if (kill && 'fromSpawnMs' in kill) timer = setTimeout(() => child.kill('SIGKILL'), kill.fromSpawnMs);
    else if (kill) {
      // the processor logs each item as it starts: the first line is the first item
      poll = setInterval(() => {
        if (fs.statSync(logFile).size === logAtSpawn) return;
        clearInterval(poll!);
        poll = null;
        timer = setTimeout(() => child.kill('SIGKILL'), kill.afterFirstItemMs);
      }, 2);
    }
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ code, signal, stderr });
    });
  });
}

/** Paths recorded in the journal (display paths are "in/<rel>"), read the way a crash left it. */
function journalRels(dir: string): { rels: string[]; lines: number; bad: number } {
  const f = path.join(dir, 'st/journal.ndjson');
  if (!fs.existsSync(f)) return { rels: [], lines: 0, bad: 0 };
  const rels: string[] = [];
  let lines = 0;
  let bad = 0;
  const parts = fs.readFileSync(f, 'utf8').split('\n');
  // the last part has no newline after it: a torn tail the next open cuts off (or '' after a whole line)
  parts.pop();
  for (const line of parts) {
    try {
      rels.push((JSON.parse(line) as { path: string }).path.replace(/^in\//, ''));
      lines++;
    } catch {
      bad++; // a whole line that is not JSON: never acceptable
    }
  }
  return { rels, lines, bad };
}

export async function killSoak(o: SoakOptions): Promise<SoakRound> {
  const minMs = o.minMs ?? 50;
  const maxMs = o.maxMs ?? 1500;
  const seed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 32));
  const random = seeded(seed);
  const all = makeTree(path.join(o.dir, 'in'), o.items);
  const logFile = path.join(o.dir, 'invocations.log');
  fs.writeFileSync(logFile, '');
  const invocations = new Map<string, number>();
  /** per item: how many kills caught it in flight */
  const caught = new Map<string, number>();
  const inFlight: number[] = [];
  let logOffset = 0;
  let runs = 0;
  let torn = 0;
  let badLines = 0;
  let final: { code: number | null } = { code: null };
  const readNewInvocations = (): string[] => {
    const buf = fs.readFileSync(logFile);
    const text = buf.subarray(logOffset).toString('utf8');
    logOffset = buf.length;
    return text.split('\n').filter(Boolean);
  };
  for (let k = 0; k <= o.kills; k++) {
    const last = k === o.kills;
    const at: KillAt = last ? null : random() < 0.25 ? { fromSpawnMs: minMs + random() * (maxMs - minMs) } : { afterFirstItemMs: random() * maxMs };
    const r = await runOnce(o, at);
    runs++;
    if (process.env.SOAK_DEBUG) console.error('run', k, r.code, r.signal, r.stderr.slice(0, 300));
    if (/dropped a torn tail/.test(r.stderr)) torn++;
    const started = readNewInvocations();
    for (const rel of started) invocations.set(rel, (invocations.get(rel) ?? 0) + 1);
    if (last || r.signal !== 'SIGKILL') {
      final = r;
      if (r.code === 0) break;
      if (!last) continue; // finished before the kill: nothing caught in flight
    }
    const jr = journalRels(o.dir);
    badLines += jr.bad;
    const done = new Set(jr.rels);
    const caughtNow = [...new Set(started)].filter((rel) => !done.has(rel));
    for (const rel of caughtNow) caught.set(rel, (caught.get(rel) ?? 0) + 1);
    inFlight.push(caughtNow.length);
  }
  let redone = 0;
  const unexplained: string[] = [];
  for (const [rel, n] of invocations) {
    if (n > 1) redone += n - 1;
    if (n - 1 > (caught.get(rel) ?? 0)) unexplained.push(`${rel} processed ${n} times, in flight at ${caught.get(rel) ?? 0} kills`);
  }
  const j = journalRels(o.dir);
  const missing: string[] = [];
  for (const rel of all) {
    let body = '';
    try {
      body = fs.readFileSync(path.join(o.dir, 'out', rel + '.out'), 'utf8');
    } catch {
      // missing
    }
    if (body !== `${rel}\n`.repeat(40) + 'END\n') missing.push(rel);
  }
  const expected = new Set(all.map((r) => r + '.out'));
  const stray = fs.readdirSync(path.join(o.dir, 'out'), { recursive: true }).map(String)
    .filter((f) => !expected.has(f) && !fs.statSync(path.join(o.dir, 'out', f)).isDirectory());
  return {
    kills: inFlight.length, runs, inFlight, redone, unexplained: unexplained.slice(0, 10), journalLines: j.lines,
    distinctKeys: new Set(j.rels).size, recordedOk: j.rels.length, missingOrPartialOutputs: missing.slice(0, 10),
    strayFiles: stray.slice(0, 10), finalExit: final.code, torn, badLines: badLines + j.bad, seed,
    snapshot: fs.existsSync(path.join(o.dir, 'st', 'journal.keys')),
    stateTemps: fs.readdirSync(path.join(o.dir, 'st')).filter((f) => f.endsWith('.tmp')),
  };
}
