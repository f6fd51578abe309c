// `npm run bench:engines -- --corpus DIR`: pdf-text's engines (pdfjs, pdfium, pdftotext) against `find | parallel -j2 pdftotext`
// (bench row 5's reference) over a folder of PDFs, interleaved in each run, text to files.
// Pages/s: the pages the pdfjs run counted, over each tool's wall time (start to exit).
//
// Usage: node dist/bench/pdf-engines.js --corpus DIR [--runs 3]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { argOf, machine, median } from './lib.js';

const corpus = argOf('corpus');
if (!corpus || !fs.existsSync(corpus)) throw new Error('--corpus DIR: a folder of PDFs (bench/corpus/debian-pdfs.sh builds one)');
const runs = Number(argOf('runs') ?? 3);
const BIN = path.join(import.meta.dirname, '../bin/sluice.js');

interface Run { wall: number; pages: number; ok: number; failed: number }
function sluice(engine: string): Run {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-engines-'));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'run', '--input', corpus!, '--processor', 'pdf-text', '-O', `engine=${engine}`, '-j', '2',
    '--out', path.join(tmp, 'out'), '--state', path.join(tmp, 'st'), '--progress', 'none', '--timeout', '120'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const wall = (performance.now() - t0) / 1000;
  fs.rmSync(tmp, { recursive: true, force: true });
  if (r.status !== 0 && r.status !== 1) throw new Error(`sluice (${engine}) exited ${r.status}: ${r.stderr.slice(-500)}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const results = lines.filter((l) => l.type === 'result');
  return { wall, pages: results.reduce((n, l) => n + (l.output?.pages ?? 0), 0), ok: results.filter((l) => l.status === 'ok').length, failed: results.filter((l) => l.status === 'failed').length };
}
function parallel(): number {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-engines-par-'));
  const t0 = performance.now();
  spawnSync('bash', ['-c', `find '${corpus}' -name '*.pdf' | parallel -j2 'pdftotext {} ${out}/{#}.txt'`], { stdio: 'ignore' });
  const wall = (performance.now() - t0) / 1000;
  fs.rmSync(out, { recursive: true, force: true });
  return wall;
}

const ENGINES = ['pdfjs', 'pdfium', 'pdftotext'] as const;
console.log(`# pdf-text engines over ${corpus}, -j 2 / -j2, ${runs} runs, median — ${machine()}`);
const rates: Record<string, number[]> = { parallel: [] };
for (const e of ENGINES) rates[e] = [];
let pages = 0;
for (let i = 1; i <= runs; i++) {
  const got = ENGINES.map((e) => [e, sluice(e)] as const);
  pages = got[0]![1].pages; // the pdfjs run's count: the same pages for every tool
  const p = parallel();
  for (const [e, r] of got) rates[e]!.push(pages / r.wall);
  rates.parallel!.push(pages / p);
  console.log(`  run ${i}: ${pages} pages; ${got.map(([e, r]) => `${e} ${r.wall.toFixed(1)} s (${r.ok} ok, ${r.failed} failed, ${r.pages} pages)`).join(', ')}, parallel pdftotext ${p.toFixed(1)} s`);
}
const m = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)])) as Record<string, number>;
console.log('| tool | pages/s (median) | / parallel pdftotext |\n|---|---|---|');
for (const e of ENGINES) console.log(`| \`sluice run --processor pdf-text -j 2 -O engine=${e}\` | ${m[e]!.toFixed(1)} | ${(m[e]! / m.parallel!).toFixed(2)} |`);
console.log(`| \`find \\| parallel -j2 pdftotext\` | ${m.parallel!.toFixed(1)} | 1.00 |`);
console.log(JSON.stringify({ bench: 'pdf-engines', machine: machine(), corpus, runs, pages, rates, median: m }));
