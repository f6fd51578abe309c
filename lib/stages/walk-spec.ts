// The walk source's options and description, apart from the walk itself: the walker thread
// imports walk.ts and should not pay for zod.
import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';

export const walkOptions = z.strictObject({
  roots: z.array(z.string().min(1)).min(1).describe('files or directories to walk; relative paths are relative to the pipeline file'),
  include: z.array(z.string().min(1)).default(['**/*']).describe('globs a file path (relative to its root) must match'),
  exclude: z.array(z.string().min(1)).default([]).describe('globs that skip a file, or a whole directory when they match it'),
  follow_symlinks: z.boolean().default(false).describe('follow symbolic links (loops are detected and skipped)'),
});
export type WalkOptions = z.output<typeof walkOptions>;

export const spec: ComponentSpec = {
  kind: 'source',
  name: 'walk',
  description: 'Walk directory trees lazily, one directory at a time, in a stable order (files of a directory sorted by name, then its subdirectories).',
  options: walkOptions,
};

