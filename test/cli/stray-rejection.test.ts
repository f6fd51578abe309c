// A promise rejected that nobody awaited (a library's bug, e.g. a damaged PDF object stream in
// pdfjs) fails the item in flight with a coded error; the worker is not lost, the item is not
// retried as a crash, and the other items are done.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ofType, sluice, tmpDir } from '../helpers.js';

/** Run a fixture processor over files named `names` (one worker), and its results by file name. */
async function runOver(t: { teardown(fn: () => void): void }, processor: string, names: string[]) {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (const f of names) fs.writeFileSync(path.join(dir, 'in', f), f);
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors', processor), '-j', '1', '--state', 'st', '--progress', 'none'], { cwd: dir, t });
  const results = Object.fromEntries(ofType(r.lines, 'result').map((x) => [path.basename(x.path), x]));
  return { r, results };
}

t.test('a rejection nobody awaited fails only its item, once, as SLUICE_E_PROCESSOR (not a worker crash retried and quarantined)', async (t) => {
  const { r, results } = await runOver(t, 'stray-rejection.mjs', ['a.txt', 'stray.txt', 'b.txt', 'c.txt']);
  t.equal(r.code, 1, r.stderr);
  t.match(results['stray.txt'], { status: 'failed', attempts: 1, error: { code: 'SLUICE_E_PROCESSOR', retryable: false, message: /did not wait for failed: Error: invalid object offset in stray\.txt/ } });
  t.same(['a.txt', 'b.txt', 'c.txt'].map((f) => results[f]?.status), ['ok', 'ok', 'ok'], 'the others are done');
  t.notMatch(r.stderr, /worker died|quarantine/);
});

t.test('a processor module that exports classifyStray gives such a rejection its own code (the PDF processors call pdfjs\' ones parse failures)', async (t) => {
  const { r, results } = await runOver(t, 'stray-classified.mjs', ['a.txt', 'stray.txt']);
  t.equal(r.code, 1, r.stderr);
  t.match(results['stray.txt'], { status: 'failed', attempts: 1, error: { code: 'SLUICE_E_PDF_PARSE', retryable: false, message: /did not wait for failed: stray\.txt: invalid object offset in stray\.txt/ } });
  t.equal(results['a.txt']?.status, 'ok');
  const pdf = path.join(FIXTURES, 'pdf/good.pdf');
  const item = { path: pdf, file: pdf, rel: 'good.pdf', size: 1, mtime_ms: 1 };
  for (const mod of [await import('../../lib/processors/pdf-text.js'), await import('../../lib/processors/pdf-info.js')]) {
    const err = new Error('invalid object number in the ObjStm stream');
    err.name = 'FormatError';
    t.match(mod.classifyStray(err, item), { code: 'SLUICE_E_PDF_PARSE', message: /FormatError: invalid object number in the ObjStm stream/ });
  }
});

t.test('a rejection the processor\'s classifyStray calls harmless (null) leaves the item its result', async (t) => {
  const { r } = await runOver(t, 'stray-harmless.mjs', ['a.txt', 'b.txt']);
  t.equal(r.code, 0, r.stderr);
  t.same(ofType(r.lines, 'result').map((x) => x.status), ['ok', 'ok']);
});
