// ctx.signal: the item's timeout as an AbortSignal, for processors that can stop cleanly.
import t from 'tap';
import path from 'node:path';
import { WorkerPool } from '../../lib/worker/pool.js';
import type { TaskMessage } from '../../lib/worker/protocol.js';
import { FIXTURES } from '../helpers.js';

const task = (rel: string): TaskMessage => ({
  type: 'task', processor: path.join(FIXTURES, 'processors', 'cooperative.mjs'), options: {}, outDir: null,
  item: { path: rel, file: rel, rel, size: 1, mtime_ms: 1 },
});

t.test('a processor that stops when ctx.signal aborts fails SLUICE_E_TIMEOUT, and its worker is kept', async (t) => {
  const pool = new WorkerPool({ concurrency: 1, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  // a first item loads the module (its load counts in that item's time)
  const first = await pool.run(task('first'), 60_000);
  t.equal(first.type, 'ok');
  const r = await pool.run(task('wait-1'), 300);
  t.match(r, { type: 'failed', error: { code: 'SLUICE_E_TIMEOUT', retryable: true, message: /^no result after 300 ms \(map\.timeout\); the processor stopped with SLUICE_E_PROCESSOR: Error: stopped in thread \d+$/ } });
  const thread = Number(/thread (\d+)/.exec(r.type === 'failed' ? r.error.message : '')?.[1]);
  t.match(first, { type: 'ok', output: { thread } }, 'it ran in the worker that ran the first item');
  const next = await pool.run(task('next'), 300);
  t.match(next, { type: 'ok', output: { thread } }, 'the next item runs in the same worker thread: it was not stopped');
});

t.test('the signal carries its deadline for code that waits outside the event loop, and a postponement moves it', async (t) => {
  const { ItemDeadline } = await import('../../lib/worker/deadline.js');
  const { deadlineOf, ItemTimeout } = await import('../../lib/core/processor.js');
  const at = Date.now() + 60_000;
  const d = new ItemDeadline(at, 60_000, () => {});
  const signal = d.signal;
  t.equal(deadlineOf(signal)?.at, at);
  t.type(deadlineOf(signal)?.reason(), ItemTimeout);
  d.postpone(500);
  t.equal(deadlineOf(signal)?.at, at + 500);
  d.done();
  t.equal(deadlineOf(new AbortController().signal), undefined, 'a signal of anyone else has none');
});

t.test('an exec item in a pool worker takes the posix_spawn way: its command is waited for in the worker, the deadline kept there', async (t) => {
  // the two ways differ in the worker's event loop: stopped while posix_spawn's command runs
  const pool = new WorkerPool({ concurrency: 1, maxMemoryMb: 256 });
  t.teardown(() => pool.close());
  const probe = path.join(FIXTURES, 'processors', 'spawn-way.mjs');
  const r = await pool.run({ type: 'task', processor: probe, options: {}, outDir: null, item: { path: 'x', file: 'x', rel: 'x', size: 1, mtime_ms: 1 } }, 60_000);
  t.match(r, { type: 'ok', output: { deadline: true, fast: true, timerRanDuringCommand: false } });
});
