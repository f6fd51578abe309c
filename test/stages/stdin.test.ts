import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { MAX_LINE_BYTES, pathOf, records, stdinItems } from '../../lib/stages/stdin.js';
import type { Item } from '../../lib/core/item.js';
import { tmpDir } from '../helpers.js';

async function all<T>(g: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of g) out.push(x);
  return out;
}
const chunks = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));

t.test('records: split across chunks, numbered, a last line without a separator kept', async (t) => {
  const got = await all(records(chunks('a\nbb', 'b\n', '\nlast'), 0x0a));
  t.same(got.map((r) => [r.line, r.data?.toString()]), [[1, 'a'], [2, 'bbb'], [3, ''], [4, 'last']]);
  const nul = await all(records(chunks('x y\0with\nnewline\0'), 0));
  t.same(nul.map((r) => r.data?.toString()), ['x y', 'with\nnewline'], 'NUL-separated names may hold newlines');
});

t.test('records: an over-long line is reported and dropped without buffering it', async (t) => {
  const big = 'x'.repeat(64 * 1024);
  const parts = ['ok\n', ...Array(15).fill(big), '\nafter\n'];
  const got = await all(records(chunks(...parts), 0x0a, 1024 * 1024));
  t.same(got.map((r) => [r.line, r.data === null ? null : r.data.toString()]), [[1, 'ok'], [2, 'x'.repeat(15 * 64 * 1024)], [3, 'after']]);
  const over = await all(records(chunks('ok\n', 'y'.repeat(MAX_LINE_BYTES + 1), '\nafter\n'), 0x0a));
  t.same(over.map((r) => [r.line, r.data === null ? null : r.data.toString()]), [[1, 'ok'], [2, null], [3, 'after']]);
});

t.test('pathOf: NDJSON objects with a path; every other shape is a named problem', async (t) => {
  t.equal(pathOf(Buffer.from('{"path":"a b.pdf","extra":1}'), 'ndjson'), 'a b.pdf');
  t.same(pathOf(Buffer.from(''), 'ndjson'), { problem: 'blank line' });
  t.match(pathOf(Buffer.from('{"path":'), 'ndjson'), { problem: /^not JSON/ });
  t.match(pathOf(Buffer.from('[1]'), 'ndjson'), { problem: /JSON object/ });
  t.match(pathOf(Buffer.from('{"path":7}'), 'ndjson'), { problem: /"path" field/ });
  t.equal(pathOf(Buffer.from('a.pdf\r'), 'lines'), 'a.pdf', 'CRLF input');
});

t.test('stdinItems: relative paths against the cwd, problems reported, --strict stops', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a');
  fs.mkdirSync(path.join(dir, 'sub'));
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const problems: { line: number; message: string }[] = [];
  const items: Item[] = await all(stdinItems(chunks('a.txt\nmissing.txt\nsub\n' + path.join(dir, 'a.txt') + '\n'), { format: 'lines', strict: false }, { onProblem: (p) => problems.push(p) }));
  t.same(items.map((i) => [i.path, i.rel, i.size]), [['a.txt', 'a.txt', 1], ['a.txt', 'a.txt', 1]]);
  t.same(problems, [{ line: 2, message: 'missing.txt: no such file' }, { line: 3, message: 'sub: not a regular file' }]);
  await t.rejects(all(stdinItems(chunks('missing.txt\n'), { format: 'lines', strict: true }, { onProblem: () => {} })), { code: 'SLUICE_E_INPUT', message: /stdin line 1: missing.txt: no such file \(--strict\)/ });
});

/** A name that is not valid UTF-8 (latin1 "café.txt"), as bytes. */
const CAFE = Buffer.from('caf\xe9.txt', 'latin1');

t.test('stdinItems: a name that is not UTF-8 is opened by its raw bytes and carried as path_b64, in every format', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), CAFE]), 'raw');
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const inputs: [string, Buffer, 'lines' | 'nul' | 'ndjson'][] = [
    ['-0 (find -print0)', Buffer.concat([Buffer.from('./'), CAFE, Buffer.from('\0')]), 'nul'],
    ['--lines', Buffer.concat([CAFE, Buffer.from('\r\n')]), 'lines'],
    ['NDJSON path_b64, as results carry it', Buffer.from(JSON.stringify({ path: 'caf\uFFFD.txt', path_b64: CAFE.toString('base64') }) + '\n'), 'ndjson'],
    ['an absolute name', Buffer.concat([Buffer.from(dir + '/'), CAFE, Buffer.from('\n')]), 'lines'],
  ];
  for (const [what, input, format] of inputs) {
    const problems: unknown[] = [];
    const items: Item[] = await all(stdinItems(Readable.from([input]), { format, strict: false }, { onProblem: (p) => problems.push(p) }));
    t.same(problems, [], `${what}: no problem`);
    t.equal(items.length, 1, what);
    const it = items[0]!;
    t.ok(Buffer.isBuffer(it.file) && Buffer.compare(it.file as Buffer, Buffer.concat([Buffer.from(dir + '/'), CAFE])) === 0, `${what}: the raw bytes are opened`);
    t.equal(fs.readFileSync(it.file as Buffer, 'utf8'), 'raw', `${what}: the file itself`);
    t.equal(it.path, 'caf\uFFFD.txt', `${what}: path is the lossy display`);
    t.equal(it.path_b64, CAFE.toString('base64'), `${what}: path_b64 holds the exact bytes`);
    t.equal(it.rel, 'caf\uFFFD.txt', `${what}: rel (the key) is the same as the walk gives`);
  }
  // a raw name that resolves to a plain one is a plain name
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a');
  const plain = await all(stdinItems(Readable.from([Buffer.concat([CAFE, Buffer.from('/../a.txt\n')])]), { format: 'lines', strict: false }, { onProblem: () => {} }));
  t.same(plain.map((i) => [i.path, i.file, i.path_b64]), [['a.txt', path.join(dir, 'a.txt'), undefined]]);
  const missing: { line: number; message: string }[] = [];
  await all(stdinItems(Readable.from([Buffer.concat([Buffer.from('a\n'), Buffer.from('gon\xe9\n', 'latin1')])]), { format: 'lines', strict: false }, { onProblem: (p) => missing.push(p) }));
  t.same(missing, [{ line: 1, message: 'a: no such file' }, { line: 2, message: 'gon\uFFFD: no such file' }]);
});

t.test('pathOf: path_b64 wins over path, and must be base64', async (t) => {
  t.same(pathOf(Buffer.from(JSON.stringify({ path: 'x', path_b64: CAFE.toString('base64') })), 'ndjson'), CAFE);
  t.equal(pathOf(Buffer.from(JSON.stringify({ path_b64: Buffer.from('a.pdf').toString('base64') })), 'ndjson'), 'a.pdf', 'UTF-8 bytes come back as a string');
  t.match(pathOf(Buffer.from('{"path_b64":"not base64!"}'), 'ndjson'), { problem: /"path_b64" to hold base64/ });
  t.same(pathOf(Buffer.concat([CAFE, Buffer.from('\r')]), 'lines'), CAFE, 'raw bytes from --lines, CR dropped');
});

t.test('stdinItems: a plain list of paths where NDJSON was expected is read as lines, said once; a later "{" line is a path', async (t) => {
  const dir = tmpDir();
  for (const f of ['a.txt', '{b}.txt', 'c d.txt']) fs.writeFileSync(path.join(dir, f), f);
  const cwd = process.cwd();
  process.chdir(dir);
  t.teardown(() => process.chdir(cwd));
  const notes: string[] = [];
  const problems: { line: number; message: string }[] = [];
  const items: Item[] = await all(stdinItems(chunks('\na.txt\n{b}.txt\nc d.txt\nnope.txt\n'), { format: 'ndjson', strict: false }, { onProblem: (p) => problems.push(p), onNote: (m) => notes.push(m) }));
  t.same(items.map((i) => i.path), ['a.txt', '{b}.txt', 'c d.txt']);
  t.same(problems, [{ line: 5, message: 'nope.txt: no such file' }], 'the leading blank line is not a problem in a path list');
  t.equal(notes.length, 1, 'one note');
  t.match(notes[0], /list of paths.*--lines/);

  // NDJSON stays NDJSON: leading blank lines are still bad lines, a later plain line is not JSON (with the hint)
  const nd: { line: number; message: string }[] = [];
  const ndNotes: string[] = [];
  const got: Item[] = await all(stdinItems(chunks('\n{"path":"a.txt"}\nc d.txt\n'), { format: 'ndjson', strict: false }, { onProblem: (p) => nd.push(p), onNote: (m) => ndNotes.push(m) }));
  t.same(got.map((i) => i.path), ['a.txt']);
  t.same(nd.map((p) => p.line), [1, 3]);
  t.equal(nd[0]!.message, 'blank line');
  t.match(nd[1]!.message, /^not JSON: .*use --lines \(one per line\) or -0/);
  t.same(ndNotes, []);

  // --strict: one clear error on the first line, nothing read as a path
  await t.rejects(all(stdinItems(chunks('a.txt\n'), { format: 'ndjson', strict: true }, { onProblem: () => {} })), { code: 'SLUICE_E_INPUT', message: /^stdin line 1: not JSON \(stdin looks like a list of paths\): use --lines .* or -0 .*\(--strict\)$/ });
});
