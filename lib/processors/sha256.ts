import { createHash } from 'node:crypto';
import { inputChunks } from '../core/input.js';
import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';
import type { ProcessorItem } from '../core/processor.js';

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'sha256',
  description: 'SHA-256 of the file\'s bytes, streamed (any size, constant memory).',
  options: z.strictObject({}),
};

export default async function sha256(item: ProcessorItem): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of inputChunks(item)) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: h.digest('hex'), bytes };
}
