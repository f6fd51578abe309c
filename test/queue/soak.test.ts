// The queued kill -9 soak: worker processes and the coordinator killed with SIGKILL at random
// moments while a run goes through a real redis-server; the run is started again until it ends.
// Every item is recorded once, every output is whole, the items done twice are the ones a killed
// worker held, and the run counts the redelivered ones. SOAK_SEED=<seed> replays the kill times.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES, makeTree, ofType, readJournal, sluiceChild, tmpDir } from '../helpers.js';
import { seeded } from '../support/seeded.js';
import { hasRedis, REDIS_SERVER, startRedis } from './redis.js';

const SOAK = path.join(FIXTURES, 'processors/soak.mjs');
const ITEMS = 1200;
const WORKER_KILLS = 10;
const COORDINATOR_KILLS = 5;

t.test('kill -9 of queue workers (10 times) and of the coordinator (5 times) at random moments, rerun until done: each item recorded once, no output partial, redelivered items counted', { skip: hasRedis() ? false : `no ${REDIS_SERVER}: apt-get install redis-server (.ci/run installs it)` }, async (t) => {
  const seed = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 2 ** 32));
  const random = seeded(seed);
  t.comment(`seed ${seed}`);
  const redis = await startRedis(t);
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), ITEMS, 200);
  const logFile = path.join(dir, 'invocations.log');
  fs.writeFileSync(logFile, '');
  const env = { ...process.env, SLUICE_SOAK_LOG: logFile, SLUICE_SOAK_PID: '1', SLUICE_SOAK_MAX_MS: '50' };

  type Child = ReturnType<typeof sluiceChild>;
  const workers: Child[] = [];
  const startWorker = () => workers.push(sluiceChild(t, ['worker', '--queue', redis.url, '-j', '2', '--grace', '1s', '--progress-interval', '0'], { cwd: dir, env }, 300_000));
  startWorker();
  startWorker();
  const killedPids: number[] = [];
  let finalRunning = false;
  let killsInFinal = 0;
  let stop = false;
  // kill a worker mid-run every 0.3-0.9 s and start another, until there were enough kills, three of them during the last run
  const killer = (async () => {
    while (!stop && (killedPids.length < WORKER_KILLS || killsInFinal < 3)) {
      await sleep(300 + random() * 600);
      // a worker that has started items (one just started, still connecting, holds none): at most 10 s
      let busy: Child[] = [];
      for (let i = 0; i < 400 && !stop && !busy.length; i++) {
        const log = fs.readFileSync(logFile, 'utf8');
        busy = workers.filter((w) => w.proc.exitCode === null && w.proc.signalCode === null && log.includes(` ${w.proc.pid}\n`));
        if (!busy.length) await sleep(25);
      }
      if (stop || !busy.length) break;
      const victim = busy[Math.floor(random() * busy.length)]!;
      victim.proc.kill('SIGKILL');
      await victim.done;
      killedPids.push(victim.proc.pid!);
      if (finalRunning) killsInFinal++;
      startWorker();
    }
  })();

  // a job whose workers were killed twice fails SLUICE_E_WORKER_CRASH: the stage retries it (a job of its own)
  fs.writeFileSync(path.join(dir, 'soak.yaml'), `version: 1\nname: soak\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { processor: ${JSON.stringify(SOAK)}, retries: { max: 3, on: [worker_crash] }, quarantine_after: 5 }\noutput: { dir: out }\n`);
  const args = ['run', 'soak.yaml', '--state', 'st', '--queue', redis.url, '--progress', 'none'];
  let coordinatorKills = 0;
  let end: Awaited<Child['done']> | null = null;
  for (let runs = 0; runs < 30 && !end; runs++) {
    if (coordinatorKills < COORDINATOR_KILLS) {
      const run = sluiceChild(t, args, { cwd: dir }, 300_000);
      await sleep(200 + random() * 1000);
      if (run.proc.exitCode === null) {
        run.proc.kill('SIGKILL');
        await run.done;
        coordinatorKills++;
        continue;
      }
      const r = await run.done;
      if (r.code === 0) end = r;
      continue;
    }
    finalRunning = true;
    const r = await sluiceChild(t, args, { cwd: dir }, 300_000).done;
    if (r.code === 0) end = r;
  }
  stop = true;
  await killer;
  t.ok(end, `the run ended with exit 0 after ${coordinatorKills} coordinator kills`);
  t.equal(coordinatorKills, COORDINATOR_KILLS, 'the coordinator was killed 5 times while running');
  t.ok(killedPids.length >= WORKER_KILLS, `workers were killed ${killedPids.length} times`);

  const journal = readJournal(path.join(dir, 'st'));
  t.equal(journal.length, ITEMS, 'one journal line per item');
  t.equal(new Set(journal.map((e) => e.key)).size, ITEMS, 'each key once');
  t.ok(journal.every((e) => e.status === 'ok'), `all ok: ${JSON.stringify(journal.filter((e) => e.status !== 'ok').slice(0, 3))}`);
  const partial = journal.filter((e) => {
    const rel = String(e.path).replace(/^in\//, '');
    try {
      return fs.readFileSync(path.join(dir, 'out', rel + '.out'), 'utf8') !== `${rel}\n`.repeat(40) + 'END\n';
    } catch {
      return true;
    }
  });
  t.same(partial.map((e) => e.path), [], 'every output whole, at its name');

  // who processed what: an item processed more than once was held by a worker that was killed
  const runs = new Map<string, number[]>();
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n').filter(Boolean)) {
    const [rel, pid] = line.split(' ');
    runs.set(rel!, [...(runs.get(rel!) ?? []), Number(pid)]);
  }
  const again = [...runs].filter(([, pids]) => pids.length > 1);
  const killed = new Set(killedPids);
  t.ok(again.length > 0, `${again.length} items processed again after their worker was killed`);
  t.same(again.filter(([, pids]) => !pids.slice(0, -1).every((p) => killed.has(p))).map(([rel]) => rel), [], 'each time but the last by a worker that was killed');
  const summary = ofType(end!.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>), 'summary')[0]!;
  t.ok(summary.redelivered > 0, `the last run counted ${summary.redelivered} redelivered items`);
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'st/report.json'), 'utf8')) as Record<string, any>;
  t.equal(report.workers.redelivered, summary.redelivered, 'and its report');
  t.equal(redis.cli('keys', 'bull:sluice:j-*').trim(), '', 'no job left in Redis');
  for (const w of workers) w.proc.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.done));
});
