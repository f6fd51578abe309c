// Crash safety of a chain: SIGKILL a run of stage A -> fan-out F -> per-child C at random
// moments, at least 30 times, rerun until done. Every item, every child and every recorded stage
// ends up recorded exactly once, and no stage runs again for an item (or child) after it was
// recorded for it.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, FIXTURES, tmpDir, track } from '../helpers.js';
import { seeded } from '../support/seeded.js';

const PROC = path.join(FIXTURES, 'processors/soak-stage.mjs');
const ITEMS = 120;
const KILLS = 30;

/** One run; with `killAfterMs`, SIGKILL that long after it logs its first stage call. Resolves to its exit code (null: killed), and whether it was working when killed. */
function run(dir: string, killAfterMs: number | null): Promise<{ code: number | null; working: boolean }> {
  return new Promise((resolve) => {
    const log = path.join(dir, 'log');
    const atSpawn = fs.existsSync(log) ? fs.statSync(log).size : 0;
    // sluice as a user starts it, without the test runner's NODE_OPTIONS (see test/support/kill-soak.ts)
    const child = track(spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, BIN, 'run', 'p.yaml', '--progress', 'none'], {
      cwd: dir, stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, SLUICE_STAGE_LOG: log },
    }));
    let timer: NodeJS.Timeout | null = null;
    let working = false;
    // kill after the first call of this run: a kill during start-up would test nothing
    const poll = killAfterMs === null ? null : setInterval(() => {
      if (!fs.existsSync(log) || fs.statSync(log).size === atSpawn) return;
      clearInterval(poll!);
      working = true;
      timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    }, 2);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ code, working });
    });
  });
}

const lines = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').slice(0, -1) : []);

t.test(`kill -9 at random moments (${KILLS} kills) over A -> fan-out F -> C: everything recorded once, no recorded stage run again`, async (t) => {
  const dir = tmpDir('sluice-stage-soak-');
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < ITEMS; i++) fs.writeFileSync(path.join(dir, 'in', `f${String(i).padStart(3, '0')}.txt`), String(i));
  fs.writeFileSync(path.join(dir, 'p.yaml'), [
    'version: 1', 'name: p', 'source: { walk: { roots: [in] } }', 'stages:',
    `  - map: { name: A, processor: ${PROC}, concurrency: 1, options: { stage: A, ms: 40 } }`,
    `  - map: { name: F, processor: ${PROC}, concurrency: 1, options: { stage: F, ms: 20, fan: 5 } }`,
    `  - map: { name: C, processor: ${PROC}, concurrency: 1, options: { stage: C, ms: 30 } }`, '',
  ].join('\n'));
  const seed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 32));
  const random = seeded(seed);
  t.comment(`seed ${seed} (SOAK_SEED=${seed} replays the kill times)`);
  let kills = 0;
  let finalExit: number | null = null;
  for (let runs = 0; runs < 3 * KILLS; runs++) {
    const killing = kills < KILLS;
    const { code } = await run(dir, killing ? Math.floor(random() * 150) : null);
    if (code === null) kills++;
    else if (!killing || code === 0) {
      // the last run, or one that finished before its kill: the job is done
      finalExit = code;
      break;
    }
  }
  t.ok(kills >= Math.min(KILLS, 20), `${kills} kills while stages were running`);
  t.equal(finalExit, 0, 'the last run finishes');
  const journal = lines(path.join(dir, '.sluice/p/journal.ndjson')).map((l) => JSON.parse(l) as { key: string; path: string; status: string; parent?: string; index?: number; at: string; children?: number });
  const parents = journal.filter((e) => e.parent === undefined);
  const children = journal.filter((e) => e.parent !== undefined);
  t.equal(new Set(parents.map((e) => e.key)).size, ITEMS, 'every item recorded');
  t.equal(parents.length, ITEMS, 'no item recorded twice');
  t.ok(parents.every((e) => e.status === 'ok'));
  const expected = parents.reduce((n, e) => n + (e.children ?? 0), 0);
  t.equal(new Set(children.map((e) => e.key)).size, expected, `every child recorded (${expected})`);
  t.equal(children.length, expected, 'no child recorded twice');
  const stages = lines(path.join(dir, '.sluice/p/stages.ndjson')).map((l) => JSON.parse(l) as { key: string; of: string; stage: string; path: string; at: string });
  t.equal(stages.filter((s) => s.stage === 'A').length, ITEMS, 'stage A recorded once per item');
  t.equal(new Set(stages.map((s) => s.of)).size, ITEMS);
  // no stage ran for an item after it was recorded for it (the log line is written as a call starts)
  const recordedA = new Map(stages.map((s) => [path.basename(s.path), Date.parse(s.at)]));
  const childAt = new Map(children.map((c) => [`${path.basename(c.path)}#${c.index}`, Date.parse(c.at)]));
  const parentAt = new Map(parents.map((p) => [path.basename(p.path), Date.parse(p.at)]));
  const late: string[] = [];
  for (const l of lines(path.join(dir, 'log'))) {
    const [stage, id, when] = l.split(' ');
    const at = Number(when);
    const recorded = stage === 'A' ? recordedA.get(id!) : stage === 'F' ? parentAt.get(id!) : childAt.get(id!);
    if (recorded !== undefined && at > recorded) late.push(l);
  }
  t.same(late, [], 'no call of a stage after its record');
  const calls = lines(path.join(dir, 'log')).length;
  t.comment(`${kills} kills; ${calls} stage calls for ${ITEMS} items, ${ITEMS} A records, ${expected} children`);
});
