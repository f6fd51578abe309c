// `npm run bench:engines -- --corpus DIR`: pdf-text's engines against `find | parallel -j2 pdftotext`
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

console.log(`# pdf-text engines over ${corpus}, -j 2 / -j2, ${runs} runs, median — ${machine()}`);
const rates = { pdfjs: [] as number[], pdftotext: [] as number[], parallel: [] as number[] };
let pages = 0;
for (let i = 1; i <= runs; i++) {
  const a = sluice('pdfjs');
  pages = a.pages;
  const b = sluice('pdftotext');
  const p = parallel();
  rates.pdfjs.push(pages / a.wall);
  rates.pdftotext.push(pages / b.wall);
  rates.parallel.push(pages / p);
  console.log(`  run ${i}: ${pages} pages; pdfjs ${a.wall.toFixed(1)} s (${a.ok} ok, ${a.failed} failed), pdftotext engine ${b.wall.toFixed(1)} s (${b.ok} ok, ${b.failed} failed, ${b.pages} pages), parallel pdftotext ${p.toFixed(1)} s`);
}
const m = { pdfjs: median(rates.pdfjs), pdftotext: median(rates.pdftotext), parallel: median(rates.parallel) };
console.log('| tool | pages/s (median) | / parallel pdftotext |\n|---|---|---|');
console.log(`| \`sluice run --processor pdf-text -j 2\` (engine pdfjs) | ${m.pdfjs.toFixed(1)} | ${(m.pdfjs / m.parallel).toFixed(2)} |`);
console.log(`| \`... -O engine=pdftotext\` | ${m.pdftotext.toFixed(1)} | ${(m.pdftotext / m.parallel).toFixed(2)} |`);
console.log(`| \`find \\| parallel -j2 pdftotext\` | ${m.parallel.toFixed(1)} | 1.00 |`);
console.log(JSON.stringify({ bench: 'pdf-engines', machine: machine(), corpus, runs, pages, rates, median: m }));
