// Scale-out through a queue (`sluice run --queue` + `sluice worker`), against a real redis-server
// on a unix socket, in the same run as the local references, medians of repeats:
//   1. scaling: CPU-bound items (a fixed loop calibrated to ~20 ms of CPU) through 1 and 2 worker
//      processes of 1 thread each, against the same pool locally (-j 1, -j 2): items/s and the
//      efficiency queued / local (target >= 0.9);
//   2. per-item overhead: noop over N small files (default 20,000) through 2 worker processes
//      (of 1 thread, and of 2: the default here), next to local noop (-j 2): items/s (goal >= 2,000);
//   3. Redis memory: noop over M small files (default 1,000,000) through 2 workers; the peak RSS
//      of redis-server (VmHWM) and of the coordinator (target <= 200 MB for Redis).
// Usage: node dist/bench/queue.js [--runs 3] [--cpu-items 300] [--files 20000] [--items 1000000] [--only 1,2,3]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, DATA, argOf, machine, median, smallFileTree } from './lib.js';

const runs = Number(argOf('runs') ?? 3);
const cpuItems = Number(argOf('cpu-items') ?? 300);
const files = Number(argOf('files') ?? 20_000);
const items = Number(argOf('items') ?? 1_000_000);
const only = (argOf('only') ?? '1,2,3').split(',').map(Number);
fs.mkdirSync(DATA, { recursive: true });
// no test-runner hooks in the children (tap preloads itself through NODE_OPTIONS)
const env = { ...process.env, NODE_OPTIONS: '' };

/** A redis-server on a unix socket in a short temp path, no persistence. */
async function startRedis(): Promise<{ url: string; proc: ChildProcess; peakMb(): number; stop(): Promise<void> }> {
  const dir = fs.mkdtempSync('/tmp/rqb-');
  const sock = path.join(dir, 'r.sock');
  const proc = spawn('/usr/bin/redis-server', ['--port', '0', '--unixsocket', sock, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await sleep(25);
  return {
    url: `unix://${sock}`, proc,
    peakMb: () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) / 1024,
    stop: async () => {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `sluice worker` processes (NDJSON to /dev/null); stopped with SIGTERM, SIGKILL after 10 s. */
function startWorkers(n: number, url: string, threads: number, cwd: string): { stop(): Promise<void> } {
  const ws = Array.from({ length: n }, () => spawn(process.execPath, [BIN, 'worker', '--queue', url, '-j', String(threads), '--progress-interval', '0'], { cwd, env, stdio: 'ignore' }));
  return {
    stop: async () => {
      await Promise.all(ws.map((w) => new Promise<void>((resolve) => {
        if (w.exitCode !== null || w.signalCode !== null) return resolve();
        const hard = setTimeout(() => w.kill('SIGKILL'), 10_000);
        w.once('exit', () => { clearTimeout(hard); resolve(); });
        w.kill('SIGTERM');
      })));
    },
  };
}

/** `sluice run`, fresh state; wall time (s), its summary, and its own peak RSS (GNU time, MB). */
function run(args: string[], cwd: string): { wall: number; summary: Record<string, any>; rssMb: number } {
  const state = fs.mkdtempSync(path.join(DATA, 'state-'));
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, BIN, 'run', ...args, '--state', state, '--progress', 'none'], { cwd, encoding: 'utf8', env, maxBuffer: 1 << 30 });
  const wall = (performance.now() - t0) / 1000;
  fs.rmSync(state, { recursive: true, force: true });
  const lines = r.stdout.trimEnd().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]!) as Record<string, any>;
  if (r.status !== 0) throw new Error(`sluice run exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { wall, summary, rssMb: Number(r.stderr.trim().split('\n').pop()) / 1024 };
}

/** A processor module that burns a fixed amount of CPU, calibrated here (the module itself, timed) to ~ms per call. */
async function burnModule(file: string, ms: number): Promise<number> {
  const write = (n: number) => fs.writeFileSync(file, `// a fixed amount of CPU (~${ms} ms where the bench calibrated it)\nexport default () => { let x = 0; for (let i = 0; i < ${n}; i++) x = (x * 31 + i) | 0; return { x }; };\n`);
  let n = 1e6;
  for (let round = 0; round < 4; round++) {
    write(n);
    const burn = ((await import(`${file}?${round}`)) as { default: () => unknown }).default;
    for (let i = 0; i < 5; i++) burn();
    const took: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      burn();
      took.push(performance.now() - t0);
    }
    n = Math.round((n * ms) / median(took));
  }
  write(n);
  return n;
}

if (only.includes(1)) {
  const dir = path.join(DATA, 'queue-cpu');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'in'), { recursive: true });
  for (let i = 0; i < cpuItems; i++) fs.writeFileSync(path.join(dir, 'in', `f${String(i).padStart(5, '0')}.txt`), `item ${i}\n`);
  const iterations = await burnModule(path.join(dir, 'burn.mjs'), 20);
  const args = ['--input', 'in', '--include', '**/*', '--processor', './burn.mjs'];
  console.log(`# 1. scaling: ${cpuItems} CPU-bound items (~20 ms each: ${iterations} iterations), 1 thread per process, ${runs} runs — ${machine()}`);
  const redis = await startRedis();
  const fig: Record<string, number[]> = { 'local -j 1': [], 'queue, 1 worker': [], 'local -j 2': [], 'queue, 2 workers': [] };
  for (let i = 0; i < runs; i++) {
    for (const n of [1, 2]) {
      fig[`local -j ${n}`]!.push(cpuItems / run([...args, '-j', String(n)], dir).wall);
      const ws = startWorkers(n, redis.url, 1, dir);
      await sleep(1000); // the workers up and waiting, as they would be on their machines
      fig[`queue, ${n} worker${n > 1 ? 's' : ''}`]!.push(cpuItems / run([...args, '--queue', redis.url], dir).wall);
      await ws.stop();
    }
    console.log(`  run ${i + 1}: ${Object.entries(fig).map(([k, v]) => `${k} ${v[i]!.toFixed(1)}/s`).join(', ')}`);
  }
  await redis.stop();
  const m = Object.fromEntries(Object.entries(fig).map(([k, v]) => [k, median(v)]));
  const e1 = m['queue, 1 worker']! / m['local -j 1']!;
  const e2 = m['queue, 2 workers']! / m['local -j 2']!;
  console.log('| | items/s (median) |\n|---|---|');
  for (const [k, v] of Object.entries(m)) console.log(`| ${k} | ${v.toFixed(1)} |`);
  console.log(`efficiency queued / local: 1 worker ${e1.toFixed(3)}, 2 workers ${e2.toFixed(3)} (target >= 0.9: ${Math.min(e1, e2) >= 0.9 ? 'met' : 'NOT met'}); scaling 2 vs 1 worker ${(m['queue, 2 workers']! / m['queue, 1 worker']!).toFixed(2)}x (local -j 2 vs -j 1: ${(m['local -j 2']! / m['local -j 1']!).toFixed(2)}x)`);
  console.log(JSON.stringify({ bench: 'queue-scaling', machine: machine(), runs, items: cpuItems, items_per_s: m, efficiency: { one: e1, two: e2 } }));
}

if (only.includes(2)) {
  const dir = smallFileTree(files);
  console.log(`# 2. queue overhead: noop over ${files} files, ${runs} runs — ${machine()}`);
  const redis = await startRedis();
  const local: number[] = [];
  const queued1: number[] = [];
  const queued2: number[] = [];
  for (let i = 0; i < runs; i++) {
    local.push(files / run(['--input', dir, '--processor', 'noop', '-j', '2'], DATA).wall);
    for (const [threads, into] of [[1, queued1], [2, queued2]] as const) {
      const ws = startWorkers(2, redis.url, threads, DATA);
      await sleep(1000);
      into.push(files / run(['--input', dir, '--processor', 'noop', '--queue', redis.url], DATA).wall);
      await ws.stop();
    }
    console.log(`  run ${i + 1}: local -j 2 ${local[i]!.toFixed(0)} items/s; queue, 2 workers of 1 thread ${queued1[i]!.toFixed(0)} items/s, of 2 threads ${queued2[i]!.toFixed(0)} items/s`);
  }
  await redis.stop();
  const [l, q1, q2] = [median(local), median(queued1), median(queued2)];
  console.log(`  median: local ${l.toFixed(0)} items/s; queued, 2 workers of 1 thread ${q1.toFixed(0)} items/s (${(q1 / l).toFixed(2)} of local), of 2 threads ${q2.toFixed(0)} items/s (${(q2 / l).toFixed(2)}); goal >= 2,000: ${Math.max(q1, q2) >= 2000 ? 'met' : 'NOT met'}`);
  console.log(JSON.stringify({ bench: 'queue-overhead', machine: machine(), runs, files, local: l, queued_1_thread: q1, queued_2_threads: q2 }));
}

if (only.includes(3)) {
  const dir = smallFileTree(items);
  console.log(`# 3. Redis memory: noop over ${items} files through 2 workers, 1 run — ${machine()}`);
  const redis = await startRedis();
  const ws = startWorkers(2, redis.url, 1, DATA);
  await sleep(1000);
  const r = run(['--input', dir, '--processor', 'noop', '--queue', redis.url], DATA);
  const peak = redis.peakMb();
  await ws.stop();
  await redis.stop();
  console.log(`  ${r.summary.ok} ok in ${r.wall.toFixed(0)} s (${(items / r.wall).toFixed(0)} items/s); peak RSS: redis-server ${peak.toFixed(1)} MB (target <= 200 MB: ${peak <= 200 ? 'met' : 'NOT met'}), coordinator ${r.rssMb.toFixed(0)} MB`);
  console.log(JSON.stringify({ bench: 'queue-redis-memory', machine: machine(), items, wall_s: r.wall, redis_peak_mb: peak, coordinator_peak_mb: r.rssMb }));
}
