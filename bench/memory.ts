// Peak RSS of `noop` over 20k and 200k small files: memory must not grow with the item count.
// Usage: node dist/bench/memory.js [--runs 3] [--small 20000] [--large 200000]
import { machine, median, runSluice, smallFileTree } from './lib.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const runs = arg('runs', 3);
const sizes = [arg('small', 20_000), arg('large', 200_000)];

console.log(`# memory: noop, ${runs} runs each, median — ${machine()}`);
const results: Record<number, { rss: number; rate: number; wall: number }> = {};
for (const n of sizes) {
  const dir = smallFileTree(n);
  const rss: number[] = [];
  const rate: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = runSluice(['--input', dir, '--processor', 'noop', '-j', '2']);
    if (r.report.ok !== n) throw new Error(`expected ${n} ok, got ${r.report.ok}`);
    rss.push(r.report.peak_rss_mb);
    rate.push(n / r.wallS);
    wall.push(r.wallS);
    console.log(`  ${n} items run ${i + 1}: peak RSS ${r.report.peak_rss_mb} MB, ${r.wallS.toFixed(2)} s, ${(n / r.wallS).toFixed(0)} items/s`);
  }
  results[n] = { rss: median(rss), rate: median(rate), wall: median(wall) };
}
const [a, b] = sizes as [number, number];
const ratio = results[b]!.rss / results[a]!.rss;
console.log(`| items | peak RSS (MB) | items/s | wall (s) |\n|---|---|---|---|`);
for (const n of sizes) console.log(`| ${n} | ${results[n]!.rss} | ${results[n]!.rate.toFixed(0)} | ${results[n]!.wall.toFixed(2)} |`);
console.log(`peak RSS ratio ${b}/${a}: ${ratio.toFixed(3)} (target <= 1.3): ${ratio <= 1.3 ? 'PASS' : 'FAIL'}`);
console.log(JSON.stringify({ bench: 'memory', machine: machine(), runs, results, ratio }));
process.exitCode = ratio <= 1.3 ? 0 : 1;
