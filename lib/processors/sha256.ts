import { createHash } from 'node:crypto';
import { inputChunks } from '../core/input.js';
import type { ProcessorItem } from '../core/processor.js';


export default async function sha256(item: ProcessorItem): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of inputChunks(item)) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: h.digest('hex'), bytes };
}
