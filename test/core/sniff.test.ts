// core/sniff.ts: a file's real type from its first bytes, whatever its name.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, tmpDir } from '../helpers.js';
import { sniffBytes, sniffFile } from '../../lib/core/sniff.js';

t.test('signatures, markup and text are told apart by their bytes', async (t) => {
  const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s));
  t.equal(sniffBytes(b('%PDF-1.7\n')), 'pdf');
  t.equal(sniffBytes(b('junk before the header %PDF-1.4\n')), 'pdf', 'a header after junk in the first bytes, as readers accept it');
  t.equal(sniffBytes(b('PK\x03\x04\x14\x00')), 'zip');
  t.equal(sniffBytes(b([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0])), 'png');
  t.equal(sniffBytes(b([0xff, 0xd8, 0xff, 0xe0])), 'jpeg');
  t.equal(sniffBytes(b('GIF89a')), 'gif');
  t.equal(sniffBytes(Buffer.from('\ufeff<!DOCTYPE html><html>')), 'html', 'after a byte order mark');
  t.equal(sniffBytes(b('  <html lang="en">')), 'html');
  t.equal(sniffBytes(b('<?xml version="1.0"?>')), 'xml');
  t.equal(sniffBytes(Buffer.from('Grüße, Καλημέρα, Привет 👋\n\tline two\f page two')), 'text', 'UTF-8 text with tabs and form feeds');
  t.equal(sniffBytes(Buffer.from('é'.repeat(10)).subarray(0, 19)), 'text', 'a character cut at the end of the sample is still text');
  t.equal(sniffBytes(b([0, 1, 2, 3, 200, 201])), 'binary');
  t.equal(sniffBytes(b('text with a NUL\0 inside')), 'binary');
  t.equal(sniffBytes(b('')), 'empty');
});

t.test('sniffFile reads the fixtures for what they are: an HTML page named .pdf is html', async (t) => {
  const f = (n: string) => path.join(FIXTURES, 'pdf', n);
  t.equal(await sniffFile({ file: f('good.pdf'), path: 'good.pdf' }), 'pdf');
  t.equal(await sniffFile({ file: f('html.pdf'), path: 'html.pdf' }), 'html');
  t.equal(await sniffFile({ file: f('random-bytes.pdf'), path: 'random-bytes.pdf' }), 'binary');
  t.equal(await sniffFile({ file: f('empty.pdf'), path: 'empty.pdf' }), 'empty');
});

t.test('sniffFile follows no symbolic link it was not told to, and reads no FIFO', async (t) => {
  const dir = tmpDir();
  fs.symlinkSync(path.join(FIXTURES, 'pdf/good.pdf'), path.join(dir, 'link.pdf'));
  await t.rejects(sniffFile({ file: path.join(dir, 'link.pdf'), path: 'link.pdf' }), { code: 'SLUICE_E_NOT_REGULAR' });
  t.equal(await sniffFile({ file: path.join(dir, 'link.pdf'), path: 'link.pdf', follow: true }), 'pdf', 'followed when the item says so');
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [path.join(dir, 'fifo')]);
  await t.rejects(sniffFile({ file: path.join(dir, 'fifo'), path: 'fifo' }), { code: 'SLUICE_E_NOT_REGULAR' });
});
