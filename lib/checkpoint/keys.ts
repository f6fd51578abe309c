import { createHash, hash } from 'node:crypto';
import type { Item } from '../core/item.js';
import { inputChunks } from '../core/input.js';
import { SluiceError } from '../core/errors.js';

export type KeyMode = 'path+size+mtime' | 'content';

/** Default key: the path below its root, size and mtime. Moving the whole root keeps keys stable. */
export function metaKey(item: Pick<Item, 'rel' | 'size' | 'mtime_ms'>): string {
  return hash('sha256', metaInput(item), 'hex').slice(0, 32);
}

/**
 * The key metaKey gives, as four 32-bit words (big-endian: the first 16 bytes of the digest), in
 * one reused array (copy it to keep it): a resume looks a million keys up by these. The digest is
 * asked for as a "binary" (latin1) string, a byte per character: a `Buffer` per hash (an ArrayBuffer, freed
 * by a finalizer) made hashing three times as slow (1.57 s against 0.55 s for a million keys).
 */
export function metaWords(item: Pick<Item, 'rel' | 'size' | 'mtime_ms'>): Uint32Array {
  // one-shot hash: a resume computes a million of these, and createHash() costs twice as much
  const d = hash('sha256', metaInput(item), 'binary');
  META_WORDS[0] = word(d, 0);
  META_WORDS[1] = word(d, 4);
  META_WORDS[2] = word(d, 8);
  META_WORDS[3] = word(d, 12);
  return META_WORDS;
}

/** The key of four words as metaWords gives them: what metaKey gives. */
export function keyOfWords(w: ArrayLike<number>): string {
  return hex8(w[0]!) + hex8(w[1]!) + hex8(w[2]!) + hex8(w[3]!);
}

const META_WORDS = new Uint32Array(4);
const metaInput = (item: Pick<Item, 'rel' | 'size' | 'mtime_ms'>) => `${item.rel}\0${item.size}\0${item.mtime_ms}`;
const word = (d: string, at: number) => (d.charCodeAt(at) << 24) | (d.charCodeAt(at + 1) << 16) | (d.charCodeAt(at + 2) << 8) | d.charCodeAt(at + 3);
const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/** Content key: sha256 of the bytes, so a renamed or moved file is still recognised as done. */
export async function contentKey(item: Pick<Item, 'file' | 'path' | 'follow'>): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of inputChunks(item)) h.update(chunk);
  // same 128-bit shape as metaKey; the key mode is part of the config hash, so the two never mix
  return h.digest('hex').slice(0, 32);
}

/**
 * contentKey within `timeoutMs`: a read that hangs (a dead network mount) fails with
 * SLUICE_E_TIMEOUT instead of holding up every item behind it. The read itself cannot be
 * cancelled; it is left to finish or not.
 */
export function contentKeyWithin(item: Pick<Item, 'file' | 'path' | 'follow'>, timeoutMs: number, hash = contentKey): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new SluiceError('SLUICE_E_TIMEOUT', `hashing its content for dedupe took longer than ${timeoutMs} ms (a read that does not return); not read again this run`, { item: item.path }));
    }, timeoutMs);
    hash(item).then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
