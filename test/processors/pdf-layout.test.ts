import t from 'tap';
import { pageText, type TextItemLike } from '../../lib/processors/pdf-layout.js';

/** An upright item of `size` pt at (x, y), each character 0.5 em wide. */
const at = (str: string, x: number, y: number, size = 10, hasEOL = false): TextItemLike =>
  ({ str, hasEOL, width: str.length * size * 0.5, height: size, transform: [size, 0, 0, size, x, y] });

t.test('items on one line: a gap of more than a tenth of the font size is a space, touching items join', async (t) => {
  t.equal(pageText([at('foo', 0, 100), at('bar', 15, 100)]), 'foobar', 'no gap: one word (kerned parts of a word)');
  t.equal(pageText([at('foo', 0, 100), at('bar', 15.5, 100)]), 'foobar', 'half a point at 10 pt: still one word');
  t.equal(pageText([at('foo', 0, 100), at('bar', 17, 100)]), 'foo bar');
  t.equal(pageText([at('foo ', 0, 100), at('bar', 40, 100)]), 'foo bar', 'no second space where there is one');
  t.equal(pageText([at('x', 0, 100), at('2', 6, 103, 6)]), 'x2', 'a superscript stays on its line');
});

t.test('a baseline that moves by half a line or more is a line break, once', async (t) => {
  t.equal(pageText([at('one', 0, 100), at('two', 0, 88)]), 'one\ntwo');
  t.equal(pageText([at('one', 0, 100, 10, true), at('two', 0, 88)]), 'one\ntwo', 'pdfjs\' own end of line is not doubled');
  t.equal(pageText([at('one', 0, 100), { str: '', hasEOL: true, width: 0, height: 0, transform: [1, 0, 0, 1, 0, 0] }, at('two', 0, 88)]), 'one\ntwo');
});

t.test('fake bold (a string drawn again a fraction of a point away) is read once; a real repeat is kept', async (t) => {
  t.equal(pageText([at('Bold', 40, 100), at('Bold', 40.4, 100)]), 'Bold');
  t.equal(pageText([at('Bold', 40, 100), at('Bold Title', 40.4, 100), at('Title', 65.4, 100)]), 'Bold Title');
  t.equal(pageText([at('no', 0, 100), at('no', 20, 100)]), 'no no', 'the same word further on is another word');
});

t.test('rotated, vertical and marked-content items are joined as pdfjs gives them', async (t) => {
  const rotated = (str: string, x: number, y: number): TextItemLike => ({ str, hasEOL: false, width: 10, height: 10, transform: [0, 10, -10, 0, x, y] });
  t.equal(pageText([rotated('up', 0, 0), rotated('wards', 0, 50)]), 'upwards');
  t.equal(pageText([{ type: 'beginMarkedContent' }, at('a', 0, 0), { type: 'endMarkedContent' }]), 'a');
});
