import { openInput, readAt, type InputRef } from './input.js';

/**
 * A file's real type from its first bytes, whatever its name says (a `.pdf` that is HTML is
 * `html`). Reads at most SNIFF_BYTES through core/input.ts (no link followed that the walk did
 * not follow, no FIFO or device read). The order of the tests is the rule: signatures first,
 * then markup, then text.
 */
export const FILE_TYPES = ['pdf', 'zip', 'png', 'jpeg', 'gif', 'html', 'xml', 'text', 'empty', 'binary'] as const;
export type FileType = (typeof FILE_TYPES)[number];

const SNIFF_BYTES = 1024;

export function sniffBytes(b: Uint8Array): FileType {
  if (b.length === 0) return 'empty';
  const ascii = Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
  // PDF readers accept the header anywhere in the first 1024 bytes (after junk some writers put first)
  if (ascii.includes('%PDF-')) return 'pdf';
  // ZIP: local file header, or the end record of an empty archive (Office files, EPUB, JAR are ZIPs)
  if (ascii.startsWith('PK\x03\x04') || ascii.startsWith('PK\x05\x06')) return 'zip';
  if (ascii.startsWith('\x89PNG\r\n\x1a\n')) return 'png';
  if (ascii.startsWith('\xff\xd8\xff')) return 'jpeg';
  if (ascii.startsWith('GIF87a') || ascii.startsWith('GIF89a')) return 'gif';
  const text = textStart(b);
  if (text === null) return 'binary';
  const head = text.replace(/^\ufeff/, '').trimStart().slice(0, 256).toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html') || /^<(head|body|meta|title|script|div|p)\b/.test(head)) return 'html';
  if (head.startsWith('<?xml') || head.startsWith('<svg')) return 'xml';
  return 'text';
}

/** The bytes as text when they read as UTF-8 (a character cut at the end allowed) with no control characters but whitespace; else null. */
function textStart(b: Uint8Array): string | null {
  let s: string;
  try {
    s = new TextDecoder('utf-8', { fatal: true }).decode(b, { stream: true });
  } catch {
    return null;
  }
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x08\x0e-\x1f\x7f]/.test(s.replace(/\f|\x1b/g, ' ')) ? null : s;
}

/** The type of the file `item` names, from its first bytes. Rejects as openInput does (SLUICE_E_NOT_REGULAR, or the fs error). */
export async function sniffFile(item: InputRef): Promise<FileType> {
  const { fh } = await openInput(item);
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const n = await readAt(fh, item, buf, SNIFF_BYTES, 0);
    return sniffBytes(buf.subarray(0, n));
  } finally {
    await fh.close().catch(() => {});
  }
}
