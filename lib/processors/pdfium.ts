// PDFium, Google's PDF library (BSD licence), compiled to WebAssembly (@hyzyla/pdfium, MIT), for
// pdf-text's engine pdfium.
//
// Invariant: one PDFium instance per worker thread, made while the worker boots or on first use;
// its heap never grows past the run's max_heap_mb (give or take the allocator's last step); every
// document and page it opens is closed before `pdfiumPages` returns or throws, and the document's
// bytes freed. An
// instance whose heap grew past HEAP_KEEP_BYTES, or that trapped (a WebAssembly error leaves its
// state unknown), is dropped after the item and the next item gets a new one: a WebAssembly heap
// never shrinks, and a worker must not keep the largest document's memory for the rest of the run.
// The password is copied into the instance's heap for the call and wiped there right after.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';

/** The calls of PDFium's C API used here, as the WebAssembly module exports them. */
interface PdfiumModule {
  HEAPU8: Uint8Array;
  wasmExports: { malloc(n: number): number; free(p: number): void };
  _FPDF_LoadMemDocument(data: number, size: number, password: number): number;
  _FPDF_GetLastError(): number;
  _FPDF_GetPageCount(doc: number): number;
  _FPDF_CloseDocument(doc: number): void;
  _FPDF_LoadPage(doc: number, index: number): number;
  _FPDF_ClosePage(page: number): void;
  _FPDFText_LoadPage(page: number): number;
  _FPDFText_CountChars(text: number): number;
  _FPDFText_GetText(text: number, start: number, count: number, out: number): number;
  _FPDFText_ClosePage(text: number): void;
}

/** PDFium's FPDF_GetLastError codes. */
const ERR = { FILE: 2, FORMAT: 3, PASSWORD: 4, SECURITY: 5 } as const;
/**
 * A page whose characters are all codes PDFium could not map to Unicode (control characters,
 * U+FFFD): it draws text, but its fonts give no readable character. Counted in pages_text_lost.
 */
const UNDECODED = /^[\u0001-\u0008\u000e-\u001f\ufffd\s]*[\u0001-\u0008\u000e-\u001f\ufffd][\u0001-\u0008\u000e-\u001f\ufffd\s]*$/;
/** A heap past this after an item is given back (the instance is dropped). */
const HEAP_KEEP_BYTES = 256 * 2 ** 20;

/** The WebAssembly calls used here (the project compiles without the DOM's type library). */
type WasmModule = object;
type WasmInstance = object;
const Wasm = (globalThis as unknown as {
  WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule>; instantiate(m: WasmModule, imports: object): Promise<WasmInstance> };
}).WebAssembly;

let instance: Promise<PdfiumModule> | undefined;
let compiled: Promise<WasmModule> | undefined;
/** The heap limit of the instances made from now on (bytes); set from the item's options. */
let heapCap = 2 ** 30;
/** What PDFium last printed to stderr (kept for the failure's message, not printed). */
let lastMessage = '';
/** Set when the heap was refused room during the current item: the cause of the abort that follows. */
let refused = '';

function wasmFile(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('@hyzyla/pdfium')), 'pdfium.wasm');
}

/**
 * The worker's instance. The WebAssembly is compiled once per worker; each instance gets its own
 * heap, which may grow to `heapCap` and no further (its resize import refuses past it: PDFium's
 * allocation fails, and it aborts). PDFium's own messages are kept, not printed.
 */
function pdfium(): Promise<PdfiumModule> {
  if (instance) return instance;
  const cap = heapCap;
  const made = (async () => {
    compiled ??= Wasm.compile(await fs.promises.readFile(wasmFile()));
    const wasmModule = await compiled;
    const { PDFiumModule } = await import('@hyzyla/pdfium');
    // the module's promise never settles if instantiating fails inside instantiateWasm: this one does
    let failed!: (err: unknown) => void;
    const failure = new Promise<never>((_, reject) => { failed = reject; });
    const m = await Promise.race([failure, (PDFiumModule as unknown as (o: Record<string, unknown>) => Promise<PdfiumModule & { _FPDF_InitLibrary(): void }>)({
      print: () => {},
      printErr: (msg: string) => { lastMessage = String(msg); },
      instantiateWasm(imports: { env: Record<string, unknown> }, receive: (i: WasmInstance, m: WasmModule) => void) {
        const resize = imports.env.emscripten_resize_heap as (bytes: number) => boolean;
        imports.env.emscripten_resize_heap = (bytes: number) => {
          if (bytes >>> 0 > cap) {
            refused = `its heap would pass ${cap / 2 ** 20} MB (max_heap_mb)`;
            return false;
          }
          return resize(bytes);
        };
        Wasm.instantiate(wasmModule, imports).then((i) => receive(i, wasmModule), failed);
        return {};
      },
    })]);
    m._FPDF_InitLibrary();
    return m;
  })();
  instance = made;
  made.catch(() => { if (instance === made) instance = undefined; });
  return made;
}

/** The worker's instance for a heap limit of `maxHeap` bytes: one made for another limit is replaced. */
function pdfiumFor(maxHeap: number): Promise<PdfiumModule> {
  if (maxHeap !== heapCap) {
    heapCap = maxHeap;
    instance = undefined;
  }
  return pdfium();
}

/** Make the worker's instance now (for a heap limit of `maxHeap` bytes), before its first PDF. */
export async function warmPdfium(maxHeap: number): Promise<void> {
  await pdfiumFor(maxHeap);
}

/** Is PDFium usable here (its WebAssembly file is in place)? For `sluice stages`. */
export function pdfiumAvailable(): boolean {
  try {
    return fs.statSync(wasmFile()).isFile();
  } catch {
    return false;
  }
}

interface PdfiumLimits {
  /** the instance's heap may grow to this many bytes (an instance made for a smaller limit is replaced) */
  maxHeap: number;
  maxPages: number;
  maxChars: number;
  password?: string;
  /** checked between pages: a stopped or timed-out item ends at the next page */
  signal?: AbortSignal;
}

/** Copy `bytes` into the heap; the caller frees the pointer. */
function copyIn(m: PdfiumModule, bytes: Uint8Array): number {
  const p = m.wasmExports.malloc(Math.max(1, bytes.length));
  if (!p) throw new SluiceError('SLUICE_E_WORKER_OOM', `pdfium: no memory for a ${bytes.length}-byte document`);
  m.HEAPU8.set(bytes, p);
  return p;
}

/** The text of one page: PDFium's UTF-16, its line ends as "\n", and its mark for a hyphen that ends a line as "-". */
function pageText(m: PdfiumModule, page: number): string {
  const tp = m._FPDFText_LoadPage(page);
  if (!tp) return '';
  try {
    const n = m._FPDFText_CountChars(tp);
    if (n <= 0) return '';
    const out = m.wasmExports.malloc((n + 1) * 2);
    if (!out) throw new SluiceError('SLUICE_E_WORKER_OOM', `pdfium: no memory for the text of a page (${n} characters)`);
    try {
      const written = m._FPDFText_GetText(tp, 0, n, out);
      if (written <= 1) return '';
      // the count includes the terminating NUL
      const text = Buffer.from(m.HEAPU8.buffer, out, (written - 1) * 2).toString('utf16le');
      return text.replace(/\uFFFE/g, '-').replace(/\r\n?/g, '\n').replace(/\0/g, '');
    } finally {
      m.wasmExports.free(out);
    }
  } finally {
    m._FPDFText_ClosePage(tp);
  }
}

/**
 * The text of every page of a PDF, or a coded failure: SLUICE_E_PDF_ENCRYPTED (a password is
 * needed, or the one given is wrong, or its security handler is unknown), SLUICE_E_PDF_INVALID
 * (not readable as a PDF), SLUICE_E_PDF_TOO_LARGE (max_pages, max_chars), SLUICE_E_PDF_PARSE.
 */
export async function pdfiumPages(bytes: Uint8Array, shown: string, o: PdfiumLimits): Promise<{ pages: string[]; numPages: number; lost: number }> {
  const m = await pdfiumFor(o.maxHeap);
  lastMessage = '';
  refused = '';
  let trapped = false;
  let data = 0;
  let pw = 0;
  let pwLength = 0;
  let doc = 0;
  try {
    data = copyIn(m, bytes);
    if (o.password !== undefined) {
      const enc = Buffer.from(`${o.password}\0`, 'utf8');
      pwLength = enc.length;
      pw = copyIn(m, enc);
    }
    doc = m._FPDF_LoadMemDocument(data, bytes.length, pw);
    if (pw) {
      m.HEAPU8.fill(0, pw, pw + pwLength);
      m.wasmExports.free(pw);
      pw = 0;
    }
    if (!doc) {
      const code = m._FPDF_GetLastError();
      if (code === ERR.PASSWORD) {
        throw new SluiceError('SLUICE_E_PDF_ENCRYPTED', o.password === undefined ? 'encrypted: a password is needed to open it' : 'encrypted: the password given did not open it', { item: shown });
      }
      if (code === ERR.SECURITY) throw new SluiceError('SLUICE_E_PDF_ENCRYPTED', 'encrypted with a security handler pdfium does not support', { item: shown });
      if (code === ERR.FORMAT || code === ERR.FILE) throw new SluiceError('SLUICE_E_PDF_INVALID', 'damaged or not a PDF: pdfium could not open it', { item: shown });
      throw new SluiceError('SLUICE_E_PDF_PARSE', `pdfium could not open it (error ${code})`, { item: shown });
    }
    const numPages = m._FPDF_GetPageCount(doc);
    if (numPages > o.maxPages) throw new SluiceError('SLUICE_E_PDF_TOO_LARGE', `${numPages} pages, more than max_pages ${o.maxPages}`, { item: shown });
    if (numPages < 1) throw new SluiceError('SLUICE_E_PDF_INVALID', 'damaged: pdfium found no page in it', { item: shown });
    const pages: string[] = [];
    let chars = 0;
    let lost = 0;
    for (let i = 0; i < numPages; i++) {
      if (o.signal?.aborted) throw o.signal.reason;
      const page = m._FPDF_LoadPage(doc, i);
      if (!page) throw new SluiceError('SLUICE_E_PDF_PARSE', `pdfium could not read page ${i + 1} of ${numPages}`, { item: shown });
      let text: string;
      try {
        text = pageText(m, page);
      } finally {
        m._FPDF_ClosePage(page);
      }
      chars += text.length + 1;
      if (chars > o.maxChars) throw new SluiceError('SLUICE_E_PDF_TOO_LARGE', `text passed max_chars ${o.maxChars} at page ${i + 1} of ${numPages}`, { item: shown });
      if (UNDECODED.test(text)) lost++;
      pages.push(text);
    }
    return { pages, numPages, lost };
  } catch (err) {
    if (err instanceof SluiceError || (o.signal?.aborted && err === o.signal.reason)) throw err;
    // a WebAssembly trap or an abort inside PDFium: this instance is not used again
    trapped = true;
    const msg = (err as Error)?.message ?? String(err);
    // PDFium aborts when its heap cannot grow: the cause is memory, not the PDF's syntax
    if (refused || /Cannot enlarge memory|Failed to grow the heap/.test(lastMessage)) {
      throw new SluiceError('SLUICE_E_WORKER_OOM', `pdfium ran out of memory: ${refused || lastMessage}`, { item: shown, cause: err });
    }
    const said = lastMessage && lastMessage !== msg ? ` (${lastMessage})` : '';
    throw new SluiceError('SLUICE_E_PDF_PARSE', `pdfium failed while reading it: ${(err as Error)?.name ?? 'Error'}: ${msg}${said}`, { item: shown, cause: err });
  } finally {
    if (!trapped) {
      try {
        if (pw) { m.HEAPU8.fill(0, pw, pw + pwLength); m.wasmExports.free(pw); }
        if (doc) m._FPDF_CloseDocument(doc);
        if (data) m.wasmExports.free(data);
      } catch {
        trapped = true;
      }
    }
    if (trapped || m.HEAPU8.length > HEAP_KEEP_BYTES) instance = undefined;
  }
}
