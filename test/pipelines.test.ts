// The example pipelines in pipelines/ run as their comments say (pipelines/pdf-text.yaml, the
// README's, is test/readme.test.ts's).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, ROOT, sluice, tmpDir } from './helpers.js';

/** A copy of pipelines/ (samples, example files, processors) without outputs or state. */
function copy(): string {
  const dir = tmpDir();
  const to = path.join(dir, 'pipelines');
  fs.cpSync(path.join(ROOT, 'pipelines'), to, { recursive: true, filter: (src) => !/[/\\](out|out-chain|\.sluice)$/.test(src) });
  return to;
}

t.test('pdf-chain.yaml: real PDFs under a size, their info, the readable ones\' text in out-chain/, each stage counted by name', async (t) => {
  const dir = copy();
  const run = await sluice(['run', 'pdf-chain.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  const results = ofType(run.lines, 'result');
  const samples = fs.readdirSync(path.join(dir, 'samples'), { recursive: true }).filter((f) => String(f).endsWith('.pdf')).length;
  t.equal(results.length, samples, 'one result per sample PDF');
  for (const r of results) {
    t.match(r, { status: 'ok', stage: 'text', output: { pages: Number, text_path: /^out-chain\// } });
    t.ok(fs.existsSync(path.join(dir, (r.output as { text_path: string }).text_path)), `${r.path}: its text file is there`);
  }
  const stages = (run.lines.at(-1)!.stages as { name: string; in: number }[]).map((s) => [s.name, s.in]);
  t.same(stages, [['real-pdfs', samples], ['info', samples], ['readable', samples], ['text', samples]]);
});

t.test('rag-chunks.yaml: a line per chunk with its parent, index, pages and word count, then one per document with its number of chunks', async (t) => {
  const dir = copy();
  const run = await sluice(['run', 'rag-chunks.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  const results = ofType(run.lines, 'result');
  const docs = results.filter((r) => r.parent === undefined);
  const chunks = results.filter((r) => r.parent !== undefined);
  t.ok(chunks.length > docs.length, `${chunks.length} chunks from ${docs.length} documents`);
  for (const d of docs) {
    const mine = chunks.filter((c) => c.parent === d.key);
    t.equal(mine.length, d.children, `${d.path}: as many chunk lines as its children`);
    t.same(mine.map((c) => c.index).sort((a, b) => (a as number) - (b as number)), mine.map((_, i) => i));
    t.ok(mine.every((c) => results.indexOf(c) < results.indexOf(d)), 'chunks before their document');
  }
  for (const c of chunks) {
    const o = c.output as { words: number; pages: number[]; sha256: string; start: number; end: number };
    t.ok(o.words > 0 && o.end > o.start && o.end - o.start <= 800 && /^[0-9a-f]{64}$/.test(o.sha256) && o.pages.length >= 1, `${c.path} #${c.index}: ${o.words} words, pages ${o.pages.join(',')}`);
  }
  t.match(docs.find((d) => (d.path as string).endsWith('scanned-receipt.pdf')), { children: 0, output: { chunks: 0 } }, 'a scan without text has no chunk');
  const again = await sluice(['run', 'rag-chunks.yaml', '--progress', 'none'], { cwd: dir });
  t.match(again.lines.at(-1), { ok: 0, skipped: docs.length }, 'a rerun skips every document');
});

t.test('the README shows rag-chunks.yaml as it is, and the lines it prints for one document', async (t) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
  const at = blocks.findIndex((b) => b.lang === 'yaml' && b.body.includes('name: rag-chunks'));
  t.equal(blocks[at]?.body, fs.readFileSync(path.join(ROOT, 'pipelines/rag-chunks.yaml'), 'utf8'));
  const shown = blocks[at + 1]!.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(shown.length >= 2);
  const dir = path.dirname(copy());
  const run = await sluice(['run', 'pipelines/rag-chunks.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  // keys hash the file's mtime, which differs from clone to clone; ms from run to run
  const plain = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !['key', 'parent', 'ms'].includes(k)));
  const real = ofType(run.lines, 'result').filter((r) => r.path === shown[0]!.path);
  // chunks finish in any order (the stage after chunk runs them in parallel); their document comes last
  const byIndex = (ls: Record<string, unknown>[]) => [...ls.slice(0, -1)].sort((a, b) => (a.index as number) - (b.index as number)).concat(ls.slice(-1));
  t.same(byIndex(real).map(plain), byIndex(shown).map(plain), 'the same lines: the chunks, then their document');
  const parent = real.at(-1)!;
  t.ok(real.slice(0, -1).every((c) => c.parent === parent.key), 'each chunk names its document\'s key');
});
