import { createHash, hash } from 'node:crypto';
import type { Item } from '../core/item.js';
import { inputChunks } from '../core/input.js';
import { SluiceError } from '../core/errors.js';

export type KeyMode = 'path+size+mtime' | 'content';

/** Default key: the path below its root, size and mtime. Moving the whole root keeps keys stable. */
export function metaKey(item: Pick<Item, 'rel' | 'size' | 'mtime_ms'>): string {
  return metaDigest(item).toString('hex', 0, 16);
}

/** The digest metaKey is the first 16 bytes of, in hex; a resume looks keys up by it, no strings. */
export function metaDigest(item: Pick<Item, 'rel' | 'size' | 'mtime_ms'>): Buffer {
  // one-shot hash: a resume computes a million of these, and createHash() costs twice as much
  return hash('sha256', `${item.rel}\0${item.size}\0${item.mtime_ms}`, 'buffer') as unknown as Buffer;
}

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
