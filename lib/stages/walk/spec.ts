// The walk source's options and description, apart from the walk itself: the walker thread
// imports walk.ts and should not pay for zod.
import { z } from '../../core/zod.js';
import type { ComponentSpec } from '../../core/spec.js';

export const walkOptions = z.strictObject({
  roots: z.array(z.string().min(1)).min(1).describe('files or directories to walk; relative paths are relative to the pipeline file'),
  include: z.array(z.string().min(1)).default(['**/*']).describe('globs a file path (relative to its root) must match'),
  exclude: z.array(z.string().min(1)).default([]).describe('globs that skip a file, or a whole directory when they match it'),
  follow_symlinks: z.union([z.boolean(), z.literal('inside')]).default(false)
    .describe('false: symbolic links are not followed; "inside": followed only when the file or folder they lead to is under one of the roots (its real path), others are left out with a warning; true: followed wherever they lead, so a link in the tree can make sluice read any file you can read. Loops are detected and skipped'),
});
export type WalkOptions = z.output<typeof walkOptions>;

export const spec: ComponentSpec = {
  kind: 'source',
  name: 'walk',
  description: 'Walk directory trees lazily, one directory at a time, in a stable order (files of a directory sorted by name, then its subdirectories).',
  options: walkOptions,
};

