// pdf-text's pdfium engine: PDFium as WebAssembly inside the worker, with the result fields of the
// pdfjs engine, each bad PDF given its own code, and an instance that ran out of memory replaced.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import pdfText from '../../lib/processors/pdf-text.js';
import { options as pdfTextOptions } from '../../lib/processors/pdf-text.spec.js';
import { ItemContext } from '../../lib/worker/context.js';
import { FIXTURES } from '../helpers.js';
import { sameAsPdfjsOnSamples } from '../support/engine-samples.js';

const pdf = (name: string) => path.join(FIXTURES, 'pdf', name);
const item = (file: string) => ({ path: file, file, rel: path.basename(file), size: fs.statSync(file).size, mtime_ms: 1 });
const ctx = (options: Record<string, unknown> = {}) => new ItemContext(pdfTextOptions.parse(options), null, (p: string) => p);
const failure = (p: Promise<unknown>) => p.then(() => null, (e: { code: string; message: string }) => e);

t.test('engine pdfium: the same result fields as pdfjs, and the words pdfjs finds in each sample', async (t) => {
  await sameAsPdfjsOnSamples(t, 'pdfium', (text) => t.notMatch(text, /\r|\uFFFE/, 'line ends are "\\n", a hyphen at a line end is "-"'));
});

t.test('engine pdfium: each kind of bad PDF has its own code', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['encrypted.pdf', 'SLUICE_E_PDF_ENCRYPTED', /a password is needed/],
    ['empty.pdf', 'SLUICE_E_PDF_EMPTY', /0 bytes/],
    ['random-bytes.pdf', 'SLUICE_E_PDF_INVALID', /no %PDF- header/],
    ['truncated.pdf', 'SLUICE_E_PDF_INVALID', /pdfium could not open it/],
    ['kids-not-array.pdf', 'SLUICE_E_PDF_PARSE', /could not read page 2 of 2/],
    ['many-pages.pdf', 'SLUICE_E_PDF_TOO_LARGE', /10001 pages, more than max_pages 5000/],
  ];
  for (const [f, code, message] of cases) {
    const err = await failure(pdfText(item(pdf(f)), ctx({ engine: 'pdfium' })));
    t.match(err, { code, message }, f);
  }
  await t.rejects(pdfText(item(pdf('good.pdf')), ctx({ engine: 'pdfium', max_pages: 1 })), { code: 'SLUICE_E_PDF_TOO_LARGE', message: /2 pages, more than max_pages 1/ });
  await t.rejects(pdfText(item(pdf('good.pdf')), ctx({ engine: 'pdfium', max_chars: 10 })), { code: 'SLUICE_E_PDF_TOO_LARGE', message: /max_chars 10 at page 1 of 2/ });
  const owner = await pdfText(item(pdf('owner-only-encrypted.pdf')), ctx({ engine: 'pdfium' }));
  t.match(owner.text, /Hello fixture page one/, 'encrypted with an empty user password still opens');
});

t.test('engine pdfium: a page that draws text its fonts cannot decode is counted in pages_text_lost', async (t) => {
  const r = await pdfText(item(pdf('undecodable-font.pdf')), ctx({ engine: 'pdfium' }));
  t.match(r, { pages: 1, pages_text_lost: 1 });
  const good = await pdfText(item(pdf('good.pdf')), ctx({ engine: 'pdfium' }));
  t.equal(good.pages_text_lost, undefined, 'not on pages with readable text');
});

t.test('engine pdfium: a PDF that needs more heap than max_heap_mb is SLUICE_E_WORKER_OOM, and the next PDF gets a new instance', async (t) => {
  const err = await failure(pdfText(item(pdf('bomb.pdf')), ctx({ engine: 'pdfium', max_heap_mb: 256 })));
  t.match(err, { code: 'SLUICE_E_WORKER_OOM', message: /pdfium ran out of memory: its heap would pass 256 MB \(max_heap_mb\)/ });
  const next = await pdfText(item(pdf('good.pdf')), ctx({ engine: 'pdfium', max_heap_mb: 256 }));
  t.match(next, { pages: 2, text: /Hello fixture page one/ });
});

t.test('engine pdfium: a stopped item ends at the next page with the signal\'s reason', async (t) => {
  const ac = new AbortController();
  ac.abort(new Error('stop here'));
  const base = ctx({ engine: 'pdfium' });
  const c = { options: base.options, hasOutputDir: base.hasOutputDir, writeOutput: base.writeOutput.bind(base), signal: ac.signal };
  await t.rejects(pdfText(item(pdf('good.pdf')), c), { message: 'stop here' });
  const again = await pdfText(item(pdf('good.pdf')), ctx({ engine: 'pdfium' }));
  t.equal(again.pages, 2, 'the instance is still good');
});

t.test('a glyph read as a form feed stays inside its page: the text splits into exactly its pages (pdfjs and pdfium)', async (t) => {
  for (const engine of ['pdfjs', 'pdfium']) {
    const r = await pdfText(item(pdf('form-feed-glyph.pdf')), ctx({ engine }));
    t.equal(r.pages, 1, engine);
    t.same(String(r.text).split('\f'), ['A B'], `${engine}: the form feed is a space`);
  }
});
