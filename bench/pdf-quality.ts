// `npm run bench:quality -- --corpus DIR`: how much text pdf-text's engines agree on, per document
// and per page, over a folder of PDFs (every Nth file with --sample N). Words are compared as
// multisets after lower-casing (word recall); pages with text in one engine and none in the other
// are counted, and the documents where the engines disagree most are listed.
//
// Usage: node dist/bench/pdf-quality.js --corpus DIR [--sample 8]
import fs from 'node:fs';
import path from 'node:path';
import pdfText, { options } from '../lib/processors/pdf-text.js';
import { makeContext } from '../lib/worker/context.js';
import { argOf, machine } from './lib.js';

const corpus = argOf('corpus');
if (!corpus || !fs.existsSync(corpus)) throw new Error('--corpus DIR: a folder of PDFs (bench/corpus/debian-pdfs.sh builds one)');
const sample = Number(argOf('sample') ?? 1);

const words = (s: string) => s.toLowerCase().split(/\s+/).filter(Boolean);
/** Share of `ref`'s words (as a multiset) that `text` has too. */
function recall(text: string, ref: string): number {
  const left = new Map<string, number>();
  const r = words(ref);
  for (const w of r) left.set(w, (left.get(w) ?? 0) + 1);
  let hit = 0;
  for (const w of words(text)) {
    const k = left.get(w);
    if (k) { hit++; left.set(w, k - 1); }
  }
  return r.length ? hit / r.length : 1;
}
async function textOf(file: string, engine: string): Promise<string[] | string> {
  const item = { path: file, file, rel: path.basename(file), size: fs.statSync(file).size, mtime_ms: 0 };
  try {
    const r = await pdfText(item, makeContext(null, options.parse({ engine }), (p) => p));
    return String(r.text).split('\f');
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  }
}

const files = (fs.readdirSync(corpus, { recursive: true }) as string[]).filter((f) => f.toLowerCase().endsWith('.pdf')).sort()
  .filter((_, i) => i % sample === 0).map((f) => path.join(corpus, f));
console.log(`# pdf-text engines' text, pdfjs against pdftotext, ${files.length} documents of ${corpus} — ${machine()}`);
let counted = 0;
let pdfjsKeeps = 0;
let pdftotextKeeps = 0;
let onlyPdfjs = 0;
let onlyPdftotext = 0;
const rows: { file: string; a: number; b: number; words: number }[] = [];
for (const f of files) {
  const [a, b] = [await textOf(f, 'pdfjs'), await textOf(f, 'pdftotext')];
  if (typeof a === 'string' || typeof b === 'string') {
    console.log(`  ${path.relative(corpus, f)}: pdfjs ${typeof a === 'string' ? a : 'ok'}, pdftotext ${typeof b === 'string' ? b : 'ok'}`);
    continue;
  }
  for (let p = 0; p < Math.max(a.length, b.length); p++) {
    const ta = words(a[p] ?? '').length > 0;
    const tb = words(b[p] ?? '').length > 0;
    if (ta && !tb) onlyPdfjs++;
    if (tb && !ta) onlyPdftotext++;
  }
  const ja = a.join('\n');
  const jb = b.join('\n');
  if (words(jb).length < 20) continue;
  counted++;
  const ra = recall(ja, jb);
  const rb = recall(jb, ja);
  if (ra >= 0.9) pdfjsKeeps++;
  if (rb >= 0.9) pdftotextKeeps++;
  rows.push({ file: path.relative(corpus, f), a: ra, b: rb, words: words(jb).length });
}
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
console.log(`documents where pdftotext finds >= 20 words: ${counted}`);
console.log(`pdfjs finds >= 90% of pdftotext's words in ${pdfjsKeeps} (${pct(pdfjsKeeps / counted)}); pdftotext finds >= 90% of pdfjs' words in ${pdftotextKeeps} (${pct(pdftotextKeeps / counted)})`);
console.log(`pages with text in pdfjs only: ${onlyPdfjs}; in pdftotext only: ${onlyPdftotext}`);
console.log('| document | pdftotext words | pdfjs has of them | pdftotext has of pdfjs\' |\n|---|---|---|---|');
for (const r of rows.sort((x, y) => Math.min(x.a, x.b) - Math.min(y.a, y.b)).slice(0, 10)) console.log(`| ${r.file} | ${r.words} | ${pct(r.a)} | ${pct(r.b)} |`);
process.exit(0); // pdfjs keeps a worker-less timer or two alive; the figures are out
