// pdf-text's password_file: encrypted PDFs open with the password from a file, and the password
// itself is nowhere sluice writes (events, journal, run.json, report).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ofType, sluice, tmpDir } from '../helpers.js';

const SECRET = 'secret-user'; // encrypted.pdf's user password (test/fixtures/make-fixtures.mjs)

/** Every file under `dir`, as text. */
function allText(dir: string): string {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f, 'latin1')).join('\n');
}

for (const engine of ['pdfjs', 'pdfium']) t.test(`password_file opens an encrypted PDF (engine ${engine}); the password is in no event and no file of the state dir`, async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.copyFileSync(path.join(FIXTURES, 'pdf/encrypted.pdf'), path.join(dir, 'in/locked.pdf'));
  fs.copyFileSync(path.join(FIXTURES, 'pdf/good.pdf'), path.join(dir, 'in/open.pdf'));
  fs.writeFileSync(path.join(dir, 'pw'), `${SECRET}\n`);
  const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '-O', 'password_file=pw', '-O', `engine=${engine}`, '--state', 'st', '--progress', 'none'], { cwd: dir, t });
  t.equal(r.code, 0, r.stderr);
  const results = Object.fromEntries(ofType(r.lines, 'result').map((x) => [path.basename(x.path), x]));
  t.match(results['locked.pdf'], { status: 'ok', output: { pages: 2, text: /Hello fixture page one/ } });
  t.match(results['open.pdf'], { status: 'ok' }, 'a PDF without a password opens as before');
  t.notMatch(r.stdout + r.stderr, SECRET, 'not in the events or on stderr');
  t.notMatch(allText(path.join(dir, 'st')), SECRET, 'not in the journal, run.json or the report');
});

t.test('a wrong password is SLUICE_E_PDF_ENCRYPTED saying so; with engine pdftotext a password file is refused at start', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.copyFileSync(path.join(FIXTURES, 'pdf/encrypted.pdf'), path.join(dir, 'in/locked.pdf'));
  fs.writeFileSync(path.join(dir, 'pw'), 'not-it\n');
  for (const engine of ['pdfjs', 'pdfium']) {
    const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '-O', 'password_file=pw', '-O', `engine=${engine}`, '--state', `st-${engine}`, '--progress', 'none'], { cwd: dir, t });
    t.equal(r.code, 1, r.stderr);
    t.match(ofType(r.lines, 'result')[0], { status: 'failed', error: { code: 'SLUICE_E_PDF_ENCRYPTED', message: 'the password given did not open it' } }, engine);
    t.notMatch(r.stdout, 'not-it');
  }
  const p = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '-O', 'password_file=pw', '-O', 'engine=pdftotext', '--state', 'st2', '--progress', 'none'], { cwd: dir, t });
  t.equal(p.code, 2, p.stderr);
  t.match(p.stderr, /-O password_file: pdftotext takes a password only on its command line/);
  const missing = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '-O', 'password_file=nope', '--state', 'st3', '--progress', 'none'], { cwd: dir, t });
  t.equal(missing.code, 2, missing.stderr);
  t.match(missing.stderr, /-O password_file: cannot read it: ENOENT/);
});
