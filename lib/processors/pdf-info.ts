import type { ProcessorContext, ProcessorItem } from '../core/processor.js';
import { classifyPdfError, closePdf, loadPdfJs, openPdf, readPdfBytes } from './pdf.js';

/** pdfjs' stray rejections are the PDF's parse failures (see pdf.ts). */
export { classifyStray } from './pdf.js';

const ENCRYPT = Buffer.from('/Encrypt');

export default async function pdfInfo(item: ProcessorItem, _ctx: ProcessorContext) {
  const data = await readPdfBytes(item);
  // pdfjs detaches `data`; look for an /Encrypt entry (trailer) before handing it over
  const tail = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const encrypted = tail.indexOf(ENCRYPT, Math.max(0, tail.length - 64 * 1024)) !== -1 || tail.indexOf(ENCRYPT) !== -1;
  let doc;
  try {
    doc = await openPdf(data, item.path);
  } catch (err) {
    if ((err as { code?: string }).code === 'SLUICE_E_PDF_ENCRYPTED') return { encrypted: true, needs_password: true, pages: null };
    throw err;
  }
  try {
    const { info } = (await doc.getMetadata()) as unknown as { info: Record<string, unknown> };
    const { PDFDateString } = await loadPdfJs();
    const str = (k: string) => (typeof info[k] === 'string' && info[k] ? (info[k] as string) : null);
    const date = (k: string) => {
      const s = str(k);
      const d = s ? PDFDateString.toDateObject(s) : null;
      return d && !Number.isNaN(d.getTime()) ? d.toISOString() : s;
    };
    return {
      pages: doc.numPages,
      pdf_version: str('PDFFormatVersion'),
      title: str('Title'),
      author: str('Author'),
      subject: str('Subject'),
      creator: str('Creator'),
      producer: str('Producer'),
      created: date('CreationDate'),
      modified: date('ModDate'),
      encrypted,
      needs_password: false,
    };
  } catch (err) {
    throw classifyPdfError(err, item.path);
  } finally {
    await closePdf(doc);
  }
}
