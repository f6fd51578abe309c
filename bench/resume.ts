// Resume over 1,000,000 already-done items: how fast a rerun skips them, and its peak RSS.
// Targets (issue 4): >= 200,000 skipped/s, <= 300 MB. The first, filling run is not timed.
// Usage: node dist/bench/resume.js [--items 1000000] [--runs 3]
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DATA, machine, median, runSluice, smallFileTree } from './lib.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const n = arg('items', 1_000_000);
const runs = arg('runs', 3);

console.log(`# resume over ${n} done items, ${runs} runs, median — ${machine()}`);
let t0 = performance.now();
const dir = smallFileTree(n);
console.log(`  tree ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
const state = path.join(DATA, `resume-state-${n}`);
const marker = path.join(state, '.filled');
if (!fs.existsSync(marker)) {
  fs.rmSync(state, { recursive: true, force: true });
  t0 = performance.now();
  const fill = runSluice(['--input', dir, '--processor', 'noop', '-j', '2', '--fresh'], state);
  if (fill.report.ok !== n) throw new Error(`filling run: expected ${n} ok, got ${fill.report.ok}`);
  fs.writeFileSync(marker, '');
  console.log(`  filling run: ${n} items in ${fill.wallS.toFixed(1)} s`);
}
const rate: number[] = [];
const rss: number[] = [];
const wall: number[] = [];
const findWall: number[] = [];
for (let i = 0; i < runs; i++) {
  // the floor for any tool that must stat every file: GNU find printing size and mtime
  const f0 = performance.now();
  const f = spawnSync('bash', ['-c', `find "${dir}" -type f -printf '%s %T@ %P\\n' > /dev/null`]);
  if (f.status !== 0) throw new Error(`find failed: ${f.stderr}`);
  findWall.push((performance.now() - f0) / 1000);
  const r = runSluice(['--input', dir, '--processor', 'noop', '-j', '2'], state);
  if (r.report.skipped !== n || r.report.ok !== 0) throw new Error(`resume: expected ${n} skipped, got ${r.report.skipped} (ok ${r.report.ok})`);
  rate.push(n / r.wallS);
  rss.push(r.report.peak_rss_mb);
  wall.push(r.wallS);
  console.log(`  run ${i + 1}: ${r.wallS.toFixed(2)} s wall (process start to exit), ${(n / r.wallS).toFixed(0)} skipped/s, peak RSS ${r.report.peak_rss_mb} MB`);
}
const res = { rate: median(rate), rss: median(rss), wall: median(wall), find_wall: median(findWall) };
const pass = res.rate >= 200_000 && res.rss <= 300;
console.log(`| done items | wall (s) | skipped/s | target | peak RSS (MB) | target |\n|---|---|---|---|---|---|`);
console.log(`| ${n} | ${res.wall.toFixed(2)} | ${res.rate.toFixed(0)} | >= 200,000 | ${res.rss} | <= 300 |`);
console.log(`reference: find -printf '%s %T@' over the same tree, same runs: ${res.find_wall.toFixed(2)} s; sluice / find wall-time ratio ${(res.wall / res.find_wall).toFixed(2)}`);
console.log(`${pass ? 'PASS' : 'FAIL'}: ${(res.rate / 200_000).toFixed(2)}x the skip-rate target, ${(res.rss / 300).toFixed(2)}x the RSS budget`);
console.log(JSON.stringify({ bench: 'resume', machine: machine(), items: n, runs, ...res }));
process.exitCode = pass ? 0 : 1;
