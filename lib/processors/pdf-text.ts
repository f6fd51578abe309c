import { SluiceError, type ErrorCode } from '../core/errors.js';
import type { ProcessorContext, ProcessorItem } from '../core/processor.js';
import { pageText } from './pdf-layout.js';
import { classifyPdfError, closePdf, loadPdfJs, openPdf, openPdfInput, PDFTOTEXT, readPassword, readPdfBytes } from './pdf.js';
import { findProgram } from './exec-template.js';
import { pdfiumPages, warmPdfium } from './pdfium.js';
import { runCommand, stoppedError } from '../core/command.js';
import type { PdfTextOptions as Options } from './pdf-text.spec.js';

/**
 * Make the run's engine ready while a worker boots, so that the first PDF does not wait for it:
 * pdfjs' modules, or a PDFium instance (its WebAssembly compiled). Never throws: an engine that
 * cannot start is reported by the first item.
 */
export async function prepare(raw: Record<string, unknown> = {}): Promise<void> {
  // the run's options, as the spec parsed them (pdf-text.spec.ts); nothing to warm without an engine
  const o = raw as Partial<Options>;
  try {
    if (o.engine === 'pdfjs') await loadPdfJs();
    else if (o.engine === 'pdfium' && o.max_heap_mb) await warmPdfium(o.max_heap_mb * 2 ** 20);
  } catch {
    // the first item says what it is
  }
}

/** pdfjs' stray rejections are the PDF's parse failures (see pdf.ts). */
export { classifyStray } from './pdf.js';

export default async function pdfText(item: ProcessorItem, ctx: ProcessorContext) {
  // parsed by the spec (pdf-text.spec.ts) before they reach a worker: defaults filled in, checked
  const opts = ctx.options as Options;
  const { text, out } = opts.engine === 'pdftotext' ? await viaPdftotext(item, ctx, opts)
    : opts.engine === 'pdfium' ? await viaPdfium(item, ctx, opts) : await viaPdfjs(item, opts);
  // outside the engines' error handling: an error writing the text is about the output, not the PDF
  // (writeOutput says what it is: a full disk stops the run, a bad name fails the item)
  if (ctx.hasOutputDir) out.text_path = await ctx.writeOutput(item.rel + '.txt', text);
  else out.text = text;
  return out;
}

interface Extracted { text: string; out: Record<string, unknown> }

/**
 * Fields every engine's result has, from the text of each page; `lost`: pages that draw text the
 * engine could not decode (pdfjs, pdfium). A form feed separates pages, so one inside a page's text
 * (a glyph whose font maps it to U+000C) becomes a space: splitting the text on form feeds always
 * gives the pages.
 */
function extracted(pages: string[], numPages: number, lost = 0): Extracted {
  const text = pages.map((p) => p.replace(/\f/g, ' ')).join('\f');
  const out: Record<string, unknown> = { pages: numPages, chars: text.length };
  const empty = pages.filter((p) => !p.trim()).length;
  if (empty) out.pages_without_text = empty;
  if (lost) out.pages_text_lost = lost;
  return { text, out };
}

/**
 * Pages without a letter or digit that are checked for text drawing operators (a scanned page has none; a
 * page whose fonts pdfjs could not decode has some): the check builds the page's operator list,
 * which costs about as much as rendering it, so a document of scans pays it this many times at most.
 */
const TEXT_LOST_CHECKS = 8;

/** Does the page draw text (Tj, TJ, ', ")? */
async function drawsText(page: { getOperatorList(): Promise<{ fnArray: number[] }> }): Promise<boolean> {
  const { OPS } = await loadPdfJs();
  const shows = new Set<number>([OPS.showText, OPS.showSpacedText, OPS.nextLineShowText, OPS.nextLineSetSpacingShowText]);
  return (await page.getOperatorList()).fnArray.some((op) => shows.has(op));
}

async function viaPdfium(item: ProcessorItem, ctx: ProcessorContext, opts: Options): Promise<Extracted> {
  const password = opts.password_file === undefined ? undefined : readPassword(opts.password_file);
  const { pages, numPages, lost } = await pdfiumPages(await readPdfBytes(item), item.path, {
    maxHeap: opts.max_heap_mb * 2 ** 20, maxPages: opts.max_pages, maxChars: opts.max_chars,
    ...(password !== undefined ? { password } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  return extracted(pages, numPages, lost);
}

async function viaPdfjs(item: ProcessorItem, opts: Options): Promise<Extracted> {
  const password = opts.password_file === undefined ? undefined : readPassword(opts.password_file);
  const doc = await openPdf(await readPdfBytes(item), item.path, password);
  try {
    if (doc.numPages > opts.max_pages) {
      throw new SluiceError('SLUICE_E_PDF_TOO_LARGE', `${doc.numPages} pages, more than max_pages ${opts.max_pages}`, { item: item.path });
    }
    const pages: string[] = [];
    let chars = 0;
    let checked = 0;
    let lost = 0;
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      const text = pageText(content.items);
      chars += text.length + 1;
      if (chars > opts.max_chars) {
        throw new SluiceError('SLUICE_E_PDF_TOO_LARGE', `text passed max_chars ${opts.max_chars} at page ${n} of ${doc.numPages}`, { item: item.path });
      }
      // no letter and no digit: nothing, or codes pdfjs could not map to characters
      if (!/[\p{L}\p{N}]/u.test(text) && checked < TEXT_LOST_CHECKS) {
        checked++;
        if (await drawsText(page)) lost++;
      }
      pages.push(text);
      page.cleanup();
    }
    return extracted(pages, doc.numPages, lost);
  } catch (err) {
    throw classifyPdfError(err, item.path);
  } finally {
    await closePdf(doc);
  }
}

/** poppler's program, looked up on PATH once per worker. */
let pdftotextPath: string | null | undefined;

/**
 * pdftotext reads the input through the descriptor sluice opened and checked (as /dev/fd/3),
 * never by its name again; it stops after max_pages + 1 pages, and its stdout is capped at what
 * max_chars can take. Its exit status and stderr give the code: 1 could not open it (a password,
 * or not readable as a PDF), 3 its permissions forbid copying text, anything else a parse failure.
 */
async function viaPdftotext(item: ProcessorItem, ctx: ProcessorContext, opts: Options): Promise<Extracted> {
  pdftotextPath ??= findProgram(PDFTOTEXT);
  if (!pdftotextPath) throw new SluiceError('SLUICE_E_CONFIG', 'pdftotext not found on PATH (apt-get install poppler-utils)');
  const { fh } = await openPdfInput(item);
  let run;
  try {
    run = await runCommand(pdftotextPath, ['-enc', 'UTF-8', '-l', String(opts.max_pages + 1), '/dev/fd/3', '-'], {
      argv0: PDFTOTEXT, ...(ctx.signal ? { signal: ctx.signal } : {}), extraFds: [fh.fd],
      // at most 4 bytes a character in UTF-8, and a form feed a page
      maxStdout: opts.max_chars * 4 + opts.max_pages + 1, overflow: 'kill',
    });
  } finally {
    await fh.close().catch(() => {});
  }
  const err = run.stderrTail.replace(/\s*\n\s*/g, '; ');
  const fail = (code: ErrorCode, msg: string) => new SluiceError(code, `${msg}${err ? ` (pdftotext: ${err})` : ''}`, { item: item.path });
  if (run.startError) throw fail('SLUICE_E_EXEC_START', `pdftotext could not start: ${run.startError.code ?? run.startError.message}`);
  if (run.stopped !== undefined) {
    throw stoppedError(run.stopped, PDFTOTEXT, '', item.path);
  }
  if (run.overflow) throw fail('SLUICE_E_PDF_TOO_LARGE', `text passed max_chars ${opts.max_chars}`);
  if (run.sig) throw fail('SLUICE_E_PDF_PARSE', `pdftotext was killed by ${run.sig}`);
  if (run.code === 1) {
    if (/incorrect password/i.test(err)) throw fail('SLUICE_E_PDF_ENCRYPTED', 'encrypted: a password is needed to open it');
    throw fail('SLUICE_E_PDF_INVALID', 'damaged or not a PDF: pdftotext could not open it');
  }
  if (run.code === 3) throw fail('SLUICE_E_PDF_ENCRYPTED', 'encrypted: its permissions forbid copying its text');
  if (run.code !== 0) throw fail('SLUICE_E_PDF_PARSE', `pdftotext could not read it (exit status ${run.code})`);
  // every page ends with a form feed
  const pages = run.stdout.toString('utf8').split('\f');
  pages.pop();
  if (pages.length > opts.max_pages) throw fail('SLUICE_E_PDF_TOO_LARGE', `more than max_pages ${opts.max_pages} pages`);
  if (pages.length === 0) throw fail('SLUICE_E_PDF_PARSE', 'pdftotext found no page in it');
  const text = pages.map((p) => p.replace(/\n+$/, ''));
  const chars = text.reduce((n, p) => n + p.length + 1, 0);
  if (chars > opts.max_chars) throw fail('SLUICE_E_PDF_TOO_LARGE', `text passed max_chars ${opts.max_chars}`);
  return extracted(text, pages.length);
}
