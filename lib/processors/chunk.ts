import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { inputChunks, type InputRef } from '../core/input.js';
import type { ProcessorContext, ProcessorItem } from '../core/processor.js';
import type { ChunkOptions as Options } from './chunk.spec.js';

// The built-in `chunk`: splits an item's text into overlapping chunks and hands each to the rest
// of the pipeline as a child item (ctx.emit, fan-out), one at a time.
//
// Invariants:
// - the text is read whole but never past max_chars (counted while decoding, not after);
// - chunks are made one at a time (chunkText is a generator) and each is emitted, and its emit
//   awaited, before the next is made: memory is the text plus one chunk, whatever the downstream;
// - every chunk starts and ends on a grapheme boundary (never inside a surrogate pair, a
//   combining sequence, a ZWJ emoji or a flag), so its text is always well-formed;
// - each chunk ends after the previous one ended and starts after the previous one started:
//   the loop always makes progress and the chunks cover the text from 0 to its end.

const TOO_LARGE = 'SLUICE_E_TOO_LARGE';

/** One chunk of a text, as emitted. */
export type Chunk = {
  /** 0, 1, 2, ... in order */
  index: number;
  /** text.slice(start, end), form feeds made newlines */
  text: string;
  start: number;
  /** exclusive */
  end: number;
  /** the 1-based pages it covers, first to last (see chunkText) */
  pages?: number[];
};

export interface ChunkTextOptions {
  size: number;
  /** 0 <= overlap < size */
  overlap: number;
  /** give each chunk its pages; by default when the text has a form feed */
  pages?: boolean;
}

/** The share of a chunk's window, at its end, where a paragraph, sentence or word boundary is looked for. */
const PREFER = 0.3;
/**
 * Characters segmented past the end of a chunk's window, so that the word and sentence rules
 * (which look ahead) see what follows the window as it is.
 */
const CONTEXT = 256;
/** What a sentence must end with, before closing quotes and brackets and white space, to count as one. */
const TERMINAL = /[\p{Sentence_Terminal}\u2026]$/u;
const CLOSING = /[\p{Pe}\p{Pf}"']/u;

/** A sentence segment that ends in sentence-final punctuation (not one that only ends a line). */
function endsSentence(s: string): boolean {
  let i = s.length;
  while (i > 0 && /\s/u.test(s[i - 1]!)) i--;
  while (i > 0 && CLOSING.test(s[i - 1]!)) i--;
  return i > 0 && TERMINAL.test(s.slice(Math.max(0, i - 2), i));
}

// 'en' rather than the machine's locale: the same text gives the same chunks everywhere
/**
 * The segmenters, made on first use: each loads ICU's break rules (~4 ms apiece), which every
 * sluice process and worker thread would pay at start whether it chunks or not.
 */
const SEGMENTERS: Partial<Record<'g' | 'w' | 's', Intl.Segmenter>> = {};
function segmenter(kind: 'g' | 'w' | 's'): Intl.Segmenter {
  return (SEGMENTERS[kind] ??= new Intl.Segmenter('en', { granularity: kind === 'g' ? 'grapheme' : kind === 'w' ? 'word' : 'sentence' }));
}

/**
 * Split `text` into chunks, lazily (one in memory at a time).
 *
 * - **End**: a chunk starting at `start` may end at `start + size` at most (its window). It ends
 *   at the last paragraph break (a line break, blank space, a line break; or a form feed) in the
 *   window's last 30%, else the last sentence end there (Intl.Segmenter's sentences that end in
 *   sentence-final punctuation: a bare line break is not a sentence end), else the last word
 *   boundary there (Intl.Segmenter's words), else the last grapheme boundary in the window. The
 *   rest of the text, when it fits the window, is the last chunk.
 * - **Start**: the first chunk starts at 0; the next one at `end - overlap`, moved forward to the
 *   next start of a word (else the next grapheme boundary) before `end`; when that leaves no
 *   grapheme boundary for its own end in its window, it starts at `end` (no overlap).
 * - A chunk is longer than `size` only when a single grapheme cluster is: it is not cut.
 * - **Pages**: a form feed starts a new page. A chunk's pages run from the page of its first
 *   character that is not a form feed to the page of its last one (a chunk of form feeds only:
 *   the page where it starts). Form feeds are newlines in a chunk's text, so `text` always has
 *   `end - start` characters.
 * - A text of white space only (a scan without a text layer) gives no chunk; any other text is
 *   covered from 0 to its end: each chunk starts at or before the end of the one before.
 */
export function* chunkText(text: string, opts: ChunkTextOptions): Generator<Chunk> {
  const { size, overlap } = opts;
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, not ${size}`);
  if (!Number.isSafeInteger(overlap) || overlap < 0 || overlap >= size) throw new RangeError(`overlap must be an integer from 0 to size - 1 (${size - 1}), not ${overlap}`);
  if (!/\S/u.test(text)) return;
  const withPages = opts.pages ?? text.includes('\f');
  const firstPage = new FormFeeds(text);
  const lastPage = new FormFeeds(text);
  const n = text.length;
  let start = 0;
  let prevEnd = 0;
  for (let index = 0; ; index++) {
    let win = new Window(text, start, size);
    let end = n - start <= size ? n : chooseEnd(win, prevEnd);
    if (end < 0) {
      // no grapheme boundary after the previous end in this window: drop the overlap
      start = prevEnd;
      win = new Window(text, start, size);
      end = n - start <= size ? n : chooseEnd(win, prevEnd);
      // still none: a single grapheme cluster longer than size starts here; it is the chunk
      if (end < 0) end = win.graphemeAfter(start);
    }
    const chunk: Chunk = { index, text: text.slice(start, end).replace(/\f/g, '\n'), start, end };
    if (withPages) chunk.pages = pagesOf(text, start, end, firstPage, lastPage);
    yield chunk;
    if (end >= n) return;
    prevEnd = end;
    start = overlap === 0 ? end : chooseStart(win, Math.max(end - overlap, start + 1), end);
  }
}

/**
 * The text around one chunk, segmented on demand: [a, b) with a = the chunk's start (always a
 * grapheme boundary, so grapheme boundaries found here are exact up to b) and b past the window
 * by CONTEXT. Intl.Segmenter's `containing()` walks from the start of what it was given, so each
 * window segments only its own few thousand characters, never the whole text.
 */
class Window {
  readonly a: number;
  readonly hi: number;
  b: number;
  private slice: string;
  private segs: Partial<Record<'g' | 'w' | 's', Intl.Segments>> = {};

  constructor(readonly text: string, start: number, size: number) {
    this.a = start;
    this.hi = Math.min(text.length, start + size);
    this.b = Math.min(text.length, this.hi + CONTEXT);
    this.slice = text.slice(this.a, this.b);
  }

  private segments(kind: 'g' | 'w' | 's'): Intl.Segments {
    return (this.segs[kind] ??= segmenter(kind).segment(this.slice));
  }

  /** The segment of `kind` holding position `p` (a <= p < b), in text positions. */
  at(kind: 'g' | 'w' | 's', p: number): { start: number; end: number; wordLike: boolean } {
    const s = this.segments(kind).containing(p - this.a)!;
    return { start: this.a + s.index, end: this.a + s.index + s.segment.length, wordLike: s.isWordLike === true };
  }

  /** The last grapheme boundary at or before p (a < p < b). */
  graphemeAtOrBefore(p: number): number {
    return this.at('g', p).start;
  }

  isGrapheme(p: number): boolean {
    return p >= this.b ? p === this.text.length : this.at('g', p).start === p;
  }

  /** The end of the grapheme cluster that starts at p, however long (segmenting further when it runs past b). */
  graphemeAfter(p: number): number {
    for (;;) {
      const end = this.at('g', p).end;
      if (end < this.b || this.b === this.text.length) return end;
      this.b = Math.min(this.text.length, this.a + (this.b - this.a) * 2);
      this.slice = this.text.slice(this.a, this.b);
      this.segs = {};
    }
  }

  /**
   * The last sentence end in [lo, hi] (a boundary after sentence-final punctuation), or -1
   * (a < lo). Steps from the sentence holding lo - 1, one sentence at a time: `containing()`
   * finds a boundary from the nearest safe point, where iterating the segments would make every
   * sentence from the window's start (3 s of the 4.5 s that chunking 32 M characters took).
   */
  lastSentenceEnd(lo: number, hi: number): number {
    let best = -1;
    const segs = this.segments('s');
    for (let p = lo - 1; p < this.b;) {
      const s = segs.containing(p - this.a)!;
      const end = this.a + s.index + s.segment.length;
      if (end > hi) break;
      if (endsSentence(s.segment)) best = end;
      p = end;
    }
    return best;
  }
}

/** The end of the chunk that starts at win.a and must end after minEnd, or -1 when no grapheme boundary is in (minEnd, a + size]. */
function chooseEnd(win: Window, minEnd: number): number {
  const { text, a, hi } = win;
  const lo = Math.max(minEnd + 1, a + Math.ceil((hi - a) * (1 - PREFER)));
  if (lo <= hi) {
    // a paragraph break: after a form feed, or after a line break that follows another one and blank space
    for (let p = hi; p >= lo; p--) {
      const c = text.charCodeAt(p - 1);
      if (c === 0x0c) return p;
      if (c === 0x0a) {
        let q = p - 2;
        while (q >= a && (text[q] === ' ' || text[q] === '\t' || text[q] === '\r')) q--;
        if (q >= a && (text[q] === '\n' || text[q] === '\f')) return p;
      }
    }
    const sentence = win.lastSentenceEnd(lo, hi);
    if (sentence >= 0 && win.isGrapheme(sentence)) return sentence;
    const word = win.at('w', hi).start;
    if (word >= lo && win.isGrapheme(word)) return word;
  }
  const g = win.graphemeAtOrBefore(hi);
  return g > minEnd ? g : -1;
}

/** Segments of white space or punctuation stepped over, at most, to reach the start of a word. */
const SKIP = 8;

/**
 * Where the chunk after one that ends at `end` starts: the first start of a word at or after t
 * (a < t < end; past up to SKIP segments of spaces or punctuation, else the first word boundary),
 * else the next grapheme boundary; `end` when none is before it.
 */
function chooseStart(win: Window, t: number, end: number): number {
  const w = win.at('w', t);
  let p = w.start === t ? t : w.end;
  for (let q = p, i = 0; q < end && i < SKIP; i++) {
    const seg = win.at('w', q);
    if (seg.wordLike) {
      p = q;
      break;
    }
    q = seg.end;
  }
  if (p < end && win.isGrapheme(p)) return p;
  const g = win.at('g', t);
  p = g.start === t ? t : g.end;
  return Math.min(p, end);
}

/** Counts the form feeds before a position; positions asked must not decrease. */
class FormFeeds {
  private pos = 0;
  private count = 0;
  constructor(private readonly text: string) {}
  before(p: number): number {
    for (;;) {
      const i = this.text.indexOf('\f', this.pos);
      if (i === -1 || i >= p) {
        this.pos = Math.max(this.pos, p);
        return this.count;
      }
      this.count++;
      this.pos = i + 1;
    }
  }
}

function pagesOf(text: string, start: number, end: number, first: FormFeeds, last: FormFeeds): number[] {
  let s = start;
  while (s < end && text.charCodeAt(s) === 0x0c) s++;
  let e = end - 1;
  while (e > s && text.charCodeAt(e) === 0x0c) e--;
  if (s === end) s = e = start;
  const from = 1 + first.before(s);
  const to = 1 + last.before(e);
  const pages: number[] = [];
  for (let p = from; p <= to; p++) pages.push(p);
  return pages;
}

/** The text to chunk: the previous stage's `text`, else the file at its `text_path`, else the item's own file. */
async function textOf(item: ProcessorItem, opts: Options): Promise<string> {
  const input = item.input;
  if (typeof input?.text === 'string') {
    if (input.text.length > opts.max_chars) {
      throw new SluiceError(TOO_LARGE, `${item.path}: its text has ${input.text.length} characters, more than max_chars ${opts.max_chars}`, { item: item.path });
    }
    return input.text;
  }
  if (typeof input?.text_path === 'string') {
    // opened as an input is: never through a link at its last component, never a FIFO or a device
    return readText({ file: path.resolve(input.text_path), path: input.text_path, follow: false }, item.path, opts.max_chars);
  }
  return readText(item, item.path, opts.max_chars);
}

/** A file's text as UTF-8 (a BOM dropped, bytes that are not UTF-8 as U+FFFD), failing as soon as it passes `max` characters. */
async function readText(ref: InputRef, shown: string, max: number): Promise<string> {
  const decoder = new TextDecoder('utf-8');
  const parts: string[] = [];
  let chars = 0;
  const add = (s: string) => {
    chars += s.length;
    if (chars > max) {
      throw new SluiceError(TOO_LARGE, `${ref.path}: its text passed max_chars ${max}`, { item: shown });
    }
    if (s) parts.push(s);
  };
  for await (const bytes of inputChunks(ref)) add(decoder.decode(bytes, { stream: true }));
  add(decoder.decode());
  return parts.join('');
}

export default async function chunk(item: ProcessorItem, ctx: ProcessorContext): Promise<{ chunks: number; chars: number }> {
  // parsed by the spec (chunk.spec.ts) before they reach a worker: defaults filled in, checked
  const opts = ctx.options as Options;
  const emit = ctx.emit;
  if (!emit) {
    throw new SluiceError('SLUICE_E_CONFIG', 'chunk hands each chunk on as a child item (fan-out), and children have nowhere to go here (a map() stage of the library gives one result per item): run it in a pipeline (sluice run, or run() of the library)', { item: item.path });
  }
  const text = await textOf(item, opts);
  const pages = text.includes('\f') || (item.input !== undefined && Object.hasOwn(item.input, 'pages'));
  const signal = ctx.signal;
  let n = 0;
  for (const c of chunkText(text, { size: opts.size, overlap: opts.overlap, pages })) {
    // out of time: stop making chunks (the item fails with SLUICE_E_TIMEOUT)
    signal?.throwIfAborted();
    await emit(c);
    n++;
  }
  return { chunks: n, chars: text.length };
}
