import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import type { ComponentSpec } from '../core/spec.js';
import type { TaskMessage } from '../worker/protocol.js';

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'sha256',
  description: 'SHA-256 of the file\'s bytes, streamed (any size, constant memory).',
  options: z.strictObject({}),
};

export default async function sha256(item: TaskMessage['item']): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(item.file as string, { highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}
