// The library API against the CLI: noop over N small files, `run()` in a program's own process
// (events iterated) vs `sluice run` (NDJSON to a pipe), alternated, each from its process start
// to its exit, fresh state dirs. Target: library items/s ≥ 0.95 × the CLI's.
// Usage: node dist/bench/api.js [--runs 3] [--files 100000]
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DATA, ROOT, machine, median, runSluice, smallFileTree } from './lib.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const runs = arg('runs', 3);
const n = arg('files', 100_000);
const dir = smallFileTree(n);
const env = { ...process.env };
delete env.NODE_OPTIONS;

console.log(`# library run() vs sluice run: noop over ${n} files, 2 workers, ${runs} runs each, alternated — ${machine()}`);
const cli: number[] = [];
const lib: number[] = [];
for (let i = 0; i < runs; i++) {
  const c = runSluice(['--input', dir, '--processor', 'noop', '-j', '2']);
  if (c.report.ok !== n) throw new Error(`cli: ${c.report.ok} ok of ${n}`);
  cli.push(n / c.wallS);
  const state = fs.mkdtempSync(path.join(DATA, 'state-'));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/bench/api-child.js'), dir, state, '2'], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const wallS = (performance.now() - t0) / 1000;
  fs.rmSync(state, { recursive: true, force: true });
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { results?: number; ok?: number };
  if (r.status !== 0 || out.ok !== n || out.results !== n) throw new Error(`library: exit ${r.status}, ${JSON.stringify(out)}: ${r.stderr.slice(-500)}`);
  lib.push(n / wallS);
  console.log(`  run ${i + 1}: cli ${(n / c.wallS).toFixed(0)} items/s (${c.wallS.toFixed(2)} s), library ${(n / wallS).toFixed(0)} items/s (${wallS.toFixed(2)} s)`);
}
const ratio = median(lib) / median(cli);
console.log(`median: cli ${median(cli).toFixed(0)} items/s, library ${median(lib).toFixed(0)} items/s, library / cli ${ratio.toFixed(3)} (target >= 0.95): ${ratio >= 0.95 ? 'PASS' : 'FAIL'}`);
console.log(JSON.stringify({ bench: 'api', machine: machine(), runs, files: n, cli_items_per_s: cli, lib_items_per_s: lib, ratio }));
process.exitCode = ratio >= 0.95 ? 0 : 1;
