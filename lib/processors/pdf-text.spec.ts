// The options of `pdf-text` (its spec: what `sluice run` checks before anything runs, `sluice
// stages` and `sluice schema` list). Loaded in the main thread only: a worker receives options
// this spec has parsed, and pdf-text.ts reads them as they come.
import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';
import { MAX_PAGES_DEFAULT, PDF_FILES, PDFTOTEXT, readPassword } from './pdf.js';
import { findProgram } from './exec-template.js';
import { pdfiumAvailable } from './pdfium.js';

/** The text engines, in the order `sluice stages` lists them. */
export const ENGINES = ['pdfjs', 'pdfium', 'pdftotext'] as const;

export const options = z.strictObject({
  max_pages: z.number().int().min(1).default(MAX_PAGES_DEFAULT)
    .describe('a PDF with more pages fails with SLUICE_E_PDF_TOO_LARGE before any text is extracted'),
  max_chars: z.number().int().min(1).default(50_000_000)
    .describe('output size cap: a PDF whose text passes this many characters fails with SLUICE_E_PDF_TOO_LARGE (a text bomb never fills the worker)'),
  password_file: z.string().min(1).optional()
    .describe('a file whose first line is the password of encrypted PDFs (relative to the current directory); the password itself is never in the pipeline, the events, the journal or the report. PDFs it does not open fail with SLUICE_E_PDF_ENCRYPTED. Engines pdfjs and pdfium'),
  max_heap_mb: z.number().int().min(64).max(2048).default(1024)
    .describe('engine pdfium: the most memory its WebAssembly heap may take in each worker; a PDF that needs more fails with SLUICE_E_WORKER_OOM (the whole document is held in this heap too)'),
  engine: z.enum(ENGINES).default('pdfium')
    .describe('pdfium (the default): Google\'s PDFium compiled to WebAssembly, inside the worker (one instance per worker), about 3x faster than the others; pdfjs: pdfjs-dist inside the worker; pdftotext: poppler\'s pdftotext (apt-get install poppler-utils), a child process per PDF in a process group of its own, killed at the item\'s timeout. Same result fields from each; a pdftotext that is not on PATH is an error when the run starts'),
});

/** The checks that need the machine: the engine's program exists, the password file can be read. */
const checked = options.superRefine((o, ctx) => {
  if (o.password_file !== undefined) {
    if (o.engine === 'pdftotext') {
      ctx.addIssue({ code: 'custom', path: ['password_file'], input: o.password_file, message: 'pdftotext takes a password only on its command line, where every user of the machine can read it: use engine pdfjs or pdfium for encrypted PDFs' });
    } else {
      try {
        readPassword(o.password_file);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['password_file'], input: o.password_file, message: `cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      }
    }
  }
  if (o.engine === 'pdftotext' && !findProgram(PDFTOTEXT)) {
    ctx.addIssue({ code: 'custom', path: ['engine'], input: o.engine, message: 'pdftotext not found on PATH (it comes with poppler-utils: apt-get install poppler-utils)' });
  }
});

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'pdf-text',
  description: 'Text of every page, pages joined by a form feed, by one of three engines (`engine`): pdfjs-dist or PDFium inside the workers, or poppler\'s pdftotext as a child process. A page that draws text but gives no letter or digit (fonts it could not decode, not a scan) is counted in pages_text_lost (checked on the first 8 such pages). Spaces and line breaks come from where the text is drawn (a value drawn after its label is not glued to it; a word drawn twice for a bold look is read once), and fonts that are not embedded are read through the predefined CMaps (Chinese, Japanese, Korean). With an output dir the text goes to <out>/<rel>.txt and the result carries text_path; without one, the result carries the text.',
  options: checked,
  accepts: PDF_FILES,
  here: () => {
    const found = findProgram(PDFTOTEXT);
    const inProcess = pdfiumAvailable() ? 'pdfjs, pdfium' : 'pdfjs (pdfium\'s WebAssembly file is missing)';
    return found ? `engines ${inProcess} and pdftotext (${found})` : `engines ${inProcess}; pdftotext is not on PATH (apt-get install poppler-utils)`;
  },
};

export type PdfTextOptions = z.output<typeof options>;
