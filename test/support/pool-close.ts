// Run by test/worker/pool.test.ts in a child process (a pool that loops in microtasks would
// starve the test's own timers): close a pool while batches of fast items are queued and in
// flight, and print what every item came back as. Exits by itself once every run() resolved.
import { WorkerPool } from '../../lib/worker/pool.js';
import type { ReplyMessage, TaskMessage } from '../../lib/worker/protocol.js';

const item = (i: number): TaskMessage => ({
  type: 'task', processor: 'noop', options: {}, outDir: null,
  item: { path: `f${i}`, file: `/nonexistent/f${i}`, rel: `f${i}`, size: 1, mtime_ms: 1 },
});

const pool = new WorkerPool({ concurrency: 2, maxMemoryMb: 256 });
// warm up: the pool learns items are fast and starts sending them in batches
await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run(item(i), 10_000)));
const counts: Record<string, number> = {};
const count = (r: ReplyMessage) => {
  const k = r.type === 'ok' ? 'ok' : r.error.code;
  counts[k] = (counts[k] ?? 0) + 1;
};
const all = Array.from({ length: 5000 }, (_, i) => pool.run(item(i), 10_000).then(count));
// close once the first batches are with the workers, the rest still queued
let closed = false;
const closing = new Promise<void>((resolve) => {
  const tick = () => (pool.busy > 0 ? resolve(pool.close()) : setImmediate(tick));
  tick();
}).then(() => (closed = true));
const late = await pool.run(item(-1), 10_000);
await Promise.all(all);
await closing;
process.stdout.write(JSON.stringify({ counts, late: late.type === 'failed' ? late.error.code : late.type, closed, tasks: pool.tasks }) + '\n');
