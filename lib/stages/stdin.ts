import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { z } from '../core/zod.js';
import type { Item } from '../core/item.js';
import type { ComponentSpec } from '../core/spec.js';
import { fdLimitError, SluiceError } from '../core/errors.js';
import { defaultDisplay, type WalkHooks } from './walk.js';

export const STDIN_FORMATS = ['ndjson', 'lines', 'nul'] as const;
export type StdinFormat = (typeof STDIN_FORMATS)[number];
/** A line longer than this is rejected (and skipped), never buffered further. */
export const MAX_LINE_BYTES = 1 << 20;

export const stdinOptions = z.strictObject({
  format: z.enum(STDIN_FORMATS).default('ndjson')
    .describe('ndjson: one JSON object with a "path" per line (`sluice run -`); lines: one path per line (--lines); nul: NUL-separated paths, for find -print0 (-0)'),
  strict: z.boolean().default(false).describe('a malformed line stops the run (exit 2) instead of being reported and skipped'),
});
export type StdinOptions = z.output<typeof stdinOptions>;

export const spec: ComponentSpec = {
  kind: 'source',
  name: 'stdin',
  description: 'Items from standard input, chosen on the command line: `sluice run -` or `--input -` (NDJSON objects with a `path`), with `--lines` (one path per line) or `-0` (NUL-separated, for find -print0), `--strict` to stop at a bad line. A bad line is an `error` event naming its line number, and the run goes on.',
  options: stdinOptions,
};

export interface InputProblem { line: number; message: string }

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

/** The path a record names, or a problem with it. */
export function pathOf(data: Buffer, format: StdinFormat): string | { problem: string } {
  const text = data.toString('utf8');
  if (format !== 'ndjson') return text.replace(/\r$/, '');
  if (!text.trim()) return { problem: 'blank line' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON: ${(err as Error).message}` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { problem: 'expected a JSON object with a "path" field' };
  const p = (v as Record<string, unknown>).path;
  if (typeof p !== 'string' || !p) return { problem: 'expected a "path" field holding a non-empty string' };
  return p;
}

/**
 * Items named on standard input. Relative paths are relative to the cwd; `rel` (which drives the
 * key and the output name) is the path below the cwd, or the absolute path without its leading
 * slash for files elsewhere. Problems with a line go to `onProblem`, never into the run.
 */
export async function* stdinItems(input: AsyncIterable<Buffer | string> | Readable, opts: StdinOptions, hooks: WalkHooks & { onProblem: (p: InputProblem) => void }): AsyncGenerator<Item> {
  const cwd = process.cwd();
  const sep = opts.format === 'nul' ? 0 : 0x0a;
  const problem = (line: number, message: string) => {
    if (opts.strict) throw new SluiceError('SLUICE_E_INPUT', `stdin line ${line}: ${message} (--strict)`);
    hooks.onProblem({ line, message });
  };
  for await (const { line, data } of records(input as AsyncIterable<Buffer>, sep)) {
    if (hooks.signal?.aborted) return;
    if (data === null) {
      problem(line, `longer than ${MAX_LINE_BYTES} bytes; skipped`);
      continue;
    }
    if (opts.format !== 'ndjson' && data.length === 0) continue; // blank line between paths
    const p = pathOf(data, opts.format);
    if (typeof p !== 'string') {
      problem(line, p.problem);
      continue;
    }
    if (p.includes('\0')) {
      problem(line, 'path contains a NUL byte');
      continue;
    }
    const abs = path.resolve(cwd, p);
    let st;
    try {
      st = await fsp.stat(abs);
    } catch (err) {
      const fd = fdLimitError(err, `reading stdin line ${line}`);
      if (fd) throw fd;
      problem(line, `${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      continue;
    }
    if (!st.isFile()) {
      problem(line, `${p}: not a regular file`);
      continue;
    }
    const below = path.relative(cwd, abs);
    const rel = below && !below.startsWith('..') && !path.isAbsolute(below) ? below : abs.replace(/^\/+/, '');
    const mtime = Math.trunc(st.mtimeMs);
    const verdict = hooks.admit ? hooks.admit(rel, st.size, mtime) : true;
    if (verdict === false) continue;
    // named by the user: a link there is followed, as the stat above did
    const item: Item = { path: defaultDisplay(abs), file: abs, root: '.', rel, size: st.size, mtime_ms: mtime, follow: true };
    if (typeof verdict === 'string') item.key = verdict;
    yield item;
  }
}
