// Seeing a run (the progress total, the report), in the same run, medians of repeats:
//   1. the total from the start: noop over N small files (default 100,000), fresh state, a
//      progress line every 100 ms; the elapsed time of the first line whose total is the
//      whole count (target: <= 1 s), beside the time the bounded walk alone would have given it
//      (its last item handed over: the first line with walking false);
//   2. `sluice report` over a journal of M items (default 1,000,000): a real run's journal (1 in
//      97 items failed; outputs shaped as pdf-text's) extended with synthetic lines in the
//      journal's own format (~190 MB), then
//      `sluice report --state DIR -o report.html`; wall time, peak RSS (GNU time), HTML size
//      (targets: <= 5 s, <= 200 MB, <= 2 MB).
//      With --compare BIN (another build's dist/bin/sluice.js), that one runs too, alternated.
// Usage: node dist/bench/see.js [--runs 3] [--files 100000] [--items 1000000] [--only 1,2] [--compare BIN]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BIN, DATA, argOf, machine, median, smallFileTree } from './lib.js';
import { journalPath } from '../lib/checkpoint/files.js';

const runs = Number(argOf('runs') ?? 3);
const files = Number(argOf('files') ?? 100_000);
const items = Number(argOf('items') ?? 1_000_000);
const only = (argOf('only') ?? '1,2').split(',').map(Number);
const compare = argOf('compare');
fs.mkdirSync(DATA, { recursive: true });
// no test-runner hooks in the children (tap preloads itself through NODE_OPTIONS)
const env = { ...process.env, NODE_OPTIONS: '' };

if (only.includes(1)) {
  const dir = smallFileTree(files);
  console.log(`# 1. the total from the start: noop over ${files} files, ${runs} runs — ${machine()}`);
  const first: number[] = [];
  const walkEnd: number[] = [];
  for (let i = 0; i < runs; i++) {
    const state = fs.mkdtempSync(path.join(DATA, 'state-'));
    const r = spawnSync(process.execPath, [BIN, 'run', '--input', dir, '--processor', 'noop', '--state', state, '--progress', 'ndjson', '--progress-interval', '100ms'], { encoding: 'utf8', maxBuffer: 1 << 30, env });
    fs.rmSync(state, { recursive: true, force: true });
    const progress = r.stdout.split('\n').filter((l) => l.includes('"type":"progress"')).map((l) => JSON.parse(l) as { total: number | null; walking: boolean; elapsed_s: number });
    const known = progress.find((p) => p.total === files);
    const walked = progress.find((p) => !p.walking);
    if (!known || !walked) throw new Error(`no total in ${progress.length} progress lines (exit ${r.status}): ${r.stderr}`);
    first.push(known.elapsed_s);
    walkEnd.push(walked.elapsed_s);
    console.log(`  run ${i + 1}: total in the line at ${known.elapsed_s} s; the bounded walk ended at ${walked.elapsed_s} s`);
  }
  console.log(`  median: total at ${median(first).toFixed(2)} s (target <= 1 s: ${median(first) <= 1 ? 'met' : 'NOT met'}); the bounded walk alone: ${median(walkEnd).toFixed(2)} s`);
}

if (only.includes(2)) {
  console.log(`# 2. sluice report over ${items} journal items, ${runs} runs — ${machine()}`);
  const base = path.join(DATA, 'report-job');
  fs.rmSync(base, { recursive: true, force: true });
  fs.mkdirSync(path.join(base, 'in'), { recursive: true });
  for (let i = 0; i < 194; i++) fs.writeFileSync(path.join(base, 'in', `f${i}.txt`), i % 97 === 0 ? 'bad' : `item ${i}`);
  fs.writeFileSync(path.join(base, 'proc.mjs'), "import fs from 'node:fs';\nexport default (item) => { if (fs.readFileSync(item.path, 'utf8') === 'bad') throw new Error('bad item'); return { pages: 2, chars: 4811, text_path: 'out/' + item.rel + '.txt' }; };\n");
  const state = path.join(base, 'st');
  const r = spawnSync(process.execPath, [BIN, 'run', '--input', 'in', '--processor', './proc.mjs', '--state', state, '--progress', 'none'], { cwd: base, encoding: 'utf8', env });
  if (r.status !== 1) throw new Error(`the real run exited ${r.status}: ${r.stderr}`);
  const journal = journalPath(state);
  const real = fs.readFileSync(journal, 'utf8').trimEnd().split('\n');
  const okLine = real.find((l) => l.includes('"status":"ok"'))!;
  const failedLine = real.find((l) => l.includes('"status":"failed"'))!;
  const key = (i: number) => createHash('md5').update(`synthetic ${i}`).digest('hex');
  const fd = fs.openSync(journal, 'a');
  let chunk: string[] = [];
  for (let i = real.length; i < items; i++) {
    const tpl = i % 97 === 0 ? failedLine : okLine;
    chunk.push(tpl.replace(/"key":"[0-9a-f]{32}"/, `"key":"${key(i)}"`).replace(/"path":"[^"]*"/, `"path":"in/d${Math.floor(i / 1000)}/f${i}.txt"`).replace(/"ms":\d+/, `"ms":${1 + (i % 300)}`));
    if (chunk.length === 10_000) { fs.writeSync(fd, chunk.join('\n') + '\n'); chunk = []; }
  }
  if (chunk.length) fs.writeSync(fd, chunk.join('\n') + '\n');
  fs.closeSync(fd);
  console.log(`  journal: ${items} items, ${(fs.statSync(journal).size / 1e6).toFixed(0)} MB`);
  const bins: [string, string][] = [['this build', BIN], ...(compare ? [['compared', path.resolve(compare)] as [string, string]] : [])];
  const fig = new Map<string, { wall: number[]; rss: number[]; html: number }>(bins.map(([n]) => [n, { wall: [], rss: [], html: 0 }]));
  for (let i = 0; i < runs; i++) {
    for (const [name, bin] of bins) {
      const f = fig.get(name)!;
      const out = path.join(base, 'report.html');
      const t = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, bin, 'report', '--state', state, '-o', out], { cwd: base, encoding: 'utf8', env });
      if (t.status !== 0) throw new Error(`sluice report exited ${t.status}: ${t.stderr}`);
      const [s, kb] = t.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      f.wall.push(s!);
      f.rss.push(kb! / 1024);
      f.html = fs.statSync(out).size;
      console.log(`  run ${i + 1}, ${name}: ${s} s, peak RSS ${(kb! / 1024).toFixed(0)} MB, HTML ${(f.html / 1024).toFixed(1)} KB`);
    }
  }
  for (const [name] of bins) {
    const f = fig.get(name)!;
    const w = median(f.wall);
    const m = median(f.rss);
    console.log(`  median, ${name}: ${w.toFixed(2)} s (target <= 5 s: ${w <= 5 ? 'met' : 'NOT met'}), peak RSS ${m.toFixed(0)} MB (<= 200: ${m <= 200 ? 'met' : 'NOT met'}), HTML ${(f.html / 1024).toFixed(1)} KB (<= 2 MB: ${f.html <= 2 << 20 ? 'met' : 'NOT met'})`);
  }
  fs.rmSync(base, { recursive: true, force: true });
}
