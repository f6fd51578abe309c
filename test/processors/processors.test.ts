// The built-in processors, called in-process (tap does not see code run in workers).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import pdfText from '../../lib/processors/pdf-text.js';
import { options as pdfTextOptions } from '../../lib/processors/pdf-text.spec.js';
import pdfInfo from '../../lib/processors/pdf-info.js';
import sha256 from '../../lib/processors/sha256.js';
import noop from '../../lib/processors/noop.js';
import { ItemContext } from '../../lib/worker/context.js';
import { spawnSync } from 'node:child_process';
import { BIN, FIXTURES, SAMPLES, tmpDir, node } from '../helpers.js';

const pdf = (name: string) => path.join(FIXTURES, 'pdf', name);
const item = (file: string) => ({ path: file, file, rel: path.basename(file), size: fs.statSync(file).size, mtime_ms: 1 });
const samplePdfs = () => fs.readdirSync(SAMPLES, { recursive: true }).map(String).filter((f) => f.endsWith('.pdf'));
const ctx = (options: Record<string, unknown> = {}, out: string | null = null) => new ItemContext(pdfTextOptions.parse(options), out, (p: string) => p);
/** The engines that run inside the worker; pdftotext has tests of its own. */
const IN_PROCESS = ['pdfium', 'pdfjs'] as const;

t.test('pdf-text reads with pdfium unless told otherwise', async (t) => {
  t.equal(pdfTextOptions.parse({}).engine, 'pdfium');
});

for (const engine of IN_PROCESS) t.test(`pdf-text: text of each page joined by form feeds, inline without an output dir (engine ${engine})`, async (t) => {
  const r = await pdfText(item(pdf('good.pdf')), ctx({ engine }));
  t.equal(r.pages, 2);
  const pages = String(r.text).split('\f');
  t.equal(pages.length, 2);
  t.match(pages[0], /Hello fixture page one/);
  t.match(pages[1], /Second page text/);
  t.equal(r.chars, String(r.text).length);
});

for (const engine of IN_PROCESS) t.test(`pdf-text: with an output dir, the text goes to <out>/<rel>.txt (engine ${engine})`, async (t) => {
  const out = tmpDir();
  const r = await pdfText({ ...item(pdf('good.pdf')), rel: 'sub/good.pdf' }, ctx({ engine }, out));
  t.equal(r.text_path, path.join(out, 'sub/good.pdf.txt'));
  t.notOk('text' in r);
  t.match(fs.readFileSync(path.join(out, 'sub/good.pdf.txt'), 'utf8'), /Hello fixture page one\n?[\s\S]*\fSecond page text/);
});

for (const engine of IN_PROCESS) t.test(`pdf-text: each kind of bad PDF has its own code (engine ${engine})`, async (t) => {
  const cases: [string, RegExp][] = [
    ['encrypted.pdf', /^SLUICE_E_PDF_ENCRYPTED$/],
    ['empty.pdf', /^SLUICE_E_PDF_EMPTY$/],
    ['random-bytes.pdf', /^SLUICE_E_PDF_INVALID$/],
    ['html.pdf', /^SLUICE_E_PDF_INVALID$/],
    ['truncated.pdf', /^SLUICE_E_PDF_(INVALID|PARSE)$/],
    ['kids-not-array.pdf', /^SLUICE_E_PDF_PARSE$/],
    // pdfium repairs a page count the tree contradicts and reads both pages; pdfjs refuses it
    ...(engine === 'pdfjs' ? [['negative-page-count.pdf', /^SLUICE_E_PDF_INVALID$/] as [string, RegExp]] : []),
  ];
  for (const [f, code] of cases) {
    const err = await pdfText(item(pdf(f)), ctx({ engine })).then(() => null, (e: { code: string; message: string }) => e);
    t.ok(err, `${f} fails`);
    t.match(err?.code, code, `${f}: ${err?.message}`);
  }
  const owner = await pdfText(item(pdf('owner-only-encrypted.pdf')), ctx({ engine }));
  t.ok(owner.pages, 'encrypted with an empty user password still opens');
});

for (const engine of IN_PROCESS) t.test(`pdf-text: Japanese text in a font with a predefined CMap (not embedded) comes out whole, not as zero characters (engine ${engine})`, async (t) => {
  const r = await pdfText(item(pdf('cjk-predefined-cmap.pdf')), ctx({ engine }));
  t.equal(String(r.text).trim(), '日本語テキスト');
  t.notOk(r.pages_without_text, 'the page counts as a page with text');
});

for (const engine of IN_PROCESS) t.test(`pdf-text: words are not glued together: a form value drawn after its label gets a space, a line a line break, fake bold is read once (engine ${engine})`, async (t) => {
  const form = await pdfText(item(pdf('form-fields.pdf')), ctx({ engine }));
  t.equal(String(form.text).trim(), 'Name: Alice\nAmount: $124,000\nannual');
  const bold = await pdfText(item(pdf('fake-bold.pdf')), ctx({ engine }));
  t.equal(String(bold.text).trim(), 'Bold Title');
});

for (const engine of IN_PROCESS) t.test(`pdf-text: a page that draws text the engine cannot decode is counted in pages_text_lost; a scanned page is not (engine ${engine})`, async (t) => {
  const lost = await pdfText(item(pdf('undecodable-font.pdf')), ctx({ engine }));
  t.match(lost, { pages: 1, pages_text_lost: 1 });
  const scan = await pdfText(item(path.join(SAMPLES, 'scanned-receipt.pdf')), ctx({ engine }));
  t.match(scan, { pages: 1, pages_without_text: 1 });
  t.notOk('pages_text_lost' in scan, 'a scan draws no text: nothing was lost');
  const good = await pdfText(item(pdf('good.pdf')), ctx({ engine }));
  t.notOk('pages_text_lost' in good);
});

for (const engine of IN_PROCESS) t.test(`pdf-text: max_pages (engine ${engine})`, async (t) => {
  await t.rejects(pdfText(item(pdf('good.pdf')), ctx({ engine, max_pages: 1 })), { code: 'SLUICE_E_PDF_TOO_LARGE', message: /2 pages, more than max_pages 1/ });
});

for (const engine of IN_PROCESS) t.test(`pdf-text: every sample has text except the scanned one, unicode survives (engine ${engine})`, async (t) => {
  const files = samplePdfs();
  let noText = 0;
  let nonLatin = false;
  for (const f of files) {
    const r = await pdfText(item(path.join(SAMPLES, f)), ctx({ engine }));
    if (!String(r.text).trim()) noText++;
    if (/[\u0370-\u03ff\u0400-\u04ff\u4e00-\u9fff]/.test(String(r.text))) nonLatin = true;
  }
  t.equal(noText, 1, 'exactly one sample (the scanned-like page) has no text layer');
  t.ok(nonLatin, 'Greek, Cyrillic or CJK text comes back');
});

t.test('pdf-info: metadata, version, encryption', async (t) => {
  const good = await pdfInfo(item(pdf('good.pdf')), ctx());
  t.match(good, { pages: 2, encrypted: false, needs_password: false });
  t.match(good.pdf_version, /^1\.\d|^2\.\d/);
  const enc = await pdfInfo(item(pdf('encrypted.pdf')), ctx());
  t.same(enc, { encrypted: true, needs_password: true, pages: null });
  const owner = await pdfInfo(item(pdf('owner-only-encrypted.pdf')), ctx());
  t.match(owner, { encrypted: true, needs_password: false });
  await t.rejects(pdfInfo(item(pdf('random-bytes.pdf')), ctx()), { code: 'SLUICE_E_PDF_INVALID' });
  await t.rejects(pdfInfo(item(pdf('negative-page-count.pdf')), ctx()), { code: 'SLUICE_E_PDF_INVALID', message: /page count of -3/ });
  const withMeta = (await Promise.all(samplePdfs().map((f) => pdfInfo(item(path.join(SAMPLES, f)), ctx()))))
    .filter((r) => r.title && r.author && r.created);
  t.ok(withMeta.length >= 6, `samples carry title, author and dates (${withMeta.length})`);
  t.match(withMeta[0]!.created, /^\d{4}-\d\d-\d\dT/);
});

t.test('sha256 and noop', async (t) => {
  const f = pdf('good.pdf');
  const r = await sha256(item(f));
  t.equal(r.sha256, createHash('sha256').update(fs.readFileSync(f)).digest('hex'));
  t.equal(r.bytes, fs.statSync(f).size);
  t.same(await noop(), {});
  await t.rejects(sha256(item(pdf('good.pdf')) && { ...item(f), file: pdf('missing.pdf') }), { code: 'ENOENT' });
});

t.test('CVE-2024-4367: a FontMatrix carrying JavaScript never runs', async (t) => {
  const canary = '/tmp/sluice-cve-2024-4367-canary';
  const g = globalThis as Record<string, unknown>;
  const file = pdf('cve-2024-4367.pdf');
  const payload = /\/FontMatrix \[ 1 0 0 1 0 \((.*)\) \]/.exec(fs.readFileSync(file, 'latin1'))![1]!;
  // positive control: pasted into generated code the way pdf.js < 4.2.67 did, the payload runs
  fs.rmSync(canary, { force: true });
  new Function('c', `c.transform(${[1, 0, 0, 1, 0, payload].join(',')})`)({ transform() {} });
  t.equal(g.sluicePwned, 1, 'the fixture is a live payload');
  t.ok(fs.existsSync(canary), 'the fixture is a live payload');
  delete g.sluicePwned;
  fs.rmSync(canary, { force: true });

  for (const engine of IN_PROCESS) {
    const text = await pdfText(item(file), ctx({ engine }));
    t.match(String(text.text), /canary text/, `the document is read (engine ${engine})`);
  }
  await pdfInfo(item(file), ctx());
  t.equal(g.sluicePwned, undefined, 'no global set in-process');
  const dir = tmpDir();
  fs.copyFileSync(file, path.join(dir, 'cve.pdf'));
  const r = spawnSync(...node([BIN, 'run', '--input', dir, '--processor', 'pdf-text', '-O', 'engine=pdfjs', '--state', path.join(dir, 'st'), '--progress', 'none']), { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.notOk(fs.existsSync(canary), 'no file written, in-process or in a worker');
});

t.test('a PDF of 10,001 pages fails with SLUICE_E_PDF_TOO_LARGE at the default max_pages', async (t) => {
  for (const engine of IN_PROCESS) await t.rejects(pdfText(item(pdf('many-pages.pdf')), ctx({ engine })), { code: 'SLUICE_E_PDF_TOO_LARGE', message: /10001 pages, more than max_pages 5000/ }, engine);
  const info = await pdfInfo(item(pdf('many-pages.pdf')), ctx());
  t.equal(info.pages, 10001, 'pdf-info still counts them');
});

t.test('pdf-text: max_chars caps the extracted text', async (t) => {
  for (const engine of IN_PROCESS) {
    await t.rejects(pdfText(item(pdf('good.pdf')), ctx({ engine, max_chars: 30 })), { code: 'SLUICE_E_PDF_TOO_LARGE', message: /text passed max_chars 30 at page 2 of 2/ }, engine);
    const r = await pdfText(item(pdf('good.pdf')), ctx({ engine, max_chars: 100 }));
    t.equal(r.pages, 2);
  }
});
