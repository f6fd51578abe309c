import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { SluiceError, dedupe, journalSink, map, openCheckpoint, report, walk } from '../../lib/index.js';
import { FIXTURES, makeTree, readJournal, tmpDir } from '../helpers.js';
import { HWM, STAGES, devNull, makeEnv, rig, runChild, waitFor, type StageEnv, type StageRow } from './stage-table.js';

// The stage conformance suite: every stage the library exports (stage-table.ts STAGES, one row
// each) passes the same checks. Backpressure: with its downstream held, what it has taken in and
// not handed on stays within its row's bound, and it stops taking in. Errors: one upstream or
// downstream rejects the pipeline with that very error; its own rejects it with a SluiceError of
// the row's code. destroy(): the stage closes and its threads go, and a process that destroyed it
// exits by itself. Memory: 20,000 items leave no more on the heap than 5,000. Then the stages
// composed, with correct results. Assertions that fail today for a known lib bug carry a todo
// naming it (stage-table.ts `todo`): drop the todo with the fix.

// tap starts this process with its own --import hooks (module mocking, process info), and
// sluice's threads take the process's execArgv (core/threads.ts): each walker and pool thread
// would load tap's hooks too, which makes starting one several times slower. The stages' threads
// start without them here (the first thread reads execArgv: nothing has started one yet).
process.execArgv = process.execArgv.filter((a) => !a.includes('@tapjs'));

// a full GC on demand (tap runs the file without --expose-gc): the heap measures below are of
// live objects, not of garbage not yet collected
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heap = () => process.memoryUsage().heapUsed;
const MB = 2 ** 20;

const TASKS = '/proc/self/task';
const threadsCounted = fs.existsSync(TASKS) ? false : 'counting threads needs /proc/self/task (Linux)';
const threads = () => fs.readdirSync(TASKS).length;

/** Wait until `read` has not changed for 300 ms (at most `ms`); its value then. */
async function quiet(read: () => number, ms = 15_000): Promise<number> {
  const end = Date.now() + ms;
  let last = read();
  let still = 0;
  while (still < 6 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    const now = read();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}

// one tree of 20,000 small files for the source stages: 40 folders of 500; its first 10 folders
// are a tree of 5,000
const BIG = tmpDir();
makeTree(BIG, 20_000);
const FOLDERS = fs.readdirSync(BIG).sort();
const FIVE_K = FOLDERS.slice(0, 10).map((d) => path.join(BIG, d));
const rootsFor = (n: number) => (n === 20_000 ? [BIG] : n === 5_000 ? FIVE_K : []);

/** One child process destroys every row's stage mid-run in turn, then must exit by itself (run once, shared by the rows). */
let destroyed: Promise<{ code: number | null; stderr: string; rows: Map<string, { reached?: boolean; rejection?: { code?: string } }> }> | undefined;
const destroyChild = () => (destroyed ??= runChild(['destroy-all', tmpDir()], { boundMs: 60_000 }).then((c) => ({
  code: c.code,
  stderr: c.stderr,
  rows: new Map(c.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => {
    const o = JSON.parse(l) as { stage: string; reached?: boolean; rejection?: { code?: string } };
    return [o.stage, o];
  })),
})));

/** An env over a fresh scratch dir, with roots holding `n` files (5,000 or 20,000; else none); its checkpoint closed at the end of `t`. */
async function envFor(t: Test, n: number): Promise<Omit<StageEnv, 'onFound' | 'recorded'>> {
  const env = await makeEnv(tmpDir(), rootsFor(n));
  t.teardown(() => env.checkpoint.close());
  return env;
}

/**
 * The heap's growth (live objects, MB) while `r` takes `n` items: read after a full GC at the
 * start, at the 100th item and at each fifth of the run; the largest rise from an earlier low (the
 * start's, unless what earlier tests left was freed as this one began).
 */
async function heapGrowth(t: Test, r: StageRow, n: number): Promise<number> {
  const env = await envFor(t, n);
  const readings: number[] = [];
  const read = () => {
    gc();
    readings.push(heap());
  };
  read();
  const rg = rig(r, env, { n, onDelivered: (k) => { if (k === 100 || k % (n / 5) === 0) read(); } });
  const rejection = await rg.result;
  await env.checkpoint.close();
  t.equal(rejection, null, `${r.name} takes ${n} items`);
  t.equal(rg.delivered(), n, `all ${n} come out`);
  // the largest rise from an earlier low
  let low = Infinity;
  let rise = 0;
  for (const x of readings) {
    low = Math.min(low, x);
    rise = Math.max(rise, x - low);
  }
  return rise / MB;
}

// 15,000 items more must not show: a stage that kept each of them (an Item: ~200 bytes with its
// strings) adds ~3 MB (the control test below); the stages here differ by under 1 MB (the items
// in transit when a sample is taken: up to a row's bound, ~0.6 MB for the walk's)
const LEAK_SLACK_MB = 2;

for (const r of STAGES) {
  t.test(`${r.name}: ${r.consumes} → ${r.produces}`, async (t) => {
    t.test('with its downstream held, what it has taken in and not handed on stays within its bound, and it stops taking in', async (t) => {
      // more items than the bound, so a stage that ignored its downstream would take them all
      const n = r.kind === 'source' ? 5_000 : 2_000;
      const rg = rig(r, await envFor(t, n), { n, held: true });
      t.ok(await waitFor(() => rg.delivered() > 0, 30_000), 'it starts handing on (the held downstream has taken one)');
      const taken = await quiet(rg.pulled);
      const gap = taken - rg.delivered();
      t.ok(gap <= r.bound, `held: ${gap} items taken in and not handed on (taken ${taken} of ${n}, handed on ${rg.delivered()}); bound ${r.bound} = ${r.boundWhy}`);
      t.ok(taken < n, `it stopped taking in at ${taken} of ${n}`);
      rg.release();
      t.equal(await rg.result, null, 'released, the pipeline completes');
      t.equal(rg.delivered(), n, 'every item is handed on');
      t.ok(rg.maxGap() <= r.bound, `running: at most ${rg.maxGap()} taken in and not handed on (bound ${r.bound})`);
    });

    if (r.kind !== 'source') {
      t.test('an error upstream rejects the pipeline with that error, and the stage is destroyed', async (t) => {
        const boom = new Error('boom');
        const rg = rig(r, await envFor(t, 0), { n: 1e9, upstreamFailsAt: 100, boom });
        const rejection = await rg.result;
        t.equal(rejection?.error, boom, `rejected with the upstream's error (got ${rejection?.message})`);
        t.ok(rg.stage.destroyed, 'the stage is destroyed');
      });
    }
    if (r.kind !== 'sink') {
      t.test('an error downstream rejects the pipeline with that error, and the stage is destroyed', async (t) => {
        const boom = new Error('boom');
        const rg = rig(r, await envFor(t, 5_000), { n: r.kind === 'source' ? 5_000 : 2_000, downstreamFailsAt: 100, boom });
        const rejection = await rg.result;
        t.equal(rejection?.error, boom, `rejected with the downstream's error (got ${rejection?.message})`);
        t.ok(rg.stage.destroyed, 'the stage is destroyed');
      });
    }
    for (const e of r.ownErrors) {
      t.test(`its own error (${e.what}) rejects the pipeline with a SluiceError ${e.code}`, async (t) => {
        const env = await envFor(t, 0);
        const rejection = await e.provoke({ ...env, onFound: () => {}, recorded: () => {} });
        t.ok(rejection, `the pipeline rejects (${rejection ? rejection.message : 'it resolved'})`, e.todo?.rejects ? { todo: e.todo.rejects } : {});
        const sluice = rejection?.error === undefined ? rejection?.name === 'SluiceError' : rejection.error instanceof SluiceError;
        const todo = e.todo?.code ?? e.todo?.rejects;
        t.ok(sluice && rejection?.code === e.code, `a SluiceError ${e.code} (got ${rejection?.name} ${rejection?.code}: ${rejection?.message})`, todo ? { todo } : {});
      });
    }

    t.test('destroyed mid-run, it closes and its threads are gone within 5 s', { skip: threadsCounted }, async (t) => {
      const base = await quiet(threads);
      const rg = rig(r, await envFor(t, 20_000), { n: 1e9 });
      t.ok(await waitFor(() => rg.delivered() >= 32, 30_000), 'it is running (32 items handed on)');
      const running = threads();
      t.ok(running >= base + r.threads, `running: ${running} threads, ${base} before (the stage runs ${r.threads})`);
      rg.stage.destroy();
      const rejection = await rg.result;
      t.equal(rejection?.code, 'ERR_STREAM_PREMATURE_CLOSE', 'the pipeline rejects: closed early');
      t.ok(rg.stage.destroyed && rg.stage.closed, 'the stage is destroyed and closed');
      t.ok(await waitFor(() => threads() <= base, 5_000), `threads back to ${base} (now ${threads()})`);
    });

    t.test('destroyed mid-run in a child process, it lets that process exit by itself', async (t) => {
      const child = await destroyChild();
      t.equal(child.code, 0, `the process (which destroyed every stage in turn) exits by itself, status 0 (stderr: ${child.stderr.slice(0, 300)})`);
      const out = child.rows.get(r.name);
      t.equal(out?.reached, true, 'it was running when destroyed');
      t.equal(out?.rejection?.code, 'ERR_STREAM_PREMATURE_CLOSE', 'its pipeline rejected: closed early');
    });

    t.test('20,000 items leave no more on the heap than 5,000', async (t) => {
      const small = await heapGrowth(t, r, 5_000);
      const large = await heapGrowth(t, r, 20_000);
      t.ok(large < 50, `heap growth with 20,000 items: ${large.toFixed(2)} MB (bound 50 MB)`);
      t.ok(large - small < LEAK_SLACK_MB, `20,000 items: ${large.toFixed(2)} MB, 5,000: ${small.toFixed(2)} MB; difference under ${LEAK_SLACK_MB} MB`, r.todo?.memory ? { todo: r.todo.memory } : {});
    });
  });
}

t.test('the heap measure sees a stage that keeps every item (a control for the check above)', async (t) => {
  const kept: unknown[] = [];
  const leaky: StageRow = {
    ...STAGES.find((s) => s.name === 'dedupe')!,
    name: 'leaky',
    build: () => new Transform({ objectMode: true, highWaterMark: HWM, transform(x, _e, cb) { kept.push(x); cb(null, x); } }),
  };
  const small = await heapGrowth(t, leaky, 5_000);
  kept.length = 0;
  const large = await heapGrowth(t, leaky, 20_000);
  t.ok(large - small >= LEAK_SLACK_MB, `a stage keeping its items: 20,000 items ${large.toFixed(2)} MB, 5,000 ${small.toFixed(2)} MB; difference at least ${LEAK_SLACK_MB} MB`);
  kept.length = 0;
});

/** A tree of `n` files with distinct contents in nested folders; their sha256 by absolute path. */
function contentTree(dir: string, n: number): Map<string, string> {
  const digests = new Map<string, string>();
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `a${i % 7}`, `b${i % 3}`, `file-${i}.txt`);
    const body = `content of ${i} `.repeat(1 + (i % 13));
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, body);
    digests.set(f, createHash('sha256').update(body).digest('hex'));
  }
  return digests;
}

t.test('walk → dedupe → map(sha256) → report → journalSink records every file once with its digest, report.json says ok N; reruns drop them all, in the walk (with the checkpoint) or in dedupe (without)', async (t) => {
  const dir = tmpDir();
  const root = path.join(dir, 'tree');
  const N = 200;
  const digests = contentTree(root, N);
  const state = path.join(dir, 'state');
  const reportPath = path.join(dir, 'out', 'report.json');
  const runOnce = async (walkChecks: boolean) => {
    const checkpoint = await openCheckpoint(state, { warn: () => {} });
    const counts = { found: 0, skippedInWalk: 0, droppedInDedupe: 0 };
    try {
      await pipeline(
        walk({ roots: [root], ...(walkChecks ? { checkpoint } : {}), onCounts: (f, s) => { counts.found = f; counts.skippedInWalk = s; } }),
        dedupe({ checkpoint, onSkip: () => { counts.droppedInDedupe++; } }),
        map({ processor: 'sha256', concurrency: 2 }),
        report({ path: reportPath }),
        journalSink(checkpoint),
      );
    } finally {
      await checkpoint.close();
    }
    return counts;
  };
  t.same(await runOnce(true), { found: N, skippedInWalk: 0, droppedInDedupe: 0 }, `the walk finds ${N} files, none done`);
  const lines = readJournal(state);
  const byPath = new Map<string, Record<string, any>[]>();
  for (const l of lines) byPath.set(path.resolve(l.path as string), [...(byPath.get(path.resolve(l.path as string)) ?? []), l]);
  t.equal(lines.length, N, 'one journal line per file');
  t.same([...byPath.keys()].sort(), [...digests.keys()].sort(), 'every file is recorded, and nothing else');
  const wrong = [...digests].filter(([f, d]) => byPath.get(f)?.length !== 1 || byPath.get(f)![0]!.status !== 'ok' || byPath.get(f)![0]!.output?.sha256 !== d);
  t.same(wrong.map(([f]) => f), [], 'each exactly once, ok, with the file\'s sha256');
  t.match(JSON.parse(fs.readFileSync(reportPath, 'utf8')), { ok: N, failed: 0, total: N }, `report.json: ok ${N}, failed 0`);
  t.same(await runOnce(true), { found: N, skippedInWalk: N, droppedInDedupe: 0 }, 'a rerun with the checkpoint in the walk: the walk drops all of them');
  t.same(await runOnce(false), { found: N, skippedInWalk: 0, droppedInDedupe: N }, 'a rerun without: dedupe drops all of them');
  t.equal(readJournal(state).length, N, 'the reruns record nothing more');
  t.match(JSON.parse(fs.readFileSync(reportPath, 'utf8')), { ok: 0, failed: 0 }, 'and their report.json counts nothing processed');
});

t.test('a map stage over a module processor lets its worker threads go within 2.5 s of its end', { skip: threadsCounted }, async (t) => {
  const base = await quiet(threads);
  const env = await envFor(t, 0);
  const items = Array.from({ length: 10 }, (_, i) => ({ path: `i${i}`, file: env.files[0]!, root: env.dir, rel: `i${i}`, size: 1, mtime_ms: 1 }));
  await pipeline(Readable.from(items), map({ processor: path.join(FIXTURES, 'processors/slow.mjs'), options: { ms: 1 }, concurrency: 2 }), devNull());
  const ended = Date.now();
  const gone = await waitFor(() => threads() <= base, 2_500);
  t.ok(gone, `threads back to ${base} ${Date.now() - ended} ms after the end (now ${threads()})`);
});
