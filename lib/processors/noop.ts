import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'noop',
  description: 'Does nothing and returns {}: measures the pipeline\'s own overhead.',
  options: z.strictObject({}),
};

export default async function noop(): Promise<Record<string, never>> {
  return {};
}
