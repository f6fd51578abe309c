import { createHash, hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Item } from '../core/item.js';

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
export async function contentKey(item: Pick<Item, 'file'>): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(item.file as string)) h.update(chunk as Buffer);
  // same 128-bit shape as metaKey; the key mode is part of the config hash, so the two never mix
  return h.digest('hex').slice(0, 32);
}
