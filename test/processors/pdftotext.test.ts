// pdf-text's pdftotext engine: poppler's program as a child process per PDF, with the result
// fields of the pdfjs engine, its own exit statuses mapped to the SLUICE_E_PDF_* codes, a start-up
// error when it is missing, and nothing left running when an item times out.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import pdfText from '../../lib/processors/pdf-text.js';
import { options as pdfTextOptions } from '../../lib/processors/pdf-text.spec.js';
import { findProgram } from '../../lib/processors/exec-template.js';
import { ItemContext } from '../../lib/worker/context.js';
import { FIXTURES, ofType, sluice, tmpDir } from '../helpers.js';
import { alive, gone, pidFrom } from '../support/procs.js';
import { sameAsPdfjsOnSamples } from '../support/engine-samples.js';

const pdf = (name: string) => path.join(FIXTURES, 'pdf', name);
const item = (file: string) => ({ path: file, file, rel: path.basename(file), size: fs.statSync(file).size, mtime_ms: 1 });
const ctx = (options: Record<string, unknown> = {}) => new ItemContext(pdfTextOptions.parse(options), null, (p: string) => p);

t.test('pdftotext is installed for these tests (apt-get install poppler-utils)', async (t) => {
  t.ok(findProgram('pdftotext'), 'pdftotext on PATH');
});

t.test('engine pdftotext: the same result fields as pdfjs, and the words pdfjs finds in each sample', async (t) => {
  await sameAsPdfjsOnSamples(t, 'pdftotext');
});

t.test('engine pdftotext: each kind of bad PDF has its own code', async (t) => {
  const cases: [string, string][] = [
    ['encrypted.pdf', 'SLUICE_E_PDF_ENCRYPTED'],
    ['empty.pdf', 'SLUICE_E_PDF_EMPTY'],
    ['random-bytes.pdf', 'SLUICE_E_PDF_INVALID'],
    ['html.pdf', 'SLUICE_E_PDF_INVALID'],
    ['truncated.pdf', 'SLUICE_E_PDF_INVALID'],
    ['kids-not-array.pdf', 'SLUICE_E_PDF_PARSE'],
  ];
  for (const [f, code] of cases) {
    const err = await pdfText(item(pdf(f)), ctx({ engine: 'pdftotext' })).then(() => null, (e: { code: string; message: string }) => e);
    t.equal(err?.code, code, `${f}: ${err?.message}`);
  }
  await t.rejects(pdfText(item(pdf('good.pdf')), ctx({ engine: 'pdftotext', max_pages: 1 })), { code: 'SLUICE_E_PDF_TOO_LARGE', message: /more than max_pages 1/ });
  await t.rejects(pdfText(item(pdf('good.pdf')), ctx({ engine: 'pdftotext', max_chars: 10 })), { code: 'SLUICE_E_PDF_TOO_LARGE', message: /max_chars 10/ });
  const owner = await pdfText(item(pdf('owner-only-encrypted.pdf')), ctx({ engine: 'pdftotext' }));
  t.match(owner.text, /Hello fixture page one/, 'encrypted with an empty user password still opens');
});

t.test('engine pdftotext without pdftotext on PATH: one clear error when the run starts (exit 2), no item run', async (t) => {
  const dir = tmpDir();
  const r = await sluice(['run', '--input', FIXTURES + '/pdf', '--processor', 'pdf-text', '-O', 'engine=pdftotext', '--state', 'st', '--progress', 'none'],
    { cwd: dir, env: { ...process.env, PATH: path.join(dir, 'empty-path') }, t });
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, /-O engine: pdftotext not found on PATH \(it comes with poppler-utils/);
  t.equal(r.stdout, '', 'nothing started');
});

t.test('engine pdftotext: a pdftotext that hangs ends in SLUICE_E_TIMEOUT, and nothing it started is left running', async (t) => {
  const dir = tmpDir();
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const mark = path.join(dir, 'child.pid');
  // a stand-in that starts a long sleep of its own and waits for it
  fs.writeFileSync(path.join(bin, 'pdftotext'), `#!/bin/sh\nsleep 300 &\necho $! > '${mark}'\nwait\n`, { mode: 0o755 });
  fs.mkdirSync(path.join(dir, 'in'));
  fs.copyFileSync(pdf('good.pdf'), path.join(dir, 'in/good.pdf'));
  const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '-O', 'engine=pdftotext', '--timeout', '1', '--state', 'st', '--progress', 'none'],
    { cwd: dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, t });
  const child = await pidFrom(mark);
  t.equal(r.code, 1, r.stderr);
  const [res] = ofType(r.lines, 'result');
  t.match(res, { status: 'failed', error: { code: 'SLUICE_E_TIMEOUT', message: /pdftotext and its process group were stopped/ } });
  t.ok(await gone(child), `the stand-in's own child (pid ${child}) is gone`);
  t.teardown(() => { if (alive(child)) process.kill(child, 'SIGKILL'); });
});

t.test('sluice stages says which pdf-text engines this machine has', async (t) => {
  const dir = tmpDir();
  const here = await sluice(['stages', '--json'], { cwd: dir, t });
  const pdfText = here.lines.find((l) => l.name === 'pdf-text')!;
  t.equal(pdfText.here, `engines pdfjs, pdfium and pdftotext (${findProgram('pdftotext')})`);
  const without = await sluice(['stages'], { cwd: dir, env: { ...process.env, PATH: path.join(dir, 'empty-path') }, t });
  t.match(without.stdout, /processor pdf-text\n.*\n  Here: engines pdfjs, pdfium; pdftotext is not on PATH \(apt-get install poppler-utils\)/);
});
