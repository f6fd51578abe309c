// Shared pdfjs-dist loading for the PDF processors. pdfjs-dist is pinned at exactly 5.4.530:
// later 5.x are in GHSA-hq66-cqwq-w95j and 5.7+/6.x need Node >= 22.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SluiceError } from '../core/errors.js';
import type { FileHandle } from 'node:fs/promises';
import { openInput, readAt, readRest, type InputRef } from '../core/input.js';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjs: Promise<PdfJs> | undefined;
const require = createRequire(import.meta.url);
const PDFJS_DIR = path.dirname(require.resolve('pdfjs-dist/package.json'));
/** pdfjs' data files, as directory paths ending in "/": the 14 standard fonts, and the predefined CMaps (CJK fonts that are not embedded need them, or their text comes out empty) */
const STANDARD_FONTS = path.join(PDFJS_DIR, 'standard_fonts') + '/';
const CMAPS = path.join(PDFJS_DIR, 'cmaps') + '/';

/** What the PDF processors read: a run from flags alone walks only these (any case of .pdf) unless --include says otherwise. */
export const PDF_FILES = ['**/*.[pP][dD][fF]'];

/** poppler's text program (pdf-text's engine pdftotext). */
export const PDFTOTEXT = 'pdftotext';

/** The first line of a password file, read once per thread (pdf-text's password_file). */
const passwords = new Map<string, string>();
export function readPassword(file: string): string {
  let p = passwords.get(file);
  if (p === undefined) {
    p = fs.readFileSync(path.resolve(file), 'utf8').split(/\r?\n/)[0]!;
    passwords.set(file, p);
  }
  return p;
}

export function loadPdfJs(): Promise<PdfJs> {
  pdfjs ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjs;
}

const HEADER = Buffer.from('%PDF-');

/**
 * Open an input and check it can be a PDF before an engine sees it: cheap, and a clearer reason.
 * The header is checked on the first KB (a 2 GB file that is not a PDF costs one small read).
 * The caller closes the handle.
 */
export async function openPdfInput(item: InputRef): Promise<{ fh: FileHandle; size: number; got: number }> {
  const { fh, size } = await openInput(item);
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const got = await readAt(fh, item, head, HEAD_BYTES, 0);
    if (got === 0) throw new SluiceError('SLUICE_E_PDF_EMPTY', 'empty file (0 bytes)', { item: item.path });
    if (head.subarray(0, got).indexOf(HEADER) === -1) {
      const text = head.subarray(0, Math.min(got, 256)).toString('latin1').toLowerCase();
      const looks = /<(!doctype html|html|head|body)/.test(text) ? ' (looks like HTML)' : '';
      throw new SluiceError('SLUICE_E_PDF_INVALID', `not a PDF: no %PDF- header in the first ${HEAD_BYTES} bytes${looks}`, { item: item.path });
    }
    return { fh, size, got };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/** The whole input, checked as openPdfInput does, in one buffer (for pdfjs, which detaches it). */
export async function readPdfBytes(item: InputRef): Promise<Uint8Array> {
  const { fh, size, got } = await openPdfInput(item);
  try {
    return await readRest(fh, item, Math.max(size, got));
  } finally {
    await fh.close().catch(() => {});
  }
}

const HEAD_BYTES = 1024;

/** Open a PDF with pdfjs; `password` opens an encrypted one (never part of any message). */
export async function openPdf(data: Uint8Array, shown: string, password?: string) {
  const { getDocument } = await loadPdfJs();
  const task = getDocument({
    data,
    ...(password !== undefined ? { password } : {}),
    isEvalSupported: false,
    verbosity: 0,
    standardFontDataUrl: STANDARD_FONTS,
    cMapUrl: CMAPS,
    cMapPacked: true,
    useSystemFonts: false,
    disableFontFace: true,
    stopAtErrors: false,
  });
  let doc;
  try {
    doc = await task.promise;
  } catch (err) {
    await task.destroy().catch(() => {});
    throw classifyPdfError(err, shown);
  }
  // pdfjs takes the page count from the page tree as written: a negative one would read as a document with no pages
  if (!Number.isInteger(doc.numPages) || doc.numPages < 0) {
    await task.destroy().catch(() => {});
    throw new SluiceError('SLUICE_E_PDF_INVALID', `damaged: the page tree gives a page count of ${doc.numPages}`, { item: shown });
  }
  return doc;
}

export function classifyPdfError(err: unknown, shown: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const e = err as { name?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (e?.name === 'PasswordException') {
    // pdfjs' code 2: a password was given and it is not this document's
    const why = (e as { code?: number }).code === 2 ? 'encrypted: the password given did not open it' : `encrypted: a password is needed to open it (${msg})`;
    return new SluiceError('SLUICE_E_PDF_ENCRYPTED', why, { item: shown, cause: err });
  }
  if (e?.name === 'InvalidPDFException') return new SluiceError('SLUICE_E_PDF_INVALID', `damaged or not a PDF: ${msg}`, { item: shown, cause: err });
  return new SluiceError('SLUICE_E_PDF_PARSE', `pdfjs could not read it: ${e?.name ? e.name + ': ' : ''}${msg}`, { item: shown, cause: err });
}

/** Set while a document pdfjs has finished with is settling (see `closePdf`). */
let settling = false;

/**
 * Destroy a pdfjs document, then give the loop one turn: objects pdfjs was still loading for it
 * reject then (a damaged xref entry or object stream), while its item is still the one running,
 * and not at the start of the worker's next item, which would be blamed for them.
 */
export async function closePdf(doc: { destroy(): Promise<void> }): Promise<void> {
  await doc.destroy().catch(() => {});
  settling = true;
  try {
    await new Promise<void>((resolve) => setImmediate(resolve));
  } finally {
    settling = false;
  }
}

/**
 * A promise pdfjs rejected while reading an item, and awaited by nobody: while its document is
 * settling after the work is done (closePdf), left-over loading that nothing needed (null: the
 * item keeps its result); before, the PDF's fault, coded as if thrown. The PDF processors export
 * it as `classifyStray` for the worker runtime.
 */
export function classifyStray(reason: unknown, item: InputRef): SluiceError | null {
  if (settling) return null;
  return classifyPdfError(reason, item.path);
}

export const MAX_PAGES_DEFAULT = 5000;
