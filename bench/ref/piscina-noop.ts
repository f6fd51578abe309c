// Reference for row 2: a bare piscina loop calling sluice's noop processor n times, two threads,
// a few tasks queued ahead so that no thread waits for the main thread. No walk, no checkpoint,
// no output: the floor for "one task per item through a worker pool".
// Usage: node dist/bench/ref/piscina-noop.js N [threads]
import { Piscina } from 'piscina';

const n = Number(process.argv[2] ?? 100_000);
const threads = Number(process.argv[3] ?? 2);
const t0 = performance.now();
const pool = new Piscina({ filename: new URL('./noop-worker.js', import.meta.url).href, minThreads: threads, maxThreads: threads });
const window = Number(process.env.WINDOW ?? threads * 2);
let next = 0;
let done = 0;
await new Promise<void>((resolve, reject) => {
  const launch = (): void => {
    if (next >= n) return;
    const i = next++;
    pool.run({ path: `item-${i}` }).then(() => {
      if (++done === n) resolve();
      else launch();
    }, reject);
  };
  for (let k = 0; k < window; k++) launch();
});
await pool.close();
const wall = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ ref: 'piscina-noop', items: n, threads, wall_s: wall, rate: n / wall }));
