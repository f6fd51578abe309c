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
