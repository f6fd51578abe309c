// The default key is what checkpoints written by every earlier version hold: sha256 of
// "rel\0size\0mtime_ms", its first 16 bytes in hex. Its word form (what a resume looks up) is the same key.
import t from 'tap';
import { createHash } from 'node:crypto';
import { keyOfWords, metaKey, metaWords } from '../../lib/checkpoint/keys.js';
import { pathKey } from '../../lib/checkpoint/journal.js';
import { KeySet } from '../../lib/checkpoint/keyset.js';

const items = [
  { rel: 'a.pdf', size: 0, mtime_ms: 0 },
  { rel: 'papers/2024/report.pdf', size: 123_456, mtime_ms: 1_700_000_000_123 },
  { rel: 'café/ünïcödé 文書.pdf', size: 5 * 2 ** 30, mtime_ms: 1_600_000_000_987 },
  { rel: 'x'.repeat(4000), size: 1, mtime_ms: 1 },
];

t.test('metaKey is sha256 of rel, size and mtime, the first 16 bytes in hex, as stored in every checkpoint', async (t) => {
  for (const it of items) {
    const want = createHash('sha256').update(`${it.rel}\0${it.size}\0${it.mtime_ms}`, 'utf8').digest('hex').slice(0, 32);
    t.equal(metaKey(it), want, it.rel.slice(0, 40));
  }
  t.equal(metaKey({ rel: 'a.pdf', size: 0, mtime_ms: 0 }), createHash('sha256').update('a.pdf\u00000\u00000').digest('hex').slice(0, 32));
});

t.test('metaWords gives the same key as four big-endian words, for every byte value of the digest', async (t) => {
  let bytes = 0;
  for (let i = 0; i < 5000; i++) {
    const it = { rel: `d${i % 7}/f-${i}.pdf`, size: i * 31, mtime_ms: 1_700_000_000_000 + i };
    const digest = createHash('sha256').update(`${it.rel}\0${it.size}\0${it.mtime_ms}`).digest();
    const w = metaWords(it);
    if (w[0] !== digest.readUInt32BE(0) || w[1] !== digest.readUInt32BE(4) || w[2] !== digest.readUInt32BE(8) || w[3] !== digest.readUInt32BE(12)) t.fail(`words of ${it.rel}`);
    if (keyOfWords(w) !== metaKey(it)) t.fail(`key of ${it.rel}`);
    bytes |= 1 << (digest[0]! >> 5); // high bytes (>= 0x80) included
  }
  t.equal(bytes, 0xff, 'digests starting with every range of byte values were compared');
});

t.test('the key of a path (for vanished inputs) is 32 lowercase hex digits for every path, so the key table can hold it', async (t) => {
  let bad = 0;
  const keys = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const k = pathKey(`docs/${i}/file-${i * 7}.pdf`);
    if (!KeySet.isKey(k)) bad++;
    keys.add(k);
  }
  t.equal(bad, 0, 'no key with a minus sign or the wrong length');
  t.equal(keys.size, 5000, 'distinct paths, distinct keys');
});
