import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { WorkerPool } from '../../lib/worker/pool.js';
import type { TaskMessage } from '../../lib/worker/protocol.js';
import { spawn } from 'node:child_process';
import { FIXTURES, ROOT, exitWithin, quietEnv, tmpDir } from '../helpers.js';

const proc = (name: string) => path.join(FIXTURES, 'processors', name);
const task = (processor: string, rel: string, options: Record<string, unknown> = {}, outDir: string | null = null): TaskMessage => ({
  type: 'task', processor, options, outDir, item: { path: rel, file: path.join(FIXTURES, 'processors', 'throws.mjs'), rel, size: 1, mtime_ms: 1 },
});

t.test('a throwing processor fails that item only, with SLUICE_E_PROCESSOR', async (t) => {
  const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const bad = await pool.run(task(proc('throws.mjs'), 'bad.pdf'), 10_000);
  const { ms, ...rest } = bad;
  t.same(rest, { type: 'failed', error: { code: 'SLUICE_E_PROCESSOR', message: 'Error: refusing bad.pdf', retryable: false } });
  t.ok(typeof ms === 'number' && ms >= 0, 'the time in the processor, measured in the worker');
  const good = await pool.run(task(proc('throws.mjs'), 'good.pdf'), 10_000);
  t.same({ ...good, ms: 0 }, { type: 'ok', output: { size: 1 }, ms: 0 });
});

t.test('a worker running a built-in processor never loads zod: the options it gets were parsed in the main thread', async (t) => {
  const file = path.join(FIXTURES, 'processors', 'throws.mjs');
  const { BUILTIN_PROCESSORS } = await import('../../lib/processors/index.js');
  const probe = (options: Record<string, unknown> = {}): TaskMessage => ({ ...task(proc('modules-loaded.mjs'), 'probe', options) });
  for (const [name, options] of [['noop', {}], ['sha256', {}], ['exec', { cmd: 'true' }], ['pdf-text', { engine: 'pdfium' }], ['pdf-text', { engine: 'pdfjs' }], ['pdf-info', {}], ['chunk', {}]] as const) {
    const parsed = BUILTIN_PROCESSORS[name]!.spec.options.parse(options) as Record<string, unknown>;
    const pool = new WorkerPool({ concurrency: 1, maxMemoryMb: 256, preload: name, preloadOptions: parsed });
    try {
      const r = await pool.run({ type: 'task', processor: name, options: parsed, outDir: null, item: { path: 'x', file, rel: 'x', size: 1, mtime_ms: 1 } }, 20_000);
      t.ok(r.type === 'ok' || r.type === 'failed', `${name} ${JSON.stringify(options)} ran`);
      t.same((await pool.run(probe(), 10_000) as { output?: unknown }).output, { zod: false }, `${name} ${JSON.stringify(options)}: no zod in its worker`);
    } finally {
      await pool.close();
    }
  }
  // the probe sees zod when it is there
  const pool = new WorkerPool({ concurrency: 1, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  t.same((await pool.run(probe({ load: true }), 10_000) as { output?: unknown }).output, { zod: true }, 'the probe finds zod once loaded');
});

t.test('a worker that exits is a crash for its item; the pool is back to full strength', async (t) => {
  const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const r = await pool.run(task(proc('exit.mjs'), 'crash.pdf'), 10_000);
  t.equal(r.type, 'failed');
  t.equal(r.type === 'failed' && r.error.code, 'SLUICE_E_WORKER_CRASH');
  const after = await Promise.all([pool.run(task(proc('exit.mjs'), 'a'), 10_000), pool.run(task(proc('exit.mjs'), 'b'), 10_000)]);
  t.same(after.map((x) => x.type), ['ok', 'ok']);
  t.equal(pool.threads, 2, 'two workers again');
});

t.test('a hung worker (sync loop) is stopped at the timeout and replaced', async (t) => {
  const pool = new WorkerPool({ concurrency: 1, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const r = await pool.run(task(proc('hang.mjs'), 'hang.pdf'), 300);
  t.equal(r.type === 'failed' && r.error.code, 'SLUICE_E_TIMEOUT');
  const next = await pool.run(task(proc('hang.mjs'), 'fine.pdf'), 5_000);
  t.equal(next.type, 'ok', 'the replacement worker takes the next item');
});

t.test('writeOutput is atomic and cannot escape the output dir', async (t) => {
  const out = tmpDir();
  const mod = path.join(tmpDir(), 'writer.mjs');
  fs.writeFileSync(mod, `export default async (item, ctx) => ({ p: await ctx.writeOutput(item.rel, 'data:' + item.rel) });`);
  const pool = new WorkerPool({ concurrency: 1, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const ok = await pool.run(task(mod, 'sub/dir/a.txt', {}, out), 10_000);
  t.equal(ok.type, 'ok');
  t.equal(fs.readFileSync(path.join(out, 'sub/dir/a.txt'), 'utf8'), 'data:sub/dir/a.txt');
  t.same(fs.readdirSync(path.join(out, 'sub/dir')), ['a.txt'], 'no temp file left behind');
  for (const evil of ['../escape.txt', '/etc/passwd', 'a/../../b', 'nul\0byte']) {
    const r = await pool.run(task(mod, evil, {}, out), 10_000);
    t.equal(r.type === 'failed' && r.error.code, 'SLUICE_E_OUTPUT_PATH', JSON.stringify(evil));
  }
  t.notOk(fs.existsSync(path.join(path.dirname(out), 'escape.txt')));
});

t.test('memory outside the JS heap: the RSS watchdog stops the item, the pool carries on', async (t) => {
  const base = Math.round(process.memoryUsage.rss() / 2 ** 20);
  const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 256, maxRssMb: base + 400, watchMs: 50 });
  t.teardown(() => pool.close());
  const [bomb, fine] = await Promise.all([
    pool.run(task(proc('balloon.mjs'), 'bomb.pdf', { mb: 4000 }), 60_000),
    pool.run(task(proc('balloon.mjs'), 'fine.pdf'), 60_000),
  ]);
  t.equal(bomb.type === 'failed' && bomb.error.code, 'SLUICE_E_WORKER_OOM');
  t.match(bomb.type === 'failed' && bomb.error.message, /process RSS \d+ MB passed max_rss_mb \d+ MB/);
  t.equal(fine.type, 'ok', 'the other item is not touched');
  t.equal(pool.memoryKills, 1);
  const peak = Math.round(process.resourceUsage().maxRSS / 1024);
  t.ok(peak < base + 1500, `the process never got near the 4 GB the item wanted (peak ${peak} MB, base ${base} MB)`);
  const after = await Promise.all([pool.run(task(proc('balloon.mjs'), 'a'), 10_000), pool.run(task(proc('balloon.mjs'), 'b'), 10_000)]);
  t.same(after.map((x) => x.type), ['ok', 'ok']);
  t.equal(pool.threads, 2, 'back to full strength');
});

t.test('a throw from a timer, a non-Error rejection and a full JS heap each fail their item only', async (t) => {
  const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 64 });
  t.teardown(() => pool.close());
  const m = proc('misbehave.mjs');
  const [timer, nonerror, heap] = await Promise.all([pool.run(task(m, 'timer.pdf'), 20_000), pool.run(task(m, 'nonerror.pdf'), 20_000), pool.run(task(m, 'heap.pdf'), 60_000)]);
  t.match(timer, { type: 'failed', error: { code: 'SLUICE_E_WORKER_CRASH', message: /thrown from a timer/ } });
  t.match(nonerror, { type: 'failed', error: { code: 'SLUICE_E_WORKER_CRASH', message: /non-Error value: 42/ } });
  t.match(heap, { type: 'failed', error: { code: 'SLUICE_E_WORKER_OOM', message: /\(its JS heap limit: map\.max_memory_mb, 64 MB\)$/ } }, 'the message says which limit it reached');
  const after = await Promise.all([pool.run(task(m, 'a'), 10_000), pool.run(task(m, 'b'), 10_000)]);
  t.same(after.map((x) => x.type), ['ok', 'ok']);
  t.equal(pool.threads, 2, 'back to full strength');
});

t.test('a worker loads a preloaded processor module while it boots, before any task; a pool starts one worker and adds the others as tasks wait', async (t) => {
  // piscina parks an idle worker in a synchronous Atomics.wait: an import left running in the
  // background stalled until the first task (a custom processor's run started 3 s late)
  const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 256, preload: proc('throws.mjs') });
  t.teardown(() => pool.close());
  pool.warm();
  const up = async (n: number) => {
    const until = Date.now() + 20_000;
    while (pool.ready < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  };
  await up(1);
  t.equal(pool.ready, 1, 'one worker up with the processor loaded, no task given');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(pool.threads, 1, 'and only one: a run of a few items boots one thread');
  t.equal(pool.busy, 0);
  const r = await pool.run(task(proc('throws.mjs'), 'good.pdf'), 10_000);
  t.equal(r.type, 'ok');
  // tasks waiting: the second worker starts, and loads the processor as it boots
  const slow = Array.from({ length: 4 }, (_, i) => pool.run({ ...task(proc('slow.mjs'), `s${i}`), options: { ms: 500 } }, 10_000));
  await up(2);
  t.equal(pool.ready, 2, 'the second worker up');
  t.equal(pool.threads, 2, 'never more than the concurrency');
  t.ok((await Promise.all(slow)).every((x) => x.type === 'ok'));
});

t.test('closing a pool with batches queued and in flight ends every item, each as done or SLUICE_E_ABORTED, without spinning', async (t) => {
  // in a child: the old pool put refused batches back and re-sent them in a microtask loop forever
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/test/support/pool-close.js')], { stdio: ['ignore', 'pipe', 'inherit'], env: quietEnv() });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await exitWithin(child, 60_000);
  t.equal(code, 0, 'the child ended by itself (it is killed after 60 s otherwise)');
  const r = JSON.parse(out) as { counts: Record<string, number>; late: string; closed: boolean };
  t.same(Object.keys(r.counts).filter((k) => k !== 'ok' && k !== 'SLUICE_E_ABORTED'), [], `only ok and SLUICE_E_ABORTED: ${JSON.stringify(r.counts)}`);
  t.equal((r.counts.ok ?? 0) + (r.counts.SLUICE_E_ABORTED ?? 0), 5000, 'every item came back once');
  t.ok(r.counts.SLUICE_E_ABORTED! > 0, 'some were still queued at the close');
  t.equal(r.late, 'SLUICE_E_ABORTED', 'an item given to a closing pool is refused at once');
  t.ok(r.closed, 'close() resolved');
});
