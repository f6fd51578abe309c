// The spec of `pdf-info` (no options): what `sluice stages` and `sluice schema` list. Loaded in the
// main thread only; pdf-info.ts is what a worker loads.
import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';
import { PDF_FILES } from './pdf.js';

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'pdf-info',
  description: 'Page count, PDF version, title/author/subject/creator/producer, creation and modification dates, and whether it is encrypted. A PDF that needs a password is not a failure here: it gives {encrypted: true, needs_password: true}.',
  options: z.strictObject({}),
  accepts: PDF_FILES,
};
