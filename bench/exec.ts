// `npm run bench:exec`: the overhead of running a command per file. `sluice run --exec true` over
// small files against `xargs -P2 -n1 true` and `parallel -j2 true`, interleaved in each repeat,
// each fed by `find -print0` (sluice walks the tree itself). Goal: sluice >= 1.0x xargs (items/s).
//
// Usage: node dist/bench/exec.js [--items 10000] [--runs 5] [--parallel-items N] [--no-install]
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DATA, machine, median, runSluice, smallFileTree } from './lib.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const n = arg('items', 10_000);
const runs = arg('runs', 5);
/** GNU parallel starts a Perl job per item (~10x xargs' cost): it may get a sub-tree of its own */
const nParallel = arg('parallel-items', n);

const has = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
if (!has('parallel') && !process.argv.includes('--no-install') && process.getuid?.() === 0 && has('apt-get')) {
  console.error('GNU parallel missing: apt-get install -y parallel');
  spawnSync('bash', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq parallel || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq parallel)'], { stdio: 'inherit' });
}
const haveParallel = has('parallel');

function shell(cmd: string): number {
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr.slice(-500)}`);
  return (performance.now() - t0) / 1000;
}

console.log(`# exec overhead: --exec true over ${n} small files, -j 2 / -P2, ${runs} runs, median — ${machine()}`);
const tree = smallFileTree(n);
const parTree = nParallel === n ? tree : smallFileTree(nParallel);
const rates = { sluice: [] as number[], xargs: [] as number[], parallel: [] as number[] };
for (let i = 1; i <= runs; i++) {
  const s = runSluice(['--input', tree, '--exec', 'true', '-j', '2']);
  if (s.report.ok !== n) throw new Error(`sluice: ${s.report.ok} ok of ${n}`);
  rates.sluice.push(n / s.wallS);
  rates.xargs.push(n / shell(`find '${tree}' -type f -print0 | xargs -0 -P2 -n1 true`));
  if (haveParallel) rates.parallel.push(nParallel / shell(`find '${parTree}' -type f -print0 | parallel --will-cite -0 -j2 true`));
  console.log(`  run ${i}: sluice ${rates.sluice.at(-1)!.toFixed(0)}/s, xargs ${rates.xargs.at(-1)!.toFixed(0)}/s${haveParallel ? `, parallel ${rates.parallel.at(-1)!.toFixed(0)}/s` : ''}`);
}
const m = { sluice: median(rates.sluice), xargs: median(rates.xargs), parallel: haveParallel ? median(rates.parallel) : null };
console.log('| tool | items | items/s (median) | sluice / tool |\n|---|---|---|---|');
console.log(`| \`sluice run --exec true -j 2\` | ${n} | ${m.sluice.toFixed(0)} | 1.00 |`);
console.log(`| \`find -print0 \\| xargs -0 -P2 -n1 true\` | ${n} | ${m.xargs.toFixed(0)} | ${(m.sluice / m.xargs).toFixed(2)} |`);
if (m.parallel !== null) console.log(`| \`find -print0 \\| parallel -0 -j2 true\` | ${nParallel} | ${m.parallel.toFixed(0)} | ${(m.sluice / m.parallel).toFixed(2)} |`);
const pass = m.sluice >= m.xargs;
console.log(`${pass ? 'PASS' : 'FAIL'}: sluice / xargs = ${(m.sluice / m.xargs).toFixed(2)} (goal >= 1.0)`);
console.log(JSON.stringify({ bench: 'exec', machine: machine(), items: n, parallel_items: nParallel, runs, rates, median: m }));
fs.mkdirSync(DATA, { recursive: true });
fs.writeFileSync(path.join(DATA, 'exec-last.json'), JSON.stringify({ items: n, runs, rates, median: m }, null, 2));
process.exitCode = pass ? 0 : 1;
