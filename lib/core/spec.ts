import type { z } from 'zod';

/**
 * What every source, stage, processor and top-level key of a pipeline file (output, checkpoint,
 * report) declares: its schema drives validation, `sluice stages`, `sluice schema` and the docs.
 */
export interface ComponentSpec {
  kind: 'source' | 'stage' | 'processor' | 'key';
  name: string;
  description: string;
  options: z.ZodType;
  /** processors: the files it reads, as walk globs: a run from flags alone walks only these unless --include says otherwise */
  accepts?: string[];
  /** processors: every item fans out into child items (ctx.emit); an item with none ends at this stage (its result says children: 0) */
  fanOut?: boolean;
  /** what this machine has of what it can use (`sluice stages` and its --json say; never the reference, which is the same everywhere) */
  here?: () => string;
}
