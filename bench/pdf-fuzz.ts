// `npm run bench:fuzz -- --corpus DIR`: hostile input for every pdf-text engine, default settings.
// Makes --count mutated copies of real PDFs with a seeded generator (bytes flipped, a block zeroed,
// a block repeated, truncated, spliced with another PDF), then runs `sluice run --processor pdf-text`
// over them once per engine, and over test/fixtures/pdf (the hostile fixtures: bomb, loops,
// encrypted, HTML named .pdf ...). Passes when, for each engine and folder: every file has exactly
// one result, none is SLUICE_E_WORKER_CRASH, the run exits 0 or 1, and the process's peak RSS
// (VmHWM, workers included) stays under 2 GB.
//
// Usage: node dist/bench/pdf-fuzz.js --corpus DIR [--count 500] [--seed 1] [--engines pdfjs,pdfium,pdftotext] [--max-source-mb 4]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { argOf, BIN, DATA, machine, ROOT } from './lib.js';
import { seeded } from '../test/support/seeded.js';

const corpus = argOf('corpus');
if (!corpus || !fs.existsSync(corpus)) throw new Error('--corpus DIR: a folder of real PDFs to mutate (bench/corpus/debian-pdfs.sh builds one)');
const count = Number(argOf('count') ?? 500);
const seed = Number(argOf('seed') ?? 1);
const engines = (argOf('engines') ?? 'pdfjs,pdfium,pdftotext').split(',');
const maxSource = Number(argOf('max-source-mb') ?? 4) * 2 ** 20;
const RSS_LIMIT = 2 * 2 ** 30;


const MUTATIONS = ['flip', 'zero', 'repeat', 'truncate', 'splice'] as const;

/** `count` mutated PDFs in a fresh folder; the sources sorted by path, so that a seed always makes the same set. */
function mutate(dir: string): Record<string, number> {
  const sources = (fs.readdirSync(corpus!, { recursive: true }) as string[]).map((f) => path.join(corpus!, f))
    .filter((f) => /\.pdf$/i.test(f) && fs.statSync(f).isFile() && fs.statSync(f).size <= maxSource).sort();
  if (sources.length < 2) throw new Error(`${corpus}: fewer than 2 PDFs of at most ${maxSource / 2 ** 20} MB`);
  const r = seeded(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const made: Record<string, number> = {};
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const src = fs.readFileSync(pick(sources));
    const kind = MUTATIONS[i % MUTATIONS.length]!;
    let out: Buffer;
    const at = () => Math.floor(r() * src.length);
    if (kind === 'flip') {
      out = Buffer.from(src);
      const n = 1 + Math.floor(r() * 64);
      for (let k = 0; k < n; k++) out[at()] ^= 1 + Math.floor(r() * 255);
    } else if (kind === 'zero') {
      out = Buffer.from(src);
      const start = at();
      out.fill(0, start, Math.min(out.length, start + 1 + Math.floor(r() * 65536)));
    } else if (kind === 'repeat') {
      const start = at();
      const block = src.subarray(start, Math.min(src.length, start + 1 + Math.floor(r() * 65536)));
      const times = 2 + Math.floor(r() * 8);
      out = Buffer.concat([src.subarray(0, start), ...Array<Buffer>(times).fill(block), src.subarray(start)]);
    } else if (kind === 'truncate') {
      out = src.subarray(0, Math.max(16, at()));
    } else {
      const other = fs.readFileSync(pick(sources));
      out = Buffer.concat([src.subarray(0, at()), other.subarray(Math.floor(r() * other.length))]);
    }
    made[kind] = (made[kind] ?? 0) + 1;
    fs.writeFileSync(path.join(dir, `m${String(i).padStart(4, '0')}-${kind}.pdf`), out);
  }
  return made;
}

interface Outcome { files: number; results: number; keys: number; codes: Record<string, number>; peakRss: number; exit: number | null; wall: number }

/** One run over `dir` with default settings, its peak RSS read from /proc while it runs. */
function run(dir: string, engine: string): Promise<Outcome> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-fuzz-'));
  const files = (fs.readdirSync(dir) as string[]).filter((f) => f.endsWith('.pdf')).length;
  const t0 = performance.now();
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [BIN, 'run', '--input', dir, '--processor', 'pdf-text', '-O', `engine=${engine}`,
    '--state', path.join(tmp, 'st'), '--progress', 'none'], { stdio: ['ignore', 'pipe', 'ignore'], env });
  let peak = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch { /* exited */ }
  };
  const timer = setInterval(sample, 100);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  return new Promise((resolve) => {
    child.on('exit', () => sample());
    child.on('close', (exit) => {
      clearInterval(timer);
      fs.rmSync(tmp, { recursive: true, force: true });
      const results = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.type === 'result');
      const codes: Record<string, number> = {};
      for (const x of results) codes[x.status === 'ok' ? 'ok' : x.error.code] = (codes[x.status === 'ok' ? 'ok' : x.error.code] ?? 0) + 1;
      resolve({ files, results: results.length, keys: new Set(results.map((x) => x.path)).size, codes, peakRss: peak, exit, wall: (performance.now() - t0) / 1000 });
    });
  });
}

const fuzzDir = path.join(DATA, `pdf-fuzz-seed${seed}-n${count}`);
fs.rmSync(fuzzDir, { recursive: true, force: true });
const made = mutate(fuzzDir);
console.log(`# pdf-text engines on hostile PDFs, default settings — ${machine()}`);
console.log(`# ${count} mutations of ${corpus} (seed ${seed}): ${Object.entries(made).map(([k, n]) => `${n} ${k}`).join(', ')}; and test/fixtures/pdf`);
console.log('| engine | folder | files | results | ok | failures by code | crashes | peak RSS | wall | pass |\n|---|---|---|---|---|---|---|---|---|---|');
let pass = true;
const rows: unknown[] = [];
for (const engine of engines) {
  for (const [name, dir] of [['fuzz', fuzzDir], ['fixtures', path.join(ROOT, 'test/fixtures/pdf')]] as const) {
    const o = await run(dir, engine);
    const crashes = o.codes.SLUICE_E_WORKER_CRASH ?? 0;
    const ok = o.results === o.files && o.keys === o.files && crashes === 0 && (o.exit === 0 || o.exit === 1) && o.peakRss < RSS_LIMIT;
    pass &&= ok;
    const fails = Object.entries(o.codes).filter(([k]) => k !== 'ok').sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k.replace('SLUICE_E_', '')} ${n}`).join(', ');
    console.log(`| ${engine} | ${name} | ${o.files} | ${o.results} | ${o.codes.ok ?? 0} | ${fails} | ${crashes} | ${(o.peakRss / 2 ** 20).toFixed(0)} MB | ${o.wall.toFixed(1)} s | ${ok ? 'yes' : 'NO'} |`);
    rows.push({ engine, folder: name, ...o });
  }
}
console.log(`${pass ? 'PASS' : 'FAIL'}: every file one result, no SLUICE_E_WORKER_CRASH, peak RSS < 2 GB, for each engine`);
console.log(JSON.stringify({ bench: 'pdf-fuzz', machine: machine(), seed, count, made, rows }));
process.exitCode = pass ? 0 : 1;
