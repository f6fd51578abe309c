import { z } from '../core/zod.js';
import { SluiceError } from '../core/errors.js';
import type { ComponentSpec } from '../core/spec.js';
import type { ProcessorContext } from '../worker/context.js';
import type { TaskMessage } from '../worker/protocol.js';
import { pageText } from './pdf-layout.js';
import { classifyPdfError, MAX_PAGES_DEFAULT, openPdf, PDF_FILES, readPdfBytes } from './pdf.js';

export const options = z.strictObject({
  max_pages: z.number().int().min(1).default(MAX_PAGES_DEFAULT)
    .describe('a PDF with more pages fails with SLUICE_E_PDF_TOO_LARGE before any text is extracted'),
  max_chars: z.number().int().min(1).default(50_000_000)
    .describe('output size cap: a PDF whose text passes this many characters fails with SLUICE_E_PDF_TOO_LARGE (a text bomb never fills the worker)'),
});

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'pdf-text',
  description: 'Text of every page (pdfjs-dist), pages joined by a form feed. Spaces and line breaks come from where the text is drawn (a value drawn after its label is not glued to it; a word drawn twice for a bold look is read once), and fonts that are not embedded are read through the predefined CMaps (Chinese, Japanese, Korean). With an output dir the text goes to <out>/<rel>.txt and the result carries text_path; without one, the result carries the text.',
  options,
  accepts: PDF_FILES,
};

export default async function pdfText(item: TaskMessage['item'], ctx: ProcessorContext) {
  const opts = options.parse(ctx.options);
  const doc = await openPdf(await readPdfBytes(item), item.path);
  let text: string;
  const out: Record<string, unknown> = { pages: doc.numPages };
  try {
    if (doc.numPages > opts.max_pages) {
      throw new SluiceError('SLUICE_E_PDF_TOO_LARGE', `${doc.numPages} pages, more than max_pages ${opts.max_pages}`, { item: item.path });
    }
    const pages: string[] = [];
    let emptyPages = 0;
    let chars = 0;
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      const text = pageText(content.items);
      if (!text.trim()) emptyPages++;
      chars += text.length + 1;
      if (chars > opts.max_chars) {
        throw new SluiceError('SLUICE_E_PDF_TOO_LARGE', `text passed max_chars ${opts.max_chars} at page ${n} of ${doc.numPages}`, { item: item.path });
      }
      pages.push(text);
      page.cleanup();
    }
    text = pages.join('\f');
    out.chars = text.length;
    if (emptyPages) out.pages_without_text = emptyPages;
  } catch (err) {
    throw classifyPdfError(err, item.path);
  } finally {
    await doc.destroy().catch(() => {});
  }
  // outside the block above: an error writing the text is about the output, not the PDF
  // (writeOutput says what it is: a full disk stops the run, a bad name fails the item)
  if (ctx.hasOutputDir) out.text_path = await ctx.writeOutput(item.rel + '.txt', text);
  else out.text = text;
  return out;
}
