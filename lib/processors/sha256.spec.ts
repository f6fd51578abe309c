// The spec of `sha256` (no options): what `sluice stages` and `sluice schema` list. Loaded in the
// main thread only; sha256.ts is what a worker loads.
import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'sha256',
  description: 'SHA-256 of the file\'s bytes, streamed (any size, constant memory).',
  options: z.strictObject({}),
};
