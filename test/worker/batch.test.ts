// Fast items travel in batches; a worker lost in a batch fails only the item it was on.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { MAX_BATCH, WorkerPool } from '../../lib/worker/pool.js';
import type { ReplyMessage, TaskMessage } from '../../lib/worker/protocol.js';
import { FIXTURES, tmpDir } from '../helpers.js';

const proc = (name: string) => path.join(FIXTURES, 'processors', name);
const task = (processor: string, rel: string): TaskMessage => ({
  type: 'task', processor, options: {}, outDir: null, item: { path: rel, file: proc('throws.mjs'), rel, size: 1, mtime_ms: 1 },
});

/** n items through the pool the way the map stage feeds it: up to itemCapacity in flight. */
async function feed(pool: WorkerPool, names: string[], processor: string, timeoutMs: number): Promise<Map<string, ReplyMessage>> {
  const out = new Map<string, ReplyMessage>();
  let next = 0;
  const lane = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      out.set(name, await pool.run(task(processor, name), timeoutMs));
    }
  };
  await Promise.all(Array.from({ length: pool.itemCapacity() }, lane));
  return out;
}

t.test('fast items go in batches, every item gets its own reply', async (t) => {
  const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const names = Array.from({ length: 2000 }, (_, i) => `f${i}`.concat(i % 97 === 0 ? '-bad' : ''));
  const replies = await feed(pool, names, proc('throws.mjs'), 10_000);
  t.equal(replies.size, 2000);
  for (const [name, r] of replies) {
    if (name.endsWith('-bad')) t.equal(r.type === 'failed' && r.error.message, `Error: refusing ${name}`);
    else if (r.type !== 'ok') t.fail(`${name}: ${JSON.stringify(r)}`);
  }
  t.ok(pool.tasks < 2000 / 4, `batched: ${pool.tasks} tasks for 2000 items`);
  t.ok(pool.tasks >= 2000 / MAX_BATCH, 'never more than MAX_BATCH items a task');
});

t.test('until an item has been timed, tasks carry one item each, the smallest waiting first: the first result waits for no batch', async (t) => {
  const pool = new WorkerPool({ concurrency: 1, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const log = path.join(tmpDir(), 'calls.log');
  // handed over in one turn, largest first; the pool holds them until its worker is up
  const sizes = [500, 400, 300, 200, 100];
  const replies = await Promise.all(sizes.map((size) => pool.run({
    type: 'task', processor: proc('step.mjs'), options: { log }, outDir: null,
    item: { path: `s${size}`, file: proc('step.mjs'), rel: `s${size}`, size, mtime_ms: 1 },
  }, 10_000)));
  t.ok(replies.every((r) => r.type === 'ok'), JSON.stringify(replies));
  const order = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')[1]);
  t.equal(order.length, 5, 'each item once');
  t.equal(order[0], 's100', `the smallest first, alone: ${order.join(' ')}`);
  t.equal(order[1], 's500', 'then, still untimed, the largest alone');
});

t.test('a crash inside a batch fails the item it was on; the rest are done again and succeed', async (t) => {
  const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const names = Array.from({ length: 1500 }, (_, i) => (i % 300 === 299 ? `f${i}-crash` : `f${i}`));
  const replies = await feed(pool, names, proc('exit.mjs'), 10_000);
  t.equal(replies.size, 1500);
  const failed = [...replies].filter(([, r]) => r.type === 'failed');
  t.same(failed.map(([n]) => n).sort(), names.filter((n) => n.endsWith('-crash')).sort(), 'exactly the crashing items failed');
  t.ok(failed.every(([, r]) => r.type === 'failed' && r.error.code === 'SLUICE_E_WORKER_CRASH'));
  t.ok(pool.tasks < 1500 / 4, `batched: ${pool.tasks} tasks`);
  t.ok(pool.threads >= 1 && pool.threads <= 2, `each crashed worker replaced as tasks needed one, never more than the concurrency: ${pool.threads}`);
});

t.test('a hang inside a batch times out that item only, timed from its own start', async (t) => {
  const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const names = Array.from({ length: 1200 }, (_, i) => (i === 700 || i === 1100 ? `f${i}-hang` : `f${i}`));
  const replies = await feed(pool, names, proc('hang.mjs'), 400);
  const failed = [...replies].filter(([, r]) => r.type === 'failed');
  t.same(failed.map(([n]) => n).sort(), ['f1100-hang', 'f700-hang']);
  t.ok(failed.every(([, r]) => r.type === 'failed' && r.error.code === 'SLUICE_E_TIMEOUT'));
});

t.test('a stop drops the items not started: they come back SLUICE_E_ABORTED', async (t) => {
  const pool = new WorkerPool({ concurrency: 1, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const slow = Array.from({ length: 20 }, (_, i) => pool.run({ ...task(proc('slow.mjs'), `s${i}`), options: { ms: 200 } }, 10_000));
  await new Promise((r) => setTimeout(r, 300));
  const dropped = pool.abortQueued();
  t.ok(dropped >= 15, `queued ones dropped (${dropped})`);
  const replies = await Promise.all(slow);
  const aborted = replies.filter((r) => r.type === 'failed' && r.error.code === 'SLUICE_E_ABORTED').length;
  t.equal(aborted, dropped);
  t.equal(replies.filter((r) => r.type === 'ok').length, 20 - dropped, 'the started ones finished');
});
