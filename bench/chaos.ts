// Fault soak (issue 5): N items of which ~10% hang past the timeout, kill their worker or throw.
// Every item must get exactly one result, the pool must end at full strength, and peak RSS must
// not grow with N. Usage: node dist/bench/chaos.js [--sizes 2000,10000] [--timeout 200ms]
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { BIN, DATA, ROOT, machine } from './lib.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : process.argv[i + 1]!;
};
const sizes = arg('sizes', '2000,10000').split(',').map(Number);
const timeout = arg('timeout', '200ms');
const processor = path.join(ROOT, 'test/fixtures/processors/chaos.mjs');

console.log(`# fault soak: ~10% of items hang (timeout ${timeout}), crash their worker or throw; -j 2, no retries — ${machine()}`);
const rows: Record<string, unknown>[] = [];
let bad = 0;
for (const n of sizes) {
  const dir = path.join(DATA, `chaos-${n}`);
  if (!fs.existsSync(dir + '.complete')) {
    fs.rmSync(dir, { recursive: true, force: true });
    for (let i = 0; i < n; i++) {
      const d = path.join(dir, `d${Math.floor(i / 1000)}`);
      if (i % 1000 === 0) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, `item-${i}.txt`), String(i));
    }
    fs.writeFileSync(dir + '.complete', '');
  }
  const state = fs.mkdtempSync(path.join(DATA, 'chaos-state-'));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'run', '--input', dir, '--processor', processor, '-j', '2', '--timeout', timeout, '--state', state, '--progress', 'none'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const wall = (performance.now() - t0) / 1000;
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const results = lines.filter((l) => l.type === 'result');
  const perPath = new Map<string, number>();
  for (const x of results) perPath.set(x.path, (perPath.get(x.path) ?? 0) + 1);
  const codes: Record<string, number> = {};
  for (const x of results) if (x.status === 'failed') codes[x.error.code] = (codes[x.error.code] ?? 0) + 1;
  // what the fixture will do to each item, from the same hash
  const expect = { hang: 0, crash: 0, throw: 0 };
  for (let i = 0; i < n; i++) {
    const roll = createHash('sha256').update(`d${Math.floor(i / 1000)}/item-${i}.txt`).digest().readUInt32BE(0) % 1000;
    if (roll < 33) expect.hang++;
    else if (roll < 66) expect.crash++;
    else if (roll < 100) expect.throw++;
  }
  const report = JSON.parse(fs.readFileSync(path.join(state, 'report.json'), 'utf8')) as Record<string, any>;
  fs.rmSync(state, { recursive: true, force: true });
  const exactlyOnce = perPath.size === n && [...perPath.values()].every((c) => c === 1);
  const codesMatch = codes.SLUICE_E_TIMEOUT === expect.hang && codes.SLUICE_E_WORKER_CRASH === expect.crash && codes.SLUICE_E_PROCESSOR === expect.throw;
  const fullPool = report.workers.alive_at_end === 2;
  const ok = r.status === 1 && exactlyOnce && codesMatch && fullPool;
  if (!ok) bad++;
  rows.push({ items: n, results: results.length, exactly_once: exactlyOnce, failures: codes, expected: expect, workers_at_end: report.workers.alive_at_end, peak_rss_mb: report.peak_rss_mb, wall_s: +wall.toFixed(1), exit: r.status });
  console.log(`  ${n} items: ${results.length} results, exactly once: ${exactlyOnce}, failures ${JSON.stringify(codes)} (expected ${JSON.stringify(expect)}), workers alive at end ${report.workers.alive_at_end}/2, peak RSS ${report.peak_rss_mb} MB, ${wall.toFixed(1)} s, exit ${r.status}: ${ok ? 'ok' : 'FAIL ' + r.stderr.slice(-500)}`);
}
const rss = rows.map((x) => x.peak_rss_mb as number);
console.log(`peak RSS ${sizes.join(' vs ')} items: ${rss.join(' vs ')} MB, ratio ${(rss.at(-1)! / rss[0]!).toFixed(3)}`);
console.log(JSON.stringify({ bench: 'chaos', machine: machine(), timeout, rows }));
process.exitCode = bad ? 1 : 0;
