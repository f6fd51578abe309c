// The price of durability: noop over 100k items with checkpoint.fsync batch vs never, runs
// interleaved in the same session. Target (issue 4): throughput ratio batch/never >= 0.9.
// Usage: node dist/bench/fsync.js [--items 100000] [--runs 3]
import { machine, median, runSluice, smallFileTree } from './lib.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const n = arg('items', 100_000);
const runs = arg('runs', 3);
const modes = ['batch', 'never', 'always'] as const;
const withAlways = process.argv.includes('--always');

console.log(`# journal fsync policy: noop over ${n} items, ${runs} runs each, interleaved, median — ${machine()}`);
const dir = smallFileTree(n);
const rates: Record<string, number[]> = { batch: [], never: [], always: [] };
for (let i = 0; i < runs; i++) {
  for (const m of modes) {
    if (m === 'always' && !withAlways) continue;
    const r = runSluice(['--input', dir, '--processor', 'noop', '-j', '2', '--set', `checkpoint.fsync=${m}`]);
    if (r.report.ok !== n) throw new Error(`${m}: expected ${n} ok, got ${r.report.ok}`);
    rates[m]!.push(n / r.wallS);
    console.log(`  run ${i + 1} fsync ${m}: ${r.wallS.toFixed(2)} s, ${(n / r.wallS).toFixed(0)} items/s`);
  }
}
const med = Object.fromEntries(Object.entries(rates).filter(([, v]) => v.length).map(([k, v]) => [k, median(v)]));
const ratio = med.batch! / med.never!;
console.log(`| fsync | items/s (median) |\n|---|---|`);
for (const [k, v] of Object.entries(med)) console.log(`| ${k} | ${v.toFixed(0)} |`);
console.log(`ratio batch/never: ${ratio.toFixed(3)} (target >= 0.9): ${ratio >= 0.9 ? 'PASS' : 'FAIL'}`);
console.log(JSON.stringify({ bench: 'fsync', machine: machine(), items: n, runs, medians: med, ratio }));
process.exitCode = ratio >= 0.9 ? 0 : 1;
