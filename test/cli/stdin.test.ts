// Paths on standard input: `sluice run -`, `--lines`, `-0`, bad lines, --strict.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, readJournal, sluice, tmpDir } from '../helpers.js';

function docs(): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'docs'));
  for (const f of ['a.txt', 'b c.txt', '-dash.txt', 'new\nline.txt']) fs.writeFileSync(path.join(dir, 'docs', f), f);
  return dir;
}
const paths = (r: { lines: Record<string, any>[] }) => ofType(r.lines, 'result').map((x) => x.path as string).sort();

t.test('NDJSON on stdin: bad lines are error events with their line number; the run goes on; exit 1', async (t) => {
  const dir = docs();
  const input = ['{"path":"docs/a.txt"}', '', '{"path":', '{"file":"docs/a.txt"}', '{"path":"docs/gone.txt"}', JSON.stringify({ path: 'docs/new\nline.txt' }), '{"path":"docs/-dash.txt"}'].join('\n') + '\n';
  const r = await sluice(['run', '-', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir, input });
  t.equal(r.code, 1);
  t.same(paths(r), ['docs/-dash.txt', 'docs/a.txt', 'docs/new\nline.txt']);
  t.same(ofType(r.lines, 'error').map((e) => [e.code, e.line]), [['SLUICE_E_INPUT', 2], ['SLUICE_E_INPUT', 3], ['SLUICE_E_INPUT', 4], ['SLUICE_E_INPUT', 5]]);
  t.match(ofType(r.lines, 'error')[3], { message: 'stdin line 5: docs/gone.txt: no such file' });
  t.match(r.lines.at(-1), { type: 'summary', ok: 3, input_errors: 4, exit_code: 1 });
  t.equal(readJournal(path.join(dir, 'st')).length, 3, 'only items are recorded');
  const again = await sluice(['run', '-', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir, input: '{"path":"docs/a.txt"}\n' });
  t.equal(again.code, 0);
  t.match(again.lines.at(-1), { skipped: 1, ok: 0 }, 'resume works for stdin items too');
});

t.test('--lines and -0 (find -print0): names with spaces, dashes and newlines', async (t) => {
  const dir = docs();
  const lines = await sluice(['run', '--input', '-', '--lines', '--processor', 'sha256', '--state', 'st1', '--progress', 'none'], { cwd: dir, input: 'docs/a.txt\n\ndocs/b c.txt\r\ndocs/-dash.txt\n' });
  t.equal(lines.code, 0, lines.stderr);
  t.same(paths(lines), ['docs/-dash.txt', 'docs/a.txt', 'docs/b c.txt']);
  const nul = await sluice(['run', '--input', '-', '-0', '--processor', 'sha256', '--state', 'st2', '--progress', 'none'], { cwd: dir, input: fs.readdirSync(path.join(dir, 'docs')).map((f) => `docs/${f}\0`).join('') });
  t.equal(nul.code, 0, nul.stderr);
  t.equal(paths(nul).length, 4, 'every name, the one with a newline included');
});

t.test('--strict: the first bad line stops the run with exit 2; misuse of the flags is a usage error', async (t) => {
  const dir = docs();
  const r = await sluice(['run', '-', '--strict', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir, input: 'not json\n{"path":"docs/a.txt"}\n' });
  t.equal(r.code, 2);
  t.match(r.stderr, /stdin line 1: not JSON.*\(--strict\)/);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const misuse = await sluice(['run', '--input', 'docs', '--lines', '--processor', 'sha256'], { cwd: dir });
  t.equal(misuse.code, 2);
  t.match(misuse.stderr, /--lines, -0 and --strict are for --input -/);
  const mixed = await sluice(['run', '--input', '-', '--input', 'docs', '--processor', 'sha256'], { cwd: dir });
  t.equal(mixed.code, 2);
  t.match(mixed.stderr, /standard input cannot be mixed with other inputs/);
});

t.test('find -print0 | sluice run - -0 keeps a name that is not UTF-8: the item is done, recorded with path_b64, and skipped on the rerun', async (t) => {
  const dir = docs();
  const cafe = Buffer.from('caf\xe9.txt', 'latin1');
  fs.writeFileSync(Buffer.concat([Buffer.from(path.join(dir, 'docs') + '/'), cafe]), 'not utf-8');
  const input = Buffer.concat([Buffer.from('./docs/'), cafe, Buffer.from('\0./docs/a.txt\0')]);
  const args = ['run', '-', '-0', '--processor', 'sha256', '--state', 'st', '--progress', 'none'];
  const r = await sluice(args, { cwd: dir, input });
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.same(ofType(r.lines, 'error'), [], 'no "no such file"');
  const raw = ofType(r.lines, 'result').find((x) => x.path_b64);
  t.match(raw, { path: 'docs/caf\uFFFD.txt', path_b64: Buffer.concat([Buffer.from('docs/'), cafe]).toString('base64'), status: 'ok', output: { bytes: 9 } });
  t.match(readJournal(path.join(dir, 'st')).find((e) => e.path_b64), { path_b64: raw?.path_b64, status: 'ok' }, 'the journal carries the raw name');
  const again = await sluice(args, { cwd: dir, input });
  t.equal(again.code, 0);
  t.match(again.lines.at(-1), { type: 'summary', skipped: 2, ok: 0 }, 'resume skips it');
  // --lines takes the same bytes
  const lines = await sluice(['run', '-', '--lines', '--processor', 'sha256', '--state', 'st2', '--progress', 'none'], { cwd: dir, input: Buffer.concat([Buffer.from('docs/'), cafe, Buffer.from('\n')]) });
  t.equal(lines.code, 0, lines.stdout);
  t.match(ofType(lines.lines, 'result'), [{ path_b64: raw?.path_b64, status: 'ok' }]);
});

t.test('ls | sluice run - just works: a plain path list is read one path per line, with one note on stderr', async (t) => {
  const dir = docs();
  fs.writeFileSync(path.join(dir, 'docs', '{x}.txt'), 'x');
  const r = await sluice(['run', '-', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: path.join(dir, 'docs'), input: 'a.txt\nb c.txt\n-dash.txt\n{x}.txt\n' });
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.same(paths(r), ['-dash.txt', 'a.txt', 'b c.txt', '{x}.txt'], 'a later line starting with "{" is a path too');
  t.same(ofType(r.lines, 'error'), []);
  t.equal(r.stderr.match(/list of paths/g)?.length, 1, 'said once');
  t.match(r.stderr, /sluice: stdin is a list of paths, not NDJSON: reading one path per line \(--lines/);
  const strict = await sluice(['run', '-', '--strict', '--processor', 'sha256', '--state', 'st2', '--progress', 'none'], { cwd: path.join(dir, 'docs'), input: 'a.txt\n' });
  t.equal(strict.code, 2);
  t.match(strict.stderr, /stdin line 1: not JSON \(stdin looks like a list of paths\): use --lines .* or -0 /);
});
