import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { z } from '../core/zod.js';
import type { Item } from '../core/item.js';
import type { ComponentSpec } from '../core/spec.js';
import { fdLimitError, SluiceError } from '../core/errors.js';
import { type WalkHooks } from './walk/walk.js';
import { defaultDisplay } from '../core/fsx.js';

const STDIN_FORMATS = ['ndjson', 'lines', 'nul'] as const;
export type StdinFormat = (typeof STDIN_FORMATS)[number];
/** A line longer than this is rejected (and skipped), never buffered further. */
export const MAX_LINE_BYTES = 1 << 20;

const stdinOptions = z.strictObject({
  format: z.enum(STDIN_FORMATS).default('ndjson')
    .describe('ndjson: one JSON object with a "path" (or the raw bytes as "path_b64") per line (`sluice run -`), a plain list of paths being detected and read as lines; lines: one path per line (--lines); nul: NUL-separated paths, for find -print0 (-0)'),
  strict: z.boolean().default(false).describe('a malformed line stops the run (exit 2) instead of being reported and skipped'),
});
type StdinOptions = z.output<typeof stdinOptions>;

export const spec: ComponentSpec = {
  kind: 'source',
  name: 'stdin',
  description: 'Items from standard input, chosen on the command line: `sluice run -` or `--input -` (NDJSON objects with a `path`; stdin whose first line does not start with `{`, as `ls` prints, is read as one path per line, said once on stderr), with `--lines` (one path per line) or `-0` (NUL-separated, for find -print0), `--strict` to stop at a bad line. Names that are not UTF-8 are kept byte for byte. A bad line is an `error` event naming its line number, and the run goes on.',
  options: stdinOptions,
};

interface InputProblem { line: number; message: string }

/**
 * Split a byte stream into records on `sep`, numbering them from 1. A record over `max` bytes is
 * reported as too long and its bytes are dropped as they arrive: memory stays at `max`.
 */
export async function* records(input: AsyncIterable<Buffer | string>, sep: number, max = MAX_LINE_BYTES): AsyncGenerator<{ line: number; data: Buffer | null }> {
  let parts: Buffer[] = [];
  let size = 0;
  let line = 1;
  let overlong = false;
  for await (const chunk of input) {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let at: number;
    while ((at = buf.indexOf(sep)) !== -1) {
      const piece = buf.subarray(0, at);
      if (!overlong && size + piece.length <= max) yield { line, data: parts.length ? Buffer.concat([...parts, piece]) : piece };
      else yield { line, data: null };
      parts = [];
      size = 0;
      overlong = false;
      line++;
      buf = buf.subarray(at + 1);
    }
    if (overlong) continue;
    size += buf.length;
    if (size > max) {
      overlong = true;
      parts = [];
    } else if (buf.length) parts.push(Buffer.from(buf)); // copy: the stream may reuse its chunk
  }
  if (overlong) yield { line, data: null };
  else if (size) yield { line, data: Buffer.concat(parts) };
}

/** A path as read: a string when its bytes are UTF-8, else the raw bytes (opened as they are). */
type PathName = string | Buffer;

/** Where to point users whose stdin is not NDJSON. */
const PATH_LIST_HINT = 'for a list of paths, use --lines (one per line) or -0 (NUL-separated)';

/** A string when `bytes` are UTF-8, else the bytes themselves. */
const named = (bytes: Buffer): PathName => (isUtf8(bytes) ? bytes.toString('utf8') : Buffer.from(bytes));

/**
 * The path a record names, or a problem with it. For NDJSON, `path_b64` (the raw bytes, base64,
 * as sluice's own results carry them) wins over `path`, so `sluice results | sluice run -` keeps
 * names that are not UTF-8.
 */
export function pathOf(data: Buffer, format: StdinFormat): PathName | { problem: string } {
  if (format !== 'ndjson') return named(data[data.length - 1] === 0x0d ? data.subarray(0, -1) : data);
  const text = data.toString('utf8');
  if (!text.trim()) return { problem: 'blank line' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON: ${(err as Error).message}${looksLikePath(data) ? `; ${PATH_LIST_HINT}` : ''}` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { problem: 'expected a JSON object with a "path" field' };
  const b64 = (v as Record<string, unknown>).path_b64;
  if (b64 !== undefined) {
    if (typeof b64 !== 'string' || !b64 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return { problem: 'expected "path_b64" to hold base64 text' };
    return named(Buffer.from(b64, 'base64'));
  }
  const p = (v as Record<string, unknown>).path;
  if (typeof p !== 'string' || !p) return { problem: 'expected a "path" field holding a non-empty string' };
  return p;
}

/** The first byte of a record that is not a space, tab or CR; -1 for a blank record. */
function firstNonBlank(data: Buffer): number {
  for (const b of data) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return b;
  return -1;
}

/**
 * True when a record does not look like NDJSON (its first non-blank byte is not `{`): stdin
 * holding a plain list of paths, as `ls` and `find` print them.
 */
function looksLikePath(data: Buffer): boolean {
  const b = firstNonBlank(data);
  return b !== -1 && b !== 0x7b;
}

/** The note printed once when NDJSON was expected and stdin turned out to be a list of paths. */
const PATH_LIST_NOTE = 'stdin is a list of paths, not NDJSON: reading one path per line (--lines; use -0 for names holding newlines)';

/** Where a path on stdin points: what to open, the key's `rel`, the path to show and its raw bytes. */
interface Located { file: PathName; rel: string; shown: string; path_b64?: string }

/**
 * Resolve a path against the cwd. `rel` is the path below the cwd, or the absolute path without
 * its leading slash for files elsewhere. Raw bytes are resolved as latin1 text (one char per byte,
 * so path.resolve sees every "/" and "." and keeps every other byte as it was).
 */
function locate(name: PathName, cwd: string): Located {
  const relOf = (abs: string, base: string) => {
    const below = path.relative(base, abs);
    return below && !below.startsWith('..') && !path.isAbsolute(below) ? below : abs.replace(/^\/+/, '');
  };
  if (typeof name === 'string') {
    const abs = path.resolve(cwd, name);
    return { file: abs, rel: relOf(abs, cwd), shown: defaultDisplay(abs, cwd) };
  }
  const base = Buffer.from(cwd).toString('latin1');
  const abs = path.resolve(base, name.toString('latin1'));
  const bytes = (s: string) => Buffer.from(s, 'latin1');
  const file = bytes(abs);
  if (isUtf8(file)) return locate(file.toString('utf8'), cwd); // "bad\xe9/../a.txt" is a plain name once resolved
  const shown = bytes(defaultDisplay(abs, base));
  return { file, rel: bytes(relOf(abs, base)).toString('utf8'), shown: shown.toString('utf8'), path_b64: shown.toString('base64') };
}

/**
 * Items named on standard input. Relative paths are relative to the cwd; `rel` (which drives the
 * key and the output name) is the path below the cwd, or the absolute path without its leading
 * slash for files elsewhere. A name that is not UTF-8 is opened by its raw bytes and carried as
 * `path_b64`, as the walk does. Problems with a line go to `onProblem`, never into the run.
 *
 * NDJSON (the default) whose first non-blank line does not start with `{` is a list of paths
 * (`ls | sluice run -`): the whole stream is then read as --lines, said once through `onNote`;
 * with `strict` it is an error instead. The choice is made once, so in a path list a later line
 * starting with `{` is a path, and in NDJSON a later plain line is a bad line.
 */
export async function* stdinItems(input: AsyncIterable<Buffer | string> | Readable, opts: StdinOptions, hooks: WalkHooks & { onProblem: (p: InputProblem) => void; onNote?: (message: string) => void }): AsyncGenerator<Item> {
  const cwd = process.cwd();
  const sep = opts.format === 'nul' ? 0 : 0x0a;
  const problem = (line: number, message: string) => {
    if (opts.strict) throw new SluiceError('SLUICE_E_INPUT', `stdin line ${line}: ${message} (--strict)`);
    hooks.onProblem({ line, message });
  };
  let format = opts.format;
  /** NDJSON not yet told from a path list: the blank lines so far are lines 1..leadingBlank */
  let undecided = format === 'ndjson';
  let leadingBlank = 0;
  for await (const { line, data } of records(input as AsyncIterable<Buffer>, sep)) {
    if (hooks.signal?.aborted) return;
    if (undecided) {
      if (data !== null && firstNonBlank(data) === -1) {
        leadingBlank = line;
        continue;
      }
      undecided = false;
      if (data !== null && looksLikePath(data)) {
        if (opts.strict) problem(line, 'not JSON (stdin looks like a list of paths): use --lines (one per line) or -0 (NUL-separated)');
        format = 'lines';
        hooks.onNote?.(PATH_LIST_NOTE);
      } else {
        for (let l = 1; l <= leadingBlank; l++) problem(l, 'blank line');
      }
    }
    if (data === null) {
      problem(line, `longer than ${MAX_LINE_BYTES} bytes; skipped`);
      continue;
    }
    if (format !== 'ndjson' && data.length === 0) continue; // blank line between paths
    const p = pathOf(data, format);
    if (typeof p === 'object' && !Buffer.isBuffer(p)) {
      problem(line, p.problem);
      continue;
    }
    if (typeof p === 'string' ? p.includes('\0') : p.includes(0)) {
      problem(line, 'path contains a NUL byte');
      continue;
    }
    const where = locate(p, cwd);
    let st;
    try {
      st = await fsp.stat(where.file);
    } catch (err) {
      const fd = fdLimitError(err, `reading stdin line ${line}`);
      if (fd) throw fd;
      problem(line, `${shownAsGiven(p)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      continue;
    }
    if (!st.isFile()) {
      problem(line, `${shownAsGiven(p)}: not a regular file`);
      continue;
    }
    const mtime = Math.trunc(st.mtimeMs);
    const verdict = hooks.admit ? hooks.admit(where.rel, st.size, mtime) : true;
    if (verdict === false) continue;
    // named by the user: a link there is followed, as the stat above did
    const item: Item = { path: where.shown, file: where.file, root: '.', rel: where.rel, size: st.size, mtime_ms: mtime, follow: true };
    if (where.path_b64) item.path_b64 = where.path_b64;
    if (typeof verdict === 'string') item.key = verdict;
    yield item;
  }
  if (undecided) for (let l = 1; l <= leadingBlank; l++) problem(l, 'blank line');
}

/** A name as the user gave it, for messages (lossy when not UTF-8). */
const shownAsGiven = (p: PathName) => (typeof p === 'string' ? p : p.toString('utf8'));
