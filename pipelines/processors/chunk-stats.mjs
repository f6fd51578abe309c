// One chunk (from the chunk stage before: item.input) in, its words counted and its text hashed.
import { createHash } from 'node:crypto';

export default async function chunkStats(item) {
  const { text, index, start, end, pages } = item.input;
  const words = text.split(/\s+/u).filter(Boolean).length;
  return { index, start, end, pages, words, sha256: createHash('sha256').update(text).digest('hex') };
}
