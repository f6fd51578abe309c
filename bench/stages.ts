// Pipelines of several stages, against one stage, in the same run (alternated, medians):
//   1. per-stage overhead: noop -> noop -> noop over N small files vs a single noop map;
//      target items/s >= 0.9 x the single map's;
//   2. fan-out memory: pdf-text -> chunk over the PDF corpus vs pdf-text alone; target peak RSS
//      <= 1.2 x (and pdf-text -> chunk -> noop, reported without a target);
//   3. per-stage resume: pdf-text -> count words -> tag over the corpus, then stage 3's options
//      changed; target: the rerun's wall time <= 0.2 x the first run's.
// Usage: node dist/bench/stages.js [--runs 3] [--files 100000] [--corpus DIR] [--only 1,2,3]
import fs from 'node:fs';
import path from 'node:path';
import { DATA, argOf, machine, median, runSluice, smallFileTree } from './lib.js';

const runs = Number(argOf('runs') ?? 3);
const n = Number(argOf('files') ?? 100_000);
const corpus = argOf('corpus') ?? '/work/corpus/debian-pdf';
const only = (argOf('only') ?? '1,2,3').split(',').map(Number);
const out: Record<string, unknown> = { bench: 'stages', machine: machine(), runs };
let failed = false;

function pipeline(name: string, root: string, stages: string): string {
  const file = path.join(fs.mkdtempSync(path.join(DATA, 'pipe-')), `${name}.yaml`);
  fs.writeFileSync(file, `version: 1\nname: ${name}\nsource: { walk: { roots: [${JSON.stringify(root)}] } }\nstages:\n${stages}`);
  return file;
}

if (only.includes(1)) {
  const dir = smallFileTree(n);
  const one = pipeline('one', dir, '  - map: { processor: noop, concurrency: 2 }\n');
  const three = pipeline('three', dir, '  - map: { processor: noop, concurrency: 2 }\n  - map: { processor: noop, concurrency: 2 }\n  - map: { processor: noop, concurrency: 2 }\n');
  console.log(`# 1. noop -> noop -> noop vs noop over ${n} files, 2 workers per stage, ${runs} runs each, alternated — ${machine()}`);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r1 = runSluice([one]);
    const r3 = runSluice([three]);
    if (r1.summary.ok !== n || r3.summary.ok !== n) throw new Error(`ok: ${r1.summary.ok} / ${r3.summary.ok} of ${n}`);
    a.push(n / r1.wallS);
    b.push(n / r3.wallS);
    console.log(`  run ${i + 1}: one map ${(n / r1.wallS).toFixed(0)} items/s, three maps ${(n / r3.wallS).toFixed(0)} items/s`);
  }
  const ratio = median(b) / median(a);
  console.log(`median: one ${median(a).toFixed(0)} items/s, three ${median(b).toFixed(0)} items/s, ratio ${ratio.toFixed(3)} (target >= 0.9): ${ratio >= 0.9 ? 'PASS' : 'FAIL'}`);
  out.overhead = { files: n, one_items_per_s: a, three_items_per_s: b, ratio };
  failed ||= ratio < 0.9;
}

if (only.includes(2)) {
  const text = pipeline('text', corpus, '  - map: { processor: pdf-text, concurrency: 2 }\n');
  const chunkStage = '  - map: { processor: chunk, concurrency: 2, options: { size: 1000, overlap: 100 } }\n';
  const chunked = pipeline('chunked', corpus, `  - map: { processor: pdf-text, concurrency: 2 }\n${chunkStage}`);
  // the chunks going on to one more stage (not the target: it shows what a stage after chunk costs)
  const onward = pipeline('onward', corpus, `  - map: { processor: pdf-text, concurrency: 2 }\n${chunkStage}  - map: { processor: noop, concurrency: 2 }\n`);
  const pdfs = fs.readdirSync(corpus, { recursive: true }).filter((f) => String(f).endsWith('.pdf')).length;
  console.log(`# 2. peak RSS: pdf-text -> chunk vs pdf-text over ${pdfs} PDFs (${corpus}), and pdf-text -> chunk -> noop for comparison; ${runs} runs each, alternated`);
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  const wall: Record<string, number[]> = { text: [], chunk: [], onward: [] };
  let chunks = 0;
  for (let i = 0; i < runs; i++) {
    const r1 = runSluice([text]);
    const r2 = runSluice([chunked]);
    const r3 = runSluice([onward]);
    a.push(r1.report.peak_rss_mb as number);
    b.push(r2.report.peak_rss_mb as number);
    c.push(r3.report.peak_rss_mb as number);
    wall.text!.push(r1.wallS);
    wall.chunk!.push(r2.wallS);
    wall.onward!.push(r3.wallS);
    chunks = (r2.summary.children?.ok as number) ?? 0;
    console.log(`  run ${i + 1}: pdf-text ${r1.report.peak_rss_mb} MB (${r1.wallS.toFixed(1)} s); -> chunk ${r2.report.peak_rss_mb} MB (${r2.wallS.toFixed(1)} s, ${chunks} chunks, at most ${r2.summary.children?.peak_in_flight} in flight); -> chunk -> noop ${r3.report.peak_rss_mb} MB (${r3.wallS.toFixed(1)} s)`);
  }
  const ratio = median(b) / median(a);
  console.log(`median: pdf-text ${median(a)} MB, -> chunk ${median(b)} MB, ratio ${ratio.toFixed(3)} (target <= 1.2): ${ratio <= 1.2 ? 'PASS' : 'FAIL'}; -> chunk -> noop ${median(c)} MB, ratio ${(median(c) / median(a)).toFixed(3)} (no target)`);
  out.fanout_memory = { pdfs, chunks, text_peak_rss_mb: a, chunked_peak_rss_mb: b, onward_peak_rss_mb: c, wall_s: wall, ratio, onward_ratio: median(c) / median(a) };
  failed ||= ratio > 1.2;
}

if (only.includes(3)) {
  const dir = fs.mkdtempSync(path.join(DATA, 'procs-'));
  fs.writeFileSync(path.join(dir, 'words.mjs'), 'export default async (item) => ({ words: String(item.input.text ?? "").split(/\\s+/).filter(Boolean).length });\n');
  fs.writeFileSync(path.join(dir, 'tag.mjs'), 'export default async (item, ctx) => ({ words: item.input.words, tag: ctx.options.tag ?? null });\n');
  const file = pipeline('resume3', corpus, `  - map: { name: text, processor: pdf-text, concurrency: 2 }\n  - map: { name: words, processor: ${path.join(dir, 'words.mjs')}, concurrency: 2 }\n  - map: { name: tag, processor: ${path.join(dir, 'tag.mjs')}, concurrency: 2, options: { tag: a } }\n`);
  console.log(`# 3. per-stage resume: pdf-text -> words -> tag over ${corpus}, then tag's options changed; ${runs} runs`);
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const state = fs.mkdtempSync(path.join(DATA, 'state-'));
    const first = runSluice([file], state);
    const again = runSluice([file, '--set', `stages[tag].map.options.tag=b${i}`], state);
    fs.rmSync(state, { recursive: true, force: true });
    const stages = again.summary.stages as { name: string; in: number; resumed: number }[];
    // items that failed in pdf-text have no record: they run it again (and fail again)
    if (stages[0]!.in !== first.summary.failed || stages[2]!.in !== first.summary.ok) throw new Error(`rerun: ${JSON.stringify(stages)} after ${JSON.stringify(first.summary)}`);
    ratios.push(again.wallS / first.wallS);
    console.log(`  run ${i + 1}: first ${first.wallS.toFixed(2)} s (${first.summary.ok} ok), after the change ${again.wallS.toFixed(2)} s (text ran ${stages[0]!.in}, words ${stages[1]!.in}, tag ${stages[2]!.in}), ratio ${(again.wallS / first.wallS).toFixed(3)}`);
  }
  const ratio = median(ratios);
  console.log(`median ratio ${ratio.toFixed(3)} (target <= 0.2): ${ratio <= 0.2 ? 'PASS' : 'FAIL'}`);
  out.stage_resume = { ratios, ratio };
  failed ||= ratio > 0.2;
}

console.log(JSON.stringify(out));
process.exitCode = failed ? 1 : 0;
