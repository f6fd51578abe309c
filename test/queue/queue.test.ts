// Scale-out through a queue: `sluice run --queue` gives items out, `sluice worker` processes run
// them, against a real redis-server. Every item is recorded exactly once, whatever dies.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { BIN, FIXTURES, ofType, quietEnv, readJournal, sluice, sluiceChild, tmpDir, type Teardown } from '../helpers.js';
import { hasRedis, REDIS_SERVER, startRedis } from './redis.js';

const SLOW = path.join(FIXTURES, 'processors/slow-tag.mjs');
const STEP = path.join(FIXTURES, 'processors/step.mjs');

function inputs(n: number): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, 'in', `f${String(i).padStart(3, '0')}.txt`), `item ${i}\n`);
  return dir;
}

/** A `sluice worker` the test kills at teardown; `lines()`: its NDJSON so far. */
function worker(t: Teardown, url: string, cwd: string, j = 2) {
  const w = sluiceChild(t, ['worker', '--queue', url, '-j', String(j), '--grace', '5s'], { cwd }, 120_000);
  let out = '';
  w.proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return { ...w, lines: () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>) };
}

/** Until the run in `dir` (state in st/) has recorded `n` items, or 10 s (a bound for a hang: the test's assertions then say what is missing). */
async function untilRecorded(dir: string, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (fs.existsSync(path.join(dir, 'st/journal.ndjson')) && readJournal(path.join(dir, 'st')).length >= n) return;
    await sleep(25);
  }
}

/** The pipeline `pipe(name)` run locally (local.yaml) and through the queue (queued.yaml) with a worker up; the queued run ended 0. */
async function localAndQueued(t: Teardown & { equal(...args: any[]): boolean }, url: string, dir: string, pipe: (name: string) => string) {
  fs.writeFileSync(path.join(dir, 'local.yaml'), pipe('local'));
  fs.writeFileSync(path.join(dir, 'queued.yaml'), pipe('queued'));
  const w = worker(t, url, dir);
  const local = await sluice(['run', 'local.yaml', '--progress', 'none'], { cwd: dir, t });
  const queued = await sluice(['run', 'queued.yaml', '--queue', url, '--progress', 'none'], { cwd: dir, t });
  t.equal(queued.code, 0, queued.stderr);
  return { w, local, queued };
}

const keysOnce = (journal: Record<string, any>[]) => new Set(journal.map((e) => e.key)).size === journal.length;

t.test('a run without a queue loads neither BullMQ nor ioredis (a quarter of a second at every start)', async (t) => {
  const dir = inputs(3);
  const log = path.join(dir, 'loads.log');
  const r = spawnSync(process.execPath, ['--import', path.join(FIXTURES, 'hooks/record-loads.mjs'), BIN, 'run', '--input', 'in', '--include', '**/*', '--processor', 'noop', '--state', 'st', '--progress', 'none'],
    { cwd: dir, encoding: 'utf8', env: quietEnv({ SLUICE_LOADS_LOG: log }), timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  const loaded = fs.readFileSync(log, 'utf8').split('\n');
  t.ok(loaded.some((u) => u.includes('/node_modules/piscina/')), `the hook saw the packages imported (${loaded.length} URLs, piscina among them)`);
  t.same(loaded.filter((u) => /\/node_modules\/(bullmq|ioredis)\//.test(u)), [], 'no BullMQ, no ioredis');
});

t.test('queued runs against a real redis-server', { skip: hasRedis() ? false : `no ${REDIS_SERVER}: apt-get install redis-server (.ci/run installs it)` }, async (t) => {
  t.test('a pipeline file with `queue:` and two workers: they share the items; every item is recorded once, with the worker\'s output; a rerun skips them all; no job is left in Redis', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(40);
    fs.writeFileSync(path.join(dir, 'p.yaml'), `version: 1\nname: q\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { processor: ${JSON.stringify(SLOW)} }\nqueue: ${JSON.stringify(redis.url)}\n`);
    const w1 = worker(t, redis.url, dir);
    const w2 = worker(t, redis.url, dir);
    const r = await sluice(['run', 'p.yaml', '--state', 'st', '--progress', 'none'], { cwd: dir, t });
    t.equal(r.code, 0, r.stderr);
    const results = ofType(r.lines, 'result');
    t.equal(results.length, 40, 'a result line per item');
    const journal = readJournal(path.join(dir, 'st'));
    t.equal(journal.length, 40, 'each item recorded once');
    t.ok(keysOnce(journal));
    const pids = new Set(results.map((x) => x.output.pid));
    t.equal(pids.size, 2, 'both workers took items');
    t.ok([...pids].every((p) => p === w1.proc.pid || p === w2.proc.pid), 'every item ran in a worker process, none in the coordinator');
    const again = await sluice(['run', 'p.yaml', '--state', 'st', '--progress', 'none'], { cwd: dir, t });
    t.match(ofType(again.lines, 'summary')[0], { skipped: 40, ok: 0 }, 'a rerun skips every item');
    t.equal(redis.cli('keys', 'bull:sluice:j-*').trim(), '', 'no job left in Redis');
    w1.proc.kill('SIGTERM');
    w2.proc.kill('SIGTERM');
    const [e1, e2] = await Promise.all([w1.done, w2.done]);
    t.ok(!e1.hung && !e2.hung, 'SIGTERM ends the workers');
    const done = w1.lines().filter((l) => l.type === 'result').length + w2.lines().filter((l) => l.type === 'result').length;
    t.equal(done, 40, 'their NDJSON has a line per item they ran');
  });

  t.test('a built-in processor runs queued: exec given only cmd runs in the worker process with the spec\'s defaults (stdout inline)', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(12);
    const w = worker(t, redis.url, dir);
    // exec with only cmd given: max_inline and the rest come from the spec's defaults, and the
    // worker's threads (which never load a spec) get them as the worker process parsed them
    const r = await sluice(['run', '--input', 'in', '--include', '**/*', '--exec', 'wc -c', '--state', 'st', '--queue', redis.url, '--progress', 'none'], { cwd: dir, t });
    t.equal(r.code, 0, r.stderr);
    const results = ofType(r.lines, 'result');
    t.equal(results.length, 12, 'a result line per item');
    t.ok(results.every((x) => x.status === 'ok' && /^\d+ /.test(String(x.output.stdout)) && x.output.stdout_bytes > 0), 'each ran wc -c and came back inline');
    t.equal(w.lines().filter((l) => l.type === 'result').length, 12, 'all in the worker process');
    w.proc.kill('SIGTERM');
    await w.done;
  });

  t.test('a worker killed with SIGKILL mid-item: its items go to the other worker within seconds, and every item is recorded once', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(30);
    const w1 = worker(t, redis.url, dir);
    const run = sluiceChild(t, ['run', '--input', 'in', '--include', '**/*', '--processor', SLOW, '--state', 'st', '--queue', redis.url, '--progress', 'none'], { cwd: dir }, 120_000);
    // w1 has done a few: the ones it holds now are mid-item
    for (let i = 0; i < 400 && w1.lines().filter((l) => l.type === 'result').length < 3; i++) await sleep(25);
    w1.proc.kill('SIGKILL');
    await w1.done;
    const killedAt = Date.now();
    const w2 = worker(t, redis.url, dir);
    const end = await run.done;
    t.equal(end.code, 0, end.stderr);
    const journal = readJournal(path.join(dir, 'st'));
    t.equal(journal.length, 30, 'each item recorded once');
    t.ok(keysOnce(journal));
    t.ok(journal.every((e) => e.status === 'ok'));
    t.ok(Date.now() - killedAt < 30_000, `the run ended ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill (lock 5 s, stall check every 2 s)`);
    t.ok(w2.lines().filter((l) => l.type === 'result').length >= 1, 'the other worker took them');
    w2.proc.kill('SIGTERM');
    await w2.done;
  });

  t.test('a coordinator killed with SIGKILL: the rerun finishes, re-enqueues only what is not recorded, each item recorded once', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(30);
    const w = worker(t, redis.url, dir);
    const args = ['run', '--input', 'in', '--include', '**/*', '--processor', SLOW, '--state', 'st', '--queue', redis.url, '--progress', 'none'];
    const first = sluiceChild(t, args, { cwd: dir }, 120_000);
    await untilRecorded(dir, 5);
    first.proc.kill('SIGKILL');
    await first.done;
    const before = readJournal(path.join(dir, 'st')).length;
    t.ok(before >= 5 && before < 30, `${before} recorded before the kill`);
    const again = await sluice(args, { cwd: dir, t });
    t.equal(again.code, 0, again.stderr);
    const journal = readJournal(path.join(dir, 'st'));
    t.equal(journal.length, 30, 'each item recorded once');
    t.ok(keysOnce(journal));
    t.match(ofType(again.lines, 'summary')[0], { skipped: before, ok: 30 - before });
    w.proc.kill('SIGTERM');
    await w.done;
  });

  t.test('a worker whose processor module differs from the run\'s refuses the item with SLUICE_E_WORKER_MISMATCH', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(3);
    const mod = path.join(dir, 'proc.mjs');
    fs.writeFileSync(mod, 'export default () => ({ v: 1 });\n');
    const run = sluiceChild(t, ['run', '--input', 'in', '--include', '**/*', '--processor', mod, '--state', 'st', '--queue', redis.url, '--progress', 'none'], { cwd: dir }, 60_000);
    // the jobs are queued with the module as it is now; the worker's machine has another
    for (let i = 0; i < 200 && !redis.cli('keys', 'bull:sluice:j-*').trim(); i++) await sleep(25);
    fs.writeFileSync(mod, 'export default () => ({ v: 2 });\n');
    const w = worker(t, redis.url, dir);
    const end = await run.done;
    t.equal(end.code, 1, end.stderr);
    const failed = end.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.type === 'result');
    t.equal(failed.length, 3);
    t.ok(failed.every((r) => r.status === 'failed' && r.error.code === 'SLUICE_E_WORKER_MISMATCH'), 'each refused, coded');
    w.proc.kill('SIGTERM');
    await w.done;
  });

  t.test('a worker pinned to a pipeline file whose stage options differ from the run\'s refuses its items with SLUICE_E_WORKER_MISMATCH, naming the stage; one pinned to the run\'s own file runs them', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(3);
    const pipe = (v: number) => `version: 1\nname: pin\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { processor: ${JSON.stringify(SLOW)}, options: { v: ${v} } }\n`;
    fs.writeFileSync(path.join(dir, 'run.yaml'), pipe(1));
    fs.writeFileSync(path.join(dir, 'other.yaml'), pipe(2));
    const w = sluiceChild(t, ['worker', 'other.yaml', '--queue', redis.url, '-j', '1'], { cwd: dir }, 60_000);
    const r = await sluice(['run', 'run.yaml', '--queue', redis.url, '--state', 'st', '--progress', 'none'], { cwd: dir, t });
    t.equal(r.code, 1, r.stderr);
    const results = ofType(r.lines, 'result');
    t.equal(results.length, 3);
    t.ok(results.every((x) => x.status === 'failed' && x.error.code === 'SLUICE_E_WORKER_MISMATCH'), 'each refused, coded');
    t.match(results[0]!.error.message, /its stage 1 \(processor \S+slow-tag\.mjs, options \{"v":1\}\) is not one of the stages of other\.yaml, which this worker runs \(.+\): the processor or its options differ/);
    w.proc.kill('SIGTERM');
    await w.done;
    const same = sluiceChild(t, ['worker', 'run.yaml', '--queue', redis.url, '-j', '1'], { cwd: dir }, 60_000);
    const again = await sluice(['run', 'run.yaml', '--queue', redis.url, '--state', 'st', '--progress', 'none', '--retry-failed'], { cwd: dir, t });
    t.equal(again.code, 0, again.stderr);
    t.match(ofType(again.lines, 'summary')[0], { ok: 3, failed: 0 }, 'the worker pinned to the same file runs them');
    same.proc.kill('SIGTERM');
    await same.done;
  });

  t.test('Redis restarted empty mid-run: the run and the workers wait and reconnect, saying so; the jobs Redis lost are added again; every item recorded once', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(40);
    const w1 = worker(t, redis.url, dir);
    const w2 = worker(t, redis.url, dir);
    const run = sluiceChild(t, ['run', '--input', 'in', '--include', '**/*', '--processor', SLOW, '--state', 'st', '--queue', redis.url, '--progress', 'none'], { cwd: dir }, 120_000);
    await untilRecorded(dir, 8);
    await redis.stop();
    await sleep(1500);
    await redis.start();
    const end = await run.done;
    t.equal(end.code, 0, end.stderr);
    t.match(end.stderr, /the queue unix:\/\/\S+ is not reachable \(.*\); waiting for it, nothing is lost/);
    t.match(end.stderr, /the queue unix:\/\/\S+ is back/);
    t.notMatch(end.stderr, /Error: connect|Unhandled error event|\n\s+at /, 'said once each way, no stack traces');
    const journal = readJournal(path.join(dir, 'st'));
    t.equal(journal.length, 40, 'each item recorded once');
    t.ok(keysOnce(journal));
    t.ok(journal.every((e) => e.status === 'ok'));
    w1.proc.kill('SIGTERM');
    w2.proc.kill('SIGTERM');
    const [e1, e2] = await Promise.all([w1.done, w2.done]);
    t.ok(!e1.hung && !e2.hung, 'the workers still stop on SIGTERM');
  });

  t.test('a pipeline of two map stages over the queue: each stage is a job, the second gets the first\'s output, stage records kept', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(10);
    fs.writeFileSync(path.join(dir, 'p.yaml'), `version: 1\nname: q2\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { name: tag, processor: ${JSON.stringify(SLOW)} }\n  - map: { name: hash, processor: sha256 }\n`);
    const w = worker(t, redis.url, dir);
    const r = await sluice(['run', 'p.yaml', '--state', 'st', '--queue', redis.url, '--progress', 'none'], { cwd: dir, t });
    t.equal(r.code, 0, r.stderr);
    const results = ofType(r.lines, 'result');
    t.equal(results.length, 10);
    t.ok(results.every((x) => x.status === 'ok' && typeof x.output.sha256 === 'string'), 'the last stage\'s output');
    const ran = w.lines().filter((l) => l.type === 'result');
    t.equal(ran.length, 20, 'the worker ran both stages of every item');
    t.equal(readJournal(path.join(dir, 'st')).length, 10, 'one journal entry per item');
    const records = fs.readFileSync(path.join(dir, 'st/stages.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    t.equal(records.filter((e) => e.stage === 'tag').length, 10, 'the first stage recorded for every item (a change to the second redoes only it)');
    w.proc.kill('SIGTERM');
    await w.done;
  });

  t.test('a filter between chained maps over the queue: the same results, stage figures and report as a local run; a changed option of the last stage redoes only that stage, through the queue', async (t) => {
    const redis = await startRedis(t);
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'in'));
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), 'x'.repeat(i < 4 ? 10 : 1000));
    const step = (tag: string, extra = '') => `  - map: { name: ${tag}, processor: ${JSON.stringify(STEP)}, options: { tag: ${tag}${extra} } }\n`;
    const pipe = (name: string, last = '') => `version: 1\nname: ${name}\nsource: { walk: { roots: [in] } }\nstages:\n${step('one')}  - filter: { name: big, size: { min: 100 } }\n${step('two')}${step('three', last)}`;
    const { w, local, queued } = await localAndQueued(t, redis.url, dir, pipe);
    const results = (lines: Record<string, any>[]) => ofType(lines, 'result').map((r) => JSON.stringify([r.path, r.status, r.stage, r.output])).sort();
    t.equal(results(local.lines).length, 6);
    t.same(results(queued.lines), results(local.lines), 'the same result lines (the 4 filtered ones have none)');
    const figures = (lines: Record<string, any>[]) => (lines.at(-1)!.stages as Record<string, unknown>[]).map((st) => [st.name, st.in, st.ok, st.failed, st.filtered]);
    t.same(figures(queued.lines), figures(local.lines), 'the same figures per stage');
    t.match(queued.lines.at(-1), { ok: 6, filtered: 4, failed: 0, redelivered: 0 });
    const report = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, '.sluice', name, 'report.json'), 'utf8')) as Record<string, any>;
    t.same(report('queued').stages.map((st: Record<string, unknown>) => [st.name, st.in, st.ok, st.filtered]), report('local').stages.map((st: Record<string, unknown>) => [st.name, st.in, st.ok, st.filtered]), 'and in the report');
    // the last stage's options change: only it runs again, on the recorded outputs of the others
    const log = path.join(dir, 'calls.log');
    fs.writeFileSync(path.join(dir, 'queued.yaml'), pipe('queued', `, log: ${JSON.stringify(log)}`));
    const again = await sluice(['run', 'queued.yaml', '--queue', redis.url, '--progress', 'none'], { cwd: dir, t });
    t.equal(again.code, 0, again.stderr);
    t.equal(ofType(again.lines, 'result').length, 6);
    const calls = fs.readFileSync(log, 'utf8').trim().split('\n');
    t.ok(calls.length === 6 && calls.every((c) => c.startsWith('three ')), `only stage three ran again, for the 6 kept items: ${calls.length} calls`);
    t.ok(ofType(again.lines, 'result').every((r) => r.output.prev === 'two' && r.output.n === 3), 'on the outputs recorded for stages one and two');
    w.proc.kill('SIGTERM');
    await w.done;
  });

  t.test('SIGTERM on a worker: it stops taking items and, past --grace, hands back the ones running; another worker finishes them; each recorded once', async (t) => {
    const redis = await startRedis(t);
    const dir = inputs(4);
    const mod = path.join(dir, 'slow.mjs');
    fs.writeFileSync(mod, 'export default async () => { await new Promise((r) => setTimeout(r, 3000)); return { pid: process.pid }; };\n');
    const w1 = sluiceChild(t, ['worker', '--queue', redis.url, '-j', '2', '--grace', '500ms', '--progress-interval', '200ms'], { cwd: dir }, 60_000);
    let out1 = '';
    w1.proc.stdout!.on('data', (d: Buffer) => (out1 += d.toString()));
    const run = sluiceChild(t, ['run', '--input', 'in', '--include', '**/*', '--processor', mod, '--state', 'st', '--queue', redis.url, '--progress', 'none'], { cwd: dir }, 120_000);
    // w1 holds all four: two running in its threads, two waiting for one (a job ready for each thread)
    for (let i = 0; i < 400 && !/"in_flight":4/.test(out1); i++) await sleep(25);
    t.match(out1, /"type":"progress"[^\n]*"in_flight":4/, 'its progress lines say what it holds');
    const termAt = Date.now();
    w1.proc.kill('SIGTERM');
    const e1 = await w1.done;
    t.ok(!e1.hung && Date.now() - termAt < 8000, `it exited ${Date.now() - termAt} ms after SIGTERM (grace 500 ms, then at most 3 s to hand back)`);
    const summary = e1.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).find((l) => l.type === 'summary');
    t.match(summary, { handed_back: 4 }, 'the four it held were handed back');
    const w2 = worker(t, redis.url, dir);
    const end = await run.done;
    t.equal(end.code, 0, end.stderr);
    const journal = readJournal(path.join(dir, 'st'));
    t.equal(journal.length, 4, `each item recorded once: ${JSON.stringify(journal.map((e) => [e.path, e.status, e.error?.code]))}`);
    t.ok(keysOnce(journal));
    w2.proc.kill('SIGTERM');
    await w2.done;
  });

  t.test('fan-out over the queue (chunk): the same child results as a local run, each child recorded once', async (t) => {
    const redis = await startRedis(t);
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'in'));
    const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}${i % 9 === 8 ? '.' : ''}`).join(' ');
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, 'in', `t${i}.txt`), words(300 + 850 * i));
    const pipe = (name: string) => `version: 1\nname: ${name}\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { processor: chunk, options: { size: 200, overlap: 20 } }\n`;
    const { w, local, queued } = await localAndQueued(t, redis.url, dir, pipe);
    const children = (lines: Record<string, any>[]) => ofType(lines, 'result').filter((r) => r.parent !== undefined).map((r) => JSON.stringify([r.path, r.index, r.output.text])).sort();
    const expected = children(local.lines);
    t.ok(expected.length > 150, `${expected.length} chunks (one item has more than the 64 a worker may hold before the run takes them)`);
    t.same(children(queued.lines), expected, 'the same chunks, each once');
    const journal = readJournal(path.join(dir, '.sluice/queued'));
    t.ok(keysOnce(journal), 'each child and parent recorded once');
    t.equal(redis.cli('keys', 'sluice:children:*').trim(), '', 'no children list left in Redis');
    w.proc.kill('SIGTERM');
    await w.done;
  });

  t.test('2,000 items through the queue with 3 worker processes: the same keys and outputs as a local run', async (t) => {
    const redis = await startRedis(t);
    const dir = tmpDir();
    for (let d = 0; d < 4; d++) {
      fs.mkdirSync(path.join(dir, 'in', `d${d}`), { recursive: true });
      for (let i = 0; i < 500; i++) fs.writeFileSync(path.join(dir, 'in', `d${d}`, `f${i}.txt`), `item ${d}-${i}\n`.repeat(1 + (i % 7)));
    }
    const ws = [0, 1, 2].map(() => worker(t, redis.url, dir, 1));
    const args = (state: string) => ['run', '--input', 'in', '--include', '**/*', '--processor', 'sha256', '--state', state, '--progress', 'none'];
    const local = await sluice(args('local'), { cwd: dir, t });
    const queued = await sluice([...args('queued'), '--queue', redis.url], { cwd: dir, t });
    t.equal(queued.code, 0, queued.stderr);
    const set = (lines: Record<string, any>[]) => ofType(lines, 'result').map((r) => `${r.key} ${r.status} ${JSON.stringify(r.output)}`).sort();
    const expected = set(local.lines);
    t.equal(expected.length, 2000);
    t.same(set(queued.lines), expected, 'the same result set');
    t.equal(readJournal(path.join(dir, 'queued')).length, 2000, 'each recorded once');
    const ran = ws.map((w) => w.lines().filter((l) => l.type === 'result').length);
    t.ok(ran.every((n) => n > 0) && ran.reduce((a, b) => a + b, 0) === 2000, `the three workers ran ${ran.join(' + ')}`);
    for (const w of ws) w.proc.kill('SIGTERM');
    await Promise.all(ws.map((w) => w.done));
  });

  t.test('sluice worker with a bad --prefetch or --grace: exit 2 naming the flag, before it connects', async (t) => {
    const dir = inputs(1);
    const bad = await sluice(['worker', '--queue', 'unix:///nonexistent/r.sock', '--prefetch', '-1'], { cwd: dir, t });
    t.equal(bad.code, 2);
    t.match(bad.stderr, /--prefetch: expected a whole number >= 0, got -1/);
    const grace = await sluice(['worker', '--queue', 'unix:///nonexistent/r.sock', '--grace', 'soon'], { cwd: dir, t });
    t.equal(grace.code, 2);
    t.match(grace.stderr, /--grace: expected /);
  });

  t.test('a --queue that is not a Redis URL: exit 2 naming it, before anything runs', async (t) => {
    const dir = inputs(1);
    const r = await sluice(['run', '--input', 'in', '--include', '**/*', '--processor', 'noop', '--state', 'st', '--queue', 'http://example/', '--progress', 'none'], { cwd: dir, t });
    t.equal(r.code, 2);
    t.match(r.stderr, /--queue: http:\/\/example\/: the scheme must be redis:, rediss: or unix:/);
    t.notOk(fs.existsSync(path.join(dir, 'st/journal.ndjson')), 'nothing recorded');
  });
});
