// The spec of `noop` (no options): what `sluice stages` and `sluice schema` list. Loaded in the
// main thread only; noop.ts is what a worker loads.
import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'noop',
  description: 'Does nothing and returns {}: measures the pipeline\'s own overhead.',
  options: z.strictObject({}),
};
