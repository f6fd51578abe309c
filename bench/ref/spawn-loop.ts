// Reference for the exec benchmark: what spawning costs a Node process of a given size. Two
// worker threads each spawn `/bin/true` N times, one after the other (as sluice's exec does with
// -j 2); with BALLAST_MB the process first fills that much memory, as a running sluice holds.
// Usage: node dist/bench/ref/spawn-loop.js N [BALLAST_MB]   prints spawns/s as one JSON line
import { spawn } from 'node:child_process';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

if (isMainThread) {
  const n = Number(process.argv[2] ?? 500);
  const ballastMb = Number(process.argv[3] ?? 0);
  const ballast = ballastMb ? Buffer.alloc(ballastMb * 1048576, 1) : null; // touched: resident
  const t0 = performance.now();
  await Promise.all([0, 1].map(() => new Promise((resolve, reject) => new Worker(new URL(import.meta.url), { workerData: n }).on('message', resolve).on('error', reject))));
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ spawns: 2 * n, ballast_mb: ballastMb, held: ballast?.length ?? 0, per_s: (2 * n) / s }) + '\n');
} else {
  for (let i = 0; i < (workerData as number); i++) await new Promise((r) => spawn('/bin/true', [], { stdio: 'ignore' }).on('close', r));
  parentPort!.postMessage('done');
}
