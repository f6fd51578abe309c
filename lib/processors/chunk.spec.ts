// The options of `chunk` (its spec: what `sluice run` checks before anything runs, `sluice
// stages` and `sluice schema` list). Loaded in the main thread only: a worker receives options
// this spec has parsed, and chunk.ts reads them as they come.
import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';
import { BUILTIN_LOADERS } from './builtins.js';

const DEFAULT_OVERLAP = 100;

export const options = z.strictObject({
  size: z.number().int().min(1).default(1000)
    .describe('target length of a chunk in characters, counted as UTF-16 code units (JavaScript\'s string length: an emoji counts 2 or more). A chunk is never longer, except one that holds a single grapheme cluster longer than size (a cluster is never cut). It ends at the last paragraph break (blank line or form feed) in its last 30%, else the last sentence end there, else the last word boundary there, else the last grapheme boundary before size'),
  overlap: z.number().int().min(0).default(DEFAULT_OVERLAP)
    .describe('characters a chunk repeats from the end of the one before it, at most: the next chunk starts this many characters before the previous one ended, moved forward to the start of a word (else to a grapheme boundary). Must be less than size; 0 for none'),
  max_chars: z.number().int().min(1).default(50_000_000)
    .describe('the most text one item may have, in characters: more fails the item with SLUICE_E_TOO_LARGE, found while reading (a text bomb never fills the worker)'),
});

const checked = options.superRefine((o, ctx) => {
  if (o.overlap >= o.size) {
    ctx.addIssue({ code: 'custom', path: ['overlap'], input: o.overlap, message: `overlap (${o.overlap}${o.overlap === DEFAULT_OVERLAP ? ', its default' : ''}) must be less than size (${o.size}): each chunk has to bring new text; set overlap lower` });
  }
});

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'chunk',
  fanOut: BUILTIN_LOADERS.chunk.fanOut,
  description: 'Splits text into chunks of about `size` characters that overlap by up to `overlap`, cut at a paragraph, else a sentence, else a word, else a grapheme boundary, and hands each chunk to the next stage as a child item (fan-out): `{index, text, start, end, pages}` (start and end are offsets in the whole text, end exclusive; `pages`, the 1-based pages the chunk covers, when the text has form feeds or comes from a PDF stage; a form feed is a newline in the chunk\'s text). The text is the previous stage\'s `text` (pdf-text without an output dir), else the file at its `text_path` (with one), else the file itself read as UTF-8. Its result is `{chunks, chars}`. As the last stage (or alone), each chunk is a result line of its own (`parent`, `index`).',
  options: checked,
};

export type ChunkOptions = z.output<typeof options>;
