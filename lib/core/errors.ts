// Every error sluice reports carries a stable code from this table. The codes are part of the
// NDJSON contract (the error table in docs/reference.md is generated from it, and a test checks that file), so never rename one.

export const ERROR_CODES = {
  SLUICE_E_USAGE: { exit: 2, retryable: false, summary: 'bad command-line flag or argument' },
  SLUICE_E_INPUT: { exit: 2, retryable: false, summary: 'a stdin line is malformed, over 1 MB, or names no readable file (an `error` event; fatal with --strict)' },
  SLUICE_E_CONFIG: { exit: 2, retryable: false, summary: 'pipeline file is invalid (the message names the key)' },
  SLUICE_E_LOCKED: { exit: 3, retryable: false, summary: 'another run holds the lock on this state dir' },
  SLUICE_E_STATE: { exit: 3, retryable: false, summary: 'checkpoint state cannot be read or written, or is not sluice\'s own: a state dir that is a link or another user\'s, a journal, run.json or lock that is a link, a FIFO or not a sluice file (refused, left as it is)' },
  SLUICE_E_DISK_FULL: { exit: 3, retryable: false, summary: 'no space left for an output or the journal; the run stopped, everything recorded is kept' },
  SLUICE_E_FATAL: { exit: 3, retryable: false, summary: 'unexpected internal failure; the run stopped' },
  SLUICE_E_FD_LIMIT: { exit: 3, retryable: false, summary: 'out of file descriptors (EMFILE/ENFILE), or the open-file limit (ulimit -n) is below what the run needs: the run stopped (or did not start), the item is not recorded; raise the limit and run again' },
  SLUICE_E_PROCESSOR: { exit: 1, retryable: false, summary: 'the processor threw an error for this item' },
  SLUICE_E_PROCESSOR_LOAD: { exit: 2, retryable: false, summary: 'the processor module could not be loaded' },
  SLUICE_E_TIMEOUT: { exit: 1, retryable: true, summary: 'the item took longer than map.timeout' },
  SLUICE_E_WORKER_CRASH: { exit: 1, retryable: true, summary: 'the worker thread died while processing the item' },
  SLUICE_E_WORKER_OOM: { exit: 1, retryable: true, summary: 'the worker ran out of memory on this item (its JS heap, the process\'s max_rss_mb, or the pdfium engine\'s WebAssembly heap, options.max_heap_mb)' },
  SLUICE_E_QUARANTINED: { exit: 1, retryable: false, summary: 'the item killed its worker map.quarantine_after times (crash or out of memory); not tried again until --retry-failed' },
  SLUICE_E_ABORTED: { exit: 1, retryable: false, summary: 'still running when an interrupted run\'s grace period ran out: not recorded, the next run does it' },
  SLUICE_E_IO: { exit: 1, retryable: true, summary: 'reading the item or writing its output failed; retried, except for a permission error (EACCES, EPERM) or a directory where a file was expected (EISDIR), which a retry cannot fix' },
  SLUICE_E_VANISHED: { exit: 1, retryable: false, summary: 'the file disappeared between walk and processing' },
  SLUICE_E_NOT_REGULAR: { exit: 1, retryable: false, summary: 'the input is not a regular file when opened (a FIFO, device, socket, directory or symbolic link put in its place after the walk, or a file whose reads would block, like /proc/kmsg): not read' },
  SLUICE_E_OUTPUT_PATH: { exit: 1, retryable: false, summary: 'an output name cannot be used: absolute, `..`, NUL, under `.sluice-tmp/`, too long for the file system, or a file or directory is in the way' },
  SLUICE_E_OUTPUT_UNSAFE: { exit: 1, retryable: false, summary: 'refused to write an output through a symbolic link inside the output dir (it could lead outside it); nothing was written' },
  SLUICE_E_CHILD_FAILED: { exit: 1, retryable: false, summary: 'the item fanned out into child items and some of them failed (their own results say why); --retry-failed runs the item again, and only its children not done' },
  SLUICE_E_TOO_LARGE: { exit: 1, retryable: false, summary: 'the item\'s text is longer than the processor\'s options.max_chars (chunk): not processed' },
  SLUICE_E_PDF_EMPTY: { exit: 1, retryable: false, summary: 'the file is empty (0 bytes)' },
  SLUICE_E_PDF_INVALID: { exit: 1, retryable: false, summary: 'not a PDF, or damaged beyond repair' },
  SLUICE_E_PDF_ENCRYPTED: { exit: 1, retryable: false, summary: 'the PDF needs a password to open' },
  SLUICE_E_PDF_TOO_LARGE: { exit: 1, retryable: false, summary: 'more pages than options.max_pages, or more text than options.max_chars' },
  SLUICE_E_PDF_PARSE: { exit: 1, retryable: false, summary: 'the text engine (pdfjs, pdfium or pdftotext) failed while reading the document' },
  SLUICE_E_EXEC_STATUS: { exit: 1, retryable: false, summary: 'the `exec` command exited with a non-zero status (the message has the status and the tail of its stderr)' },
  SLUICE_E_EXEC_SIGNAL: { exit: 1, retryable: false, summary: 'the `exec` command was killed by a signal that sluice did not send (a crash, the OOM killer, kill from outside); the message has the signal and the tail of its stderr' },
  SLUICE_E_EXEC_START: { exit: 1, retryable: false, summary: 'the `exec` command could not be started for this item (the program vanished or is not executable, or the file name is not valid UTF-8 and cannot be an argument)' },
  SLUICE_E_EXEC_OUTPUT: { exit: 1, retryable: false, summary: 'the `exec` command wrote more than options.max_output bytes to stdout; it was stopped' },
  SLUICE_E_WORKER_MISMATCH: { exit: 1, retryable: false, summary: 'a queue worker refused the item: its processor differs from the run\'s (the module is missing there, or its content, the options or the sluice version differ); it would give other results' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  retryable: boolean;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly item: string | undefined;
  private readonly retry: boolean | undefined;
  /** `retryable` overrides the code's default (SLUICE_E_IO from EACCES is not worth retrying) */
  constructor(code: ErrorCode, message: string, opts: { item?: string; cause?: unknown; retryable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.item = opts.item;
    this.retry = opts.retryable;
  }
  get retryable(): boolean {
    return this.retry ?? ERROR_CODES[this.code].retryable;
  }
  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && Object.hasOwn(ERROR_CODES, x);
}

const IO_CODES = new Set(['EIO', 'EBUSY', 'EAGAIN', 'EACCES', 'EPERM', 'EISDIR']);

/**
 * Failures that are not the item's: the run stops, the item is not recorded (the next run does
 * it), and the exit code is the code's own. A full disk, no file descriptors left, a processor
 * that cannot be loaded.
 */
const RUN_LEVEL: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['SLUICE_E_DISK_FULL', 'SLUICE_E_FD_LIMIT', 'SLUICE_E_PROCESSOR_LOAD']);

export function stopsRun(code: string | undefined): boolean {
  return RUN_LEVEL.has(code as ErrorCode);
}

/** The process is out of file descriptors (EMFILE) or the system is (ENFILE), by errno or, across a thread, by message. */
export function isFdExhausted(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return typeof err === 'string' && /\bE[MN]FILE\b/.test(err);
  return e.code === 'EMFILE' || e.code === 'ENFILE' || (typeof e.message === 'string' && /\bE[MN]FILE\b/.test(e.message));
}

/** SLUICE_E_FD_LIMIT for an EMFILE/ENFILE met while doing `what` ("walking dir"), else null. */
export function fdLimitError(err: unknown, what: string): SluiceError | null {
  if (!isFdExhausted(err)) return null;
  return new SluiceError('SLUICE_E_FD_LIMIT', `out of file descriptors ${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** Turn anything a processor threw into the typed error carried by a failed result. */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof SluiceError) return err.toInfo();
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (e && typeof e === 'object') {
    if (isErrorCode(e.code)) {
      return { code: e.code, message: String(e.message ?? e.code), retryable: ERROR_CODES[e.code].retryable };
    }
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return { code: 'SLUICE_E_DISK_FULL', message: String(e.message), retryable: false };
    if (e.code === 'EMFILE' || e.code === 'ENFILE') return { code: 'SLUICE_E_FD_LIMIT', message: String(e.message), retryable: false };
    if (e.code === 'ENOENT') return { code: 'SLUICE_E_VANISHED', message: String(e.message), retryable: false };
    if (typeof e.code === 'string' && IO_CODES.has(e.code)) {
      return { code: 'SLUICE_E_IO', message: String(e.message), retryable: e.code !== 'EACCES' && e.code !== 'EPERM' && e.code !== 'EISDIR' };
    }
    if (typeof e.message === 'string') {
      return { code: 'SLUICE_E_PROCESSOR', message: `${typeof e.name === 'string' ? e.name + ': ' : ''}${e.message}`, retryable: false };
    }
  }
  // a processor that rejects with a bare value is broken, not refusing the item: treat it as a crash
  return { code: 'SLUICE_E_WORKER_CRASH', message: `processor rejected with a non-Error value: ${safeString(err)}`, retryable: true };
}

function safeString(x: unknown): string {
  try {
    const s = typeof x === 'string' ? x : JSON.stringify(x);
    return (s ?? String(x)).slice(0, 200);
  } catch {
    return Object.prototype.toString.call(x);
  }
}
