// `npm run bench:quality -- --corpus DIR`: how much text pdf-text's engines (pdfjs, pdfium, against
// pdftotext) agree on, per document
// and per page, over a folder of PDFs (every Nth file with --sample N). Words are compared as
// multisets after lower-casing (word recall), and also as a search index sees them (NFKC folding,
// tokens with a letter or digit only); pages with text in one engine and none in the other
// are counted, and the documents where the engines disagree most are listed.
//
// Usage: node dist/bench/pdf-quality.js --corpus DIR [--sample 8]
import fs from 'node:fs';
import path from 'node:path';
import pdfText from '../lib/processors/pdf-text.js';
import { options } from '../lib/processors/pdf-text.spec.js';
import { ItemContext } from '../lib/worker/context.js';
import { argOf, machine } from './lib.js';

const corpus = argOf('corpus');
if (!corpus || !fs.existsSync(corpus)) throw new Error('--corpus DIR: a folder of PDFs (bench/corpus/debian-pdfs.sh builds one)');
const sample = Number(argOf('sample') ?? 1);

const words = (s: string) => s.toLowerCase().split(/\s+/).filter(Boolean);
/**
 * Words as a search index sees them: after Unicode compatibility folding (NFKC: a ligature "ﬁ" is
 * "fi"), and only the tokens with a letter or a digit (a dot leader ". . ." is not three words).
 */
const folded = (s: string) => words(s.normalize('NFKC')).filter((w) => /[\p{L}\p{N}]/u.test(w));
/** Share of `ref`'s words (as a multiset) that `text` has too. */
function recall(text: string, ref: string, split = words): number {
  const left = new Map<string, number>();
  const r = split(ref);
  for (const w of r) left.set(w, (left.get(w) ?? 0) + 1);
  let hit = 0;
  for (const w of split(text)) {
    const k = left.get(w);
    if (k) { hit++; left.set(w, k - 1); }
  }
  return r.length ? hit / r.length : 1;
}
async function textOf(file: string, engine: string): Promise<string[] | string> {
  const item = { path: file, file, rel: path.basename(file), size: fs.statSync(file).size, mtime_ms: 0 };
  try {
    const r = await pdfText(item, new ItemContext(options.parse({ engine }), null, (p: string) => p));
    return String(r.text).split('\f');
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  }
}

const files = (fs.readdirSync(corpus, { recursive: true }) as string[]).filter((f) => f.toLowerCase().endsWith('.pdf')).sort()
  .filter((_, i) => i % sample === 0).map((f) => path.join(corpus, f));
/** Each engine is compared with pdftotext (the reference users know), in both directions. */
const ENGINES = ['pdfjs', 'pdfium'] as const;
const REF = 'pdftotext';
console.log(`# pdf-text engines' text, ${ENGINES.join(' and ')} against ${REF}, ${files.length} documents of ${corpus} — ${machine()}`);
let counted = 0;
const keeps = Object.fromEntries(ENGINES.map((e) => [e, { ours: 0, theirs: 0, oursFolded: 0, theirsFolded: 0, onlyOurs: 0, onlyTheirs: 0 }]));
const rows: { file: string; words: number; recall: Record<string, [number, number]> }[] = [];
for (const f of files) {
  const ref = await textOf(f, REF);
  const got = Object.fromEntries(await Promise.all(ENGINES.map(async (e) => [e, await textOf(f, e)] as const)));
  const failed = [REF, ...ENGINES].filter((e) => typeof (e === REF ? ref : got[e]) === 'string');
  if (failed.length) {
    console.log(`  ${path.relative(corpus, f)}: ${[REF, ...ENGINES].map((e) => { const x = e === REF ? ref : got[e]; return `${e} ${typeof x === 'string' ? x : 'ok'}`; }).join(', ')}`);
    continue;
  }
  const b = ref as string[];
  for (const e of ENGINES) {
    const a = got[e] as string[];
    for (let p = 0; p < Math.max(a.length, b.length); p++) {
      const ta = words(a[p] ?? '').length > 0;
      const tb = words(b[p] ?? '').length > 0;
      if (ta && !tb) keeps[e]!.onlyOurs++;
      if (tb && !ta) keeps[e]!.onlyTheirs++;
    }
  }
  const jb = b.join('\n');
  if (words(jb).length < 20) continue;
  counted++;
  const recalls: Record<string, [number, number]> = {};
  for (const e of ENGINES) {
    const ja = (got[e] as string[]).join('\n');
    recalls[e] = [recall(ja, jb), recall(jb, ja)];
    if (recalls[e]![0] >= 0.9) keeps[e]!.ours++;
    if (recalls[e]![1] >= 0.9) keeps[e]!.theirs++;
    if (recall(ja, jb, folded) >= 0.9) keeps[e]!.oursFolded++;
    if (recall(jb, ja, folded) >= 0.9) keeps[e]!.theirsFolded++;
  }
  rows.push({ file: path.relative(corpus, f), words: words(jb).length, recall: recalls });
}
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
console.log(`documents where ${REF} finds >= 20 words: ${counted}`);
for (const e of ENGINES) {
  const k = keeps[e]!;
  console.log(`${e} finds >= 90% of ${REF}'s words in ${k.ours} (${pct(k.ours / counted)}); ${REF} finds >= 90% of ${e}'s in ${k.theirs} (${pct(k.theirs / counted)}); pages with text in ${e} only: ${k.onlyOurs}, in ${REF} only: ${k.onlyTheirs}`);
  console.log(`  words with a letter or digit, after NFKC folding: ${e} >= 90% of ${REF}'s in ${k.oursFolded} (${pct(k.oursFolded / counted)}); ${REF} >= 90% of ${e}'s in ${k.theirsFolded} (${pct(k.theirsFolded / counted)})`);
}
console.log(`| document | ${REF} words | ${ENGINES.map((e) => `${e} has of them | ${REF} has of ${e}'s`).join(' | ')} |\n|---|---|${ENGINES.map(() => '---|---|').join('')}`);
const worst = (r: (typeof rows)[number]) => Math.min(...Object.values(r.recall).flat());
for (const r of rows.sort((x, y) => worst(x) - worst(y)).slice(0, 10)) {
  console.log(`| ${r.file} | ${r.words} | ${ENGINES.map((e) => `${pct(r.recall[e]![0])} | ${pct(r.recall[e]![1])}`).join(' | ')} |`);
}
console.log(JSON.stringify({ bench: 'pdf-quality', machine: machine(), corpus, sample, documents: files.length, counted, keeps }));
process.exit(0); // pdfjs keeps a worker-less timer or two alive; the figures are out
