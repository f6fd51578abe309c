// The built-in `chunk` processor: chunkText's boundaries, pages and graphemes, and the processor
// with a fake fan-out (ctx.emit), called in-process.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import chunk, { chunkText, type Chunk, type ChunkTextOptions } from '../../lib/processors/chunk.js';
import { spec } from '../../lib/processors/chunk.spec.js';
import { BUILTIN_PROCESSORS, isBuiltin } from '../../lib/processors/index.js';
import { ItemTimeout, type ProcessorContext, type ProcessorItem } from '../../lib/core/processor.js';
import { tmpDir } from '../helpers.js';

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** The grapheme boundaries of a text, from Intl.Segmenter over the whole of it. */
function boundaries(text: string): Set<number> {
  const set = new Set<number>([text.length]);
  for (const s of graphemes.segment(text)) set.add(s.index);
  return set;
}

/**
 * What every chunking must hold: numbered from 0, text as the offsets say (form feeds as
 * newlines), within size (longer only when it is a single grapheme cluster), each one starting
 * after the previous start and at most overlap before the previous end, ending after the
 * previous end, from 0 to the text's end; and the chunks' own texts, each without what it shares
 * with the one before, make the whole text again.
 */
function checkCover(t: Test, text: string, opts: ChunkTextOptions, chunks: Chunk[]): void {
  const bad: string[] = [];
  let rebuilt = '';
  chunks.forEach((c, i) => {
    const prev = chunks[i - 1];
    if (c.index !== i) bad.push(`chunk ${i} has index ${c.index}`);
    if (c.text !== text.slice(c.start, c.end).replace(/\f/g, '\n')) bad.push(`chunk ${i}'s text is not text[${c.start}, ${c.end})`);
    // the one exception: a single grapheme cluster longer than size
    if (c.end - c.start > opts.size && [...graphemes.segment(c.text)].length > 1) bad.push(`chunk ${i} is ${c.end - c.start} long, more than ${opts.size}`);
    if (c.end <= c.start) bad.push(`chunk ${i} is empty`);
    if (prev && !(c.start > prev.start && c.start <= prev.end && c.end > prev.end)) bad.push(`chunk ${i} [${c.start}, ${c.end}) does not follow [${prev.start}, ${prev.end})`);
    if (prev && prev.end - c.start > opts.overlap) bad.push(`chunk ${i} shares ${prev.end - c.start} characters, more than overlap ${opts.overlap}`);
    rebuilt += c.text.slice(prev ? prev.end - c.start : 0);
  });
  t.same(bad, [], 'every chunk is where it should be');
  t.equal(chunks[0]?.start, 0, 'the first chunk starts at 0');
  t.equal(chunks.at(-1)?.end, text.length, 'the last chunk ends at the end of the text');
  t.ok(rebuilt === text.replace(/\f/g, '\n'), 'the chunks without their overlaps make the text again');
}

/** No lone surrogate (with the u flag, a surrogate pair is one code point, a lone one is \p{Cs}). */
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);

/** Every chunk starts and ends on a grapheme boundary of the whole text. */
function checkGraphemes(t: Test, text: string, chunks: Chunk[]): void {
  const ok = boundaries(text);
  const inside = chunks.filter((c) => !ok.has(c.start) || !ok.has(c.end)).map((c) => `[${c.start}, ${c.end})`);
  t.same(inside, [], 'no chunk starts or ends inside a grapheme cluster');
  t.ok(chunks.every((c) => wellFormed(c.text)), 'no chunk has a lone surrogate');
}

const words = (n: number, seed = 1) => {
  const vocab = ['river', 'stone', 'a', 'lantern', 'of', 'quietly', 'the', 'harbour', 'ink', 'mountains', 'to', 'paper'];
  let x = seed;
  return Array.from({ length: n }, () => vocab[(x = (x * 1103515245 + 12345) % 2147483648) % vocab.length]).join(' ');
};

/** Sentences joined by a space, and by a blank line after every `every`th. */
const joinParas = (parts: string[], every: number) => parts.map((p, i) => (i === 0 ? '' : i % every ? ' ' : '\n\n') + p).join('');

t.test('a chunk ends at a paragraph break in the last 30% of its window rather than at a later sentence end', async (t) => {
  const first = 'One short sentence here. ' + words(9) + '. Another one ends.'; // well within 70..100
  const text = first + '\n\n' + 'Next paragraph. It has sentences. Many of them here. ' + words(60) + '.';
  const b = first.length + 2;
  t.ok(b > 70 && b < 100, `the paragraph break (${b}) is in the last 30% of a window of 100`);
  t.ok(/\. \S/.test(text.slice(b, 100)), 'and sentence ends come after it in the window');
  const chunks = [...chunkText(text, { size: 100, overlap: 10 })];
  t.equal(chunks[0]!.end, b, 'the first chunk ends after the blank line');
  checkCover(t, text, { size: 100, overlap: 10 }, chunks);
});

t.test('a form feed counts as a paragraph break', async (t) => {
  const first = 'The first page ends here. ' + 'word '.repeat(11) + 'end.'; // 85
  t.equal(first.length, 85);
  const text = first + '\f' + 'Then. More. ' + words(40) + '.';
  const chunks = [...chunkText(text, { size: 100, overlap: 0 })];
  t.equal(chunks[0]!.end, first.length + 1);
  t.equal(chunks[0]!.text, first + '\n', 'the form feed is a newline in the chunk\'s text');
});

t.test('a blank line of CRLFs, or with spaces in it, is a paragraph break too', async (t) => {
  const first = 'The first paragraph ends here. ' + 'word '.repeat(9) + 'end.'; // 80
  for (const blank of ['\r\n\r\n', '\n \t\n']) {
    const text = first + blank + 'Then. More. ' + words(40) + '.';
    t.equal([...chunkText(text, { size: 100, overlap: 0 })][0]!.end, first.length + blank.length, JSON.stringify(blank));
  }
});

t.test('without a paragraph break, a chunk ends after the last sentence in its last 30% rather than at a later word', async (t) => {
  const text = 'Lead words come first here. ' + 'word '.repeat(9) + 'Short one! ' + 'more words follow on and on '.repeat(5);
  const last = text.indexOf('one! ') + 5; // 28 + 45 + 11 = 84
  t.equal(last, 84);
  const chunks = [...chunkText(text, { size: 100, overlap: 20 })];
  t.equal(chunks[0]!.end, last, 'the chunk ends after the sentence and its space');
  t.ok(text.slice(last, 100).includes(' '), 'though word boundaries come after it');
});

t.test('a line break without a full stop is not taken for a sentence end', async (t) => {
  // a sentence ends at 71; a wrapped line (no punctuation) at 85
  const line1 = 'x'.repeat(60) + ' end stop. ' + 'Abc de'; // 60 + 11 + 6 = 77
  const text = line1 + 'fghijkl\n' + 'next line goes on '.repeat(5);
  const stop = line1.indexOf('stop. ') + 6;
  const chunks = [...chunkText(text, { size: 100, overlap: 0 })];
  t.equal(chunks[0]!.end, stop, `the chunk ends after "stop. " (${stop}), not after the line break`);
});

t.test('without a sentence end, a chunk ends at a word boundary, as close to size as it can', async (t) => {
  const text = words(400, 11);
  const opts = { size: 120, overlap: 0 };
  const chunks = [...chunkText(text, opts)];
  for (const c of chunks.slice(0, -1)) {
    t.ok(c.text.endsWith(' ') || text[c.end] === ' ', `chunk ${c.index} ends between words`);
    // the next word would not have fit: no word boundary after it within the window
    const next = text.indexOf(' ', c.end + 1);
    t.ok(next === -1 || next > c.start + opts.size, `chunk ${c.index} ends at the last word boundary of its window`);
  }
  checkCover(t, text, opts, chunks);
});

t.test('the chunks cover the text, never pass size, and each starts at a word about overlap characters before the previous end', async (t) => {
  const text = joinParas(Array.from({ length: 30 }, (_, i) => `${words(20 + (i % 7) * 9, i + 1)}. ${words(12, i + 50)}!`), 3);
  for (const [size, overlap] of [[200, 40], [120, 0], [300, 150], [64, 63], [1000, 100]] as const) {
    const opts = { size, overlap };
    const chunks = [...chunkText(text, opts)];
    t.ok(chunks.length > text.length / size, `${size}/${overlap}: ${chunks.length} chunks`);
    checkCover(t, text, opts, chunks);
    if (overlap === 0) {
      t.ok(chunks.every((c, i) => i === 0 || c.start === chunks[i - 1]!.end), `${size}/${overlap}: no overlap when overlap is 0`);
      continue;
    }
    const longest = Math.max(...text.split(/\s+/).map((w) => w.length)) + 2;
    const off = chunks.slice(1).filter((c, i) => {
      const shared = chunks[i]!.end - c.start;
      const atWord = /\w/.test(text[c.start]!) && !/\w/.test(text[c.start - 1]!);
      return !atWord || shared < Math.min(overlap, chunks[i]!.end - chunks[i]!.start) - longest;
    });
    t.same(off.map((c) => c.index), [], `${size}/${overlap}: every chunk starts at a word, sharing about ${overlap} characters`);
  }
});

t.test('chunks carry the pages they cover, from the form feeds', async (t) => {
  const pages = [words(40, 1) + '.', words(35, 2) + '.', words(30, 3) + '.'];
  const text = pages.join('\f');
  const opts = { size: 100, overlap: 20 };
  const chunks = [...chunkText(text, opts)];
  checkCover(t, text, opts, chunks);
  // the page of every character, counted independently
  const pageAt: number[] = [];
  let p = 1;
  for (const ch of text) {
    pageAt.push(ch === '\f' ? 0 : p);
    if (ch === '\f') p++;
  }
  for (const c of chunks) {
    const seen = pageAt.slice(c.start, c.end).filter((x) => x > 0);
    const want = Array.from({ length: Math.max(...seen) - Math.min(...seen) + 1 }, (_, i) => Math.min(...seen) + i);
    t.same(c.pages, want, `chunk ${c.index} [${c.start}, ${c.end}) covers pages ${want.join(', ')}`);
  }
  t.same(chunks[0]!.pages, [1]);
  t.same(chunks.at(-1)!.pages, [3]);
  t.ok(chunks.some((c) => c.pages!.length === 2), 'a chunk across a page break carries both pages');
  t.ok(chunks.every((c) => !c.text.includes('\f')), 'no chunk\'s text has a form feed');
  t.notOk('pages' in [...chunkText(words(50), opts)][0]!, 'a text without form feeds has no pages');
  t.same([...chunkText('short text', { ...opts, pages: true })][0]!.pages, [1], 'unless asked for them');
});

t.test('empty pages are inside the range of a chunk across them, and a chunk that only ends with a page break is on its page', async (t) => {
  const text = 'First page.\f\f\fFourth page here.';
  const [c] = [...chunkText(text, { size: 100, overlap: 0 })];
  t.same(c!.pages, [1, 2, 3, 4]);
  const split = [...chunkText('a'.repeat(80) + '.\f' + 'b'.repeat(30), { size: 100, overlap: 0 })];
  t.equal(split[0]!.end, 82, 'the page break ends the chunk');
  t.same(split.map((s) => s.pages), [[1], [2]], 'and the form feed it ends with does not put it on page 2');
  const empty = [...chunkText('a'.repeat(80) + '.\f\f' + 'b'.repeat(30), { size: 100, overlap: 0 })];
  t.same(empty.map((s) => [s.end, s.pages]), [[83, [1]], [113, [3]]], 'nor on the empty page 2 when it ends with two');
});

t.test('a 1 MB paragraph without spaces is cut at grapheme boundaries into chunks of at most size that cover it', async (t) => {
  // one word of 1 MB: letters, one outside the BMP (a surrogate pair), and e + U+0301
  const unit = 'ab\u{1D400}cde\u0301';
  const text = unit.repeat(1_000_000 / unit.length);
  t.equal(text.length, 1_000_000);
  t.equal([...new Intl.Segmenter('en', { granularity: 'word' }).segment(text.slice(0, 5000))].length, 1, 'it has no word boundary');
  const opts = { size: 1000, overlap: 100 };
  const chunks = [...chunkText(text, opts)];
  t.ok(chunks.length >= 1110 && chunks.length <= 1115, `${chunks.length} chunks: about one for every size - overlap characters`);
  checkCover(t, text, opts, chunks);
  t.ok(chunks.every((c) => wellFormed(c.text)), 'no chunk has a lone surrogate');
  t.ok(chunks.every((c) => !c.text.startsWith('\u0301')), 'no chunk starts with a combining mark');
  t.ok(chunks.slice(0, -1).every((c) => c.end - c.start >= opts.size - 1), 'each chunk but the last ends at the last grapheme boundary of its window');
  t.ok(chunks.slice(1).every((c, i) => chunks[i]!.end - c.start >= opts.overlap - 1), 'each chunk overlaps the one before by overlap, to a grapheme');
});

t.test('overlap one less than size still moves forward', async (t) => {
  const text = 'y'.repeat(5000);
  const chunks = [...chunkText(text, { size: 50, overlap: 49 })];
  checkCover(t, text, { size: 50, overlap: 49 }, chunks);
  t.equal(chunks.length, 5000 - 50 + 1, 'one new character a chunk');
});

const INTL = [
  'Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο. Καλημέρα κόσμε!',
  'Съешь же ещё этих мягких французских булок, да выпей чаю. Привет, мир!',
  'Family 👩‍👩‍👧 and 👨‍👩‍👧‍👦 with flags 🇫🇷🇩🇪🇯🇵 and 👍🏽 thumbs.',
  'Cafe\u0301 re\u0301sume\u0301 nai\u0308ve: combining marks, and precomposed café.',
  '👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧🇫🇷🇩🇪🇯🇵🇫🇷🇩🇪e\u0301e\u0301e\u0301e\u0301ааааαααα中文没有空格的句子很长。',
];

t.test('Greek, Cyrillic, emoji and combining marks: no chunk starts or ends inside a grapheme, and the chunks make the text again', async (t) => {
  const text = joinParas(Array.from({ length: 12 }, (_, i) => INTL[i % INTL.length]!), 4);
  for (const [size, overlap] of [[1, 0], [2, 1], [7, 3], [11, 5], [16, 0], [23, 9], [40, 20], [97, 30]] as const) {
    const chunks = [...chunkText(text, { size, overlap })];
    checkCover(t, text, { size, overlap }, chunks);
    checkGraphemes(t, text, chunks);
  }
});

t.test('a grapheme cluster longer than size is one chunk, never cut', async (t) => {
  const zalgo = 'e' + '\u0301'.repeat(30);
  const text = 'ab ' + zalgo + ' cd ef';
  const chunks = [...chunkText(text, { size: 8, overlap: 2 })];
  checkCover(t, text, { size: 8, overlap: 2 }, chunks);
  checkGraphemes(t, text, chunks);
  const long = chunks.filter((c) => c.end - c.start > 8);
  t.same(long.map((c) => c.text), [zalgo], 'only the cluster is longer than size, alone in its chunk');
});

t.test('a text of white space only gives no chunk', async (t) => {
  t.same([...chunkText('', { size: 10, overlap: 0 })], []);
  t.same([...chunkText(' \n\f\f\t\n', { size: 10, overlap: 0 })], []);
});

t.test('chunkText refuses an overlap that is not less than size', async (t) => {
  t.throws(() => [...chunkText('abc', { size: 10, overlap: 10 })], RangeError);
  t.throws(() => [...chunkText('abc', { size: 0, overlap: 0 })], RangeError);
});

t.test('options: defaults, and an overlap not less than size is refused naming overlap', async (t) => {
  t.same(spec.options.parse({}), { size: 1000, overlap: 100, max_chars: 50_000_000 });
  const r = spec.options.safeParse({ size: 50 });
  t.notOk(r.success);
  t.same(r.error?.issues.map((i) => i.path), [['overlap']]);
  t.match(r.error?.issues[0]?.message, /overlap \(100, its default\) must be less than size \(50\)/);
  t.match(spec.options.safeParse({ size: 50, overlap: 50 }).error?.issues[0]?.message, /^overlap \(50\) must be less than size \(50\)/);
  t.ok(spec.options.safeParse({ size: 50, overlap: 49 }).success);
  t.notOk(spec.options.safeParse({ sise: 50 }).success, 'unknown keys are refused');
});

t.test('chunk is a built-in processor', async (t) => {
  t.ok(isBuiltin('chunk'));
  t.equal(BUILTIN_PROCESSORS.chunk!.spec, spec);
  t.equal((await BUILTIN_PROCESSORS.chunk!.load()).default, chunk);
});

// --- the processor, with a fake fan-out

interface Fake {
  ctx: ProcessorContext;
  children: Record<string, unknown>[];
  maxPending: number;
}

function fake(options: Record<string, unknown> = {}, emitDelay?: () => Promise<void>): Fake {
  const f: Fake = { ctx: undefined as never, children: [], maxPending: 0 };
  let pending = 0;
  f.ctx = {
    // as a worker gets them: parsed by the spec in the main thread
    options: spec.options.parse(options) as Record<string, unknown>,
    hasOutputDir: false,
    writeOutput: async () => {
      throw new Error('chunk writes no output');
    },
    emit: async (child) => {
      pending++;
      f.maxPending = Math.max(f.maxPending, pending);
      try {
        f.children.push(child);
        if (emitDelay) await emitDelay();
      } finally {
        pending--;
      }
    },
  };
  return f;
}

function fileItem(file: string, extra: Partial<ProcessorItem> = {}): ProcessorItem {
  return { path: file, file, rel: path.basename(file), size: fs.statSync(file).size, mtime_ms: 1, ...extra };
}

const SAMPLE = Array.from({ length: 10 }, (_, i) => `${words(30, i + 2)}.`).join('\f');

t.test('the processor chunks the previous stage\'s text, emitting each chunk as chunkText makes it, and returns the counts', async (t) => {
  const dir = tmpDir();
  const file = path.join(dir, 'doc.pdf');
  fs.writeFileSync(file, '%PDF-1.4 not this');
  const f = fake({ size: 120, overlap: 20 });
  const out = await chunk(fileItem(file, { input: { text: SAMPLE, pages: 10, chars: SAMPLE.length } }), f.ctx);
  const want = [...chunkText(SAMPLE, { size: 120, overlap: 20 })];
  t.same(f.children, want, 'the children are chunkText\'s chunks, in order');
  t.same(out, { chunks: want.length, chars: SAMPLE.length });
  t.same(f.children.at(-1)!.pages, [10]);
});

t.test('a previous stage\'s output with pages but no form feed still gives pages', async (t) => {
  const f = fake({ size: 100, overlap: 10 });
  await chunk({ path: 'x.pdf', file: '/nonexistent/x.pdf', rel: 'x.pdf', size: 1, mtime_ms: 1, input: { text: words(60), pages: 1 } }, f.ctx);
  t.ok(f.children.length > 1);
  t.ok(f.children.every((c) => JSON.stringify(c.pages) === '[1]'));
});

t.test('the processor reads the file at the previous stage\'s text_path, relative to the current directory', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'doc.pdf.txt'), SAMPLE);
  const f = fake({ size: 200, overlap: 0 });
  const rel = path.relative(process.cwd(), path.join(dir, 'doc.pdf.txt'));
  const out = await chunk({ path: 'doc.pdf', file: '/nonexistent/doc.pdf', rel: 'doc.pdf', size: 1, mtime_ms: 1, input: { text_path: rel, pages: 10 } }, f.ctx);
  t.same(f.children, [...chunkText(SAMPLE, { size: 200, overlap: 0 })]);
  t.equal(out.chars, SAMPLE.length);

  const both = fake({ size: 200, overlap: 0 });
  await chunk({ path: 'doc.pdf', file: '/nonexistent/doc.pdf', rel: 'doc.pdf', size: 1, mtime_ms: 1, input: { text: 'inline wins', text_path: rel } }, both.ctx);
  t.same(both.children.map((c) => c.text), ['inline wins'], 'inline text comes before text_path');

  fs.symlinkSync(path.join(dir, 'doc.pdf.txt'), path.join(dir, 'link.txt'));
  await t.rejects(chunk({ path: 'doc.pdf', file: '/nonexistent/doc.pdf', rel: 'doc.pdf', size: 1, mtime_ms: 1, input: { text_path: path.join(dir, 'link.txt') } }, fake().ctx),
    { code: 'SLUICE_E_NOT_REGULAR' }, 'a text_path that is a symbolic link is not read');
  fs.mkdirSync(path.join(dir, 'sub'));
  await t.rejects(chunk({ path: 'doc.pdf', file: '/nonexistent/doc.pdf', rel: 'doc.pdf', size: 1, mtime_ms: 1, input: { text_path: path.join(dir, 'sub') } }, fake().ctx),
    { code: 'SLUICE_E_NOT_REGULAR' }, 'nor one that is a directory');
});

t.test('without text from a previous stage, the processor reads the item\'s own file as UTF-8', async (t) => {
  const dir = tmpDir();
  const file = path.join(dir, 'notes.txt');
  const text = INTL.join('\n\n');
  fs.writeFileSync(file, '\uFEFF' + text);
  const f = fake({ size: 50, overlap: 10 });
  const out = await chunk(fileItem(file), f.ctx);
  t.same(out, { chunks: f.children.length, chars: text.length }, 'the byte order mark is not text');
  t.same(f.children, [...chunkText(text, { size: 50, overlap: 10 })]);
  t.notOk(f.children.some((c) => 'pages' in c), 'no pages: no form feed, no PDF stage');

  const other = fake({ size: 50, overlap: 10 });
  await chunk(fileItem(file, { input: { sha256: 'abc' } }), other.ctx);
  t.same(other.children, f.children, 'a previous stage without text: the file itself');

  fs.symlinkSync(file, path.join(dir, 'link.txt'));
  await t.rejects(chunk(fileItem(path.join(dir, 'link.txt')), fake().ctx), { code: 'SLUICE_E_NOT_REGULAR' }, 'the item\'s own file is read as inputs are: not through a link');
});

t.test('text over max_chars fails with SLUICE_E_TOO_LARGE, from each source', async (t) => {
  const dir = tmpDir();
  const file = path.join(dir, 'big.txt');
  fs.writeFileSync(file, 'é'.repeat(600)); // 1200 bytes, 600 characters
  const ok = fake({ max_chars: 600, size: 100, overlap: 0 });
  t.same(await chunk(fileItem(file), ok.ctx), { chunks: 6, chars: 600 }, 'characters are counted, not bytes');
  await t.rejects(chunk(fileItem(file), fake({ max_chars: 599 }).ctx), { code: 'SLUICE_E_TOO_LARGE', message: /max_chars 599/ });
  await t.rejects(chunk(fileItem(file, { input: { text_path: file } }), fake({ max_chars: 599 }).ctx), { code: 'SLUICE_E_TOO_LARGE', message: /max_chars 599/ });
  const f = fake({ max_chars: 10 });
  await t.rejects(chunk(fileItem(file, { input: { text: 'eleven char' } }), f.ctx), { code: 'SLUICE_E_TOO_LARGE', message: /11 characters, more than max_chars 10/ });
  t.equal(f.children.length, 0, 'nothing was emitted');
});

t.test('a file far larger than max_chars fails while it is read, not after', async (t) => {
  // 1 GB (sparse): read whole it would be a string longer than V8 allows, a different error
  const dir = tmpDir();
  const file = path.join(dir, 'huge.txt');
  fs.writeFileSync(file, '');
  fs.truncateSync(file, 2 ** 30);
  await t.rejects(chunk(fileItem(file), fake({ max_chars: 3_000_000 }).ctx), { code: 'SLUICE_E_TOO_LARGE', message: /passed max_chars 3000000/ });
});

t.test('without ctx.emit (a map() stage of the library), every item fails with a clear SLUICE_E_CONFIG', async (t) => {
  const f = fake();
  delete f.ctx.emit;
  await t.rejects(chunk({ path: 'a.txt', file: '/nonexistent/a.txt', rel: 'a.txt', size: 1, mtime_ms: 1, input: { text: 'some text' } }, f.ctx),
    { code: 'SLUICE_E_CONFIG', message: /child item \(fan-out\), and children have nowhere to go here/ });
});

t.test('the processor awaits each emit before making the next chunk (backpressure)', async (t) => {
  const text = words(3000, 4);
  let made = 0;
  const madeAtEmit: number[] = [];
  const f = fake({ size: 200, overlap: 30 }, async () => {
    madeAtEmit.push(made);
    await new Promise((r) => setTimeout(r, 1));
    made++;
  });
  const out = await chunk({ path: 'a.txt', file: '/nonexistent/a.txt', rel: 'a.txt', size: 1, mtime_ms: 1, input: { text } }, f.ctx);
  t.ok(out.chunks > 50, `${out.chunks} chunks`);
  t.equal(f.maxPending, 1, 'never two emits pending at once');
  t.same(madeAtEmit, madeAtEmit.map((_, i) => i), 'each emit came after the previous one had resolved');
});

t.test('the processor stops emitting when the item\'s time is up', async (t) => {
  const ctl = new AbortController();
  const f = fake({ size: 100, overlap: 0 }, async () => {
    if (f.children.length === 3) ctl.abort(new ItemTimeout(5));
  });
  Object.defineProperty(f.ctx, 'signal', { value: ctl.signal });
  await t.rejects(chunk({ path: 'a.txt', file: '/nonexistent/a.txt', rel: 'a.txt', size: 1, mtime_ms: 1, input: { text: words(1000) } }, f.ctx), ItemTimeout);
  t.equal(f.children.length, 3, 'no chunk after the timeout');
});
