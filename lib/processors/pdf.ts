// Shared pdfjs-dist loading for the PDF processors. pdfjs-dist is pinned at exactly 5.4.530:
// later 5.x are in GHSA-hq66-cqwq-w95j and 5.7+/6.x need Node >= 22.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SluiceError } from '../core/errors.js';

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
let pdfjs: Promise<PdfJs> | undefined;
const require = createRequire(import.meta.url);
const STANDARD_FONTS = path.join(path.dirname(require.resolve('pdfjs-dist/package.json')), 'standard_fonts') + '/';

/** What the PDF processors read: a run from flags alone walks only these (any case of .pdf) unless --include says otherwise. */
export const PDF_FILES = ['**/*.[pP][dD][fF]'];

export function loadPdfJs(): Promise<PdfJs> {
  pdfjs ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjs;
}

const HEADER = Buffer.from('%PDF-');

/** Read a file and check it can be a PDF before pdfjs sees it: cheap, and a clearer reason. */
export async function readPdfBytes(file: string | Uint8Array, shown: string): Promise<Uint8Array> {
  const buf = await fsp.readFile(file as string);
  if (buf.length === 0) throw new SluiceError('SLUICE_E_PDF_EMPTY', 'empty file (0 bytes)', { item: shown });
  const head = buf.subarray(0, 1024);
  if (head.indexOf(HEADER) === -1) {
    const text = head.subarray(0, 256).toString('latin1').toLowerCase();
    const looks = /<(!doctype html|html|head|body)/.test(text) ? ' (looks like HTML)' : '';
    throw new SluiceError('SLUICE_E_PDF_INVALID', `not a PDF: no %PDF- header in the first 1024 bytes${looks}`, { item: shown });
  }
  // pdfjs transfers (detaches) the buffer it is given: hand it one that owns its memory
  return buf.byteOffset === 0 && buf.buffer.byteLength === buf.length ? new Uint8Array(buf.buffer) : new Uint8Array(buf);
}

export async function openPdf(data: Uint8Array, shown: string) {
  const { getDocument } = await loadPdfJs();
  const task = getDocument({
    data,
    isEvalSupported: false,
    verbosity: 0,
    standardFontDataUrl: STANDARD_FONTS,
    useSystemFonts: false,
    disableFontFace: true,
    stopAtErrors: false,
  });
  try {
    return await task.promise;
  } catch (err) {
    await task.destroy().catch(() => {});
    throw classifyPdfError(err, shown);
  }
}

export function classifyPdfError(err: unknown, shown: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const e = err as { name?: string; message?: string };
  const msg = e?.message ?? String(err);
  if (e?.name === 'PasswordException') return new SluiceError('SLUICE_E_PDF_ENCRYPTED', `encrypted: a password is needed to open it (${msg})`, { item: shown, cause: err });
  if (e?.name === 'InvalidPDFException') return new SluiceError('SLUICE_E_PDF_INVALID', `damaged or not a PDF: ${msg}`, { item: shown, cause: err });
  return new SluiceError('SLUICE_E_PDF_PARSE', `pdfjs could not read it: ${e?.name ? e.name + ': ' : ''}${msg}`, { item: shown, cause: err });
}

export const MAX_PAGES_DEFAULT = 5000;
