import path from 'node:path';
import picomatch from 'picomatch';
import { z } from '../core/zod.js';
import type { Item } from '../core/item.js';
import type { ComponentSpec } from '../core/spec.js';
import { show, stageName } from '../core/schema-util.js';
import { FILE_TYPES, sniffFile, type FileType } from '../core/sniff.js';

// The filter stage: declarative conditions on an item (its name, size, real type) and on the
// output of the map stage before it. Nothing a user writes is evaluated as code: a `where`
// condition is parsed by the small grammar below into a field path, an operator and a literal.

const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?\s*$/i;
const UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4 };
const SIZE_FORMS = 'a number of bytes or a size like "50MB", "1.5GiB", "200k" (k, M, G: powers of 1024 as in du; kB, MB, GB: of 1000)';

/** Bytes from a size as written ("50MB", 1024); undefined when it is not one. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  const m = SIZE_RE.exec(v);
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
}

const size = () => z.union([z.string(), z.number()]).refine((v) => parseSize(v) !== undefined, { error: (iss) => `expected ${SIZE_FORMS}, got ${show(iss.input)}` });

const OPS = ['==', '!=', '>=', '<=', '>', '<'] as const;
type Op = (typeof OPS)[number];
type Literal = number | string | boolean | null;
/** A parsed `where` condition: the value at `field` (under `output` or `item`) compared with `value`. */
interface Condition { root: 'output' | 'item'; field: (string | number)[]; op: Op; value: Literal }

const FIELD_RE = /^(output|item)((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)\s*(==|!=|>=|<=|>|<)\s*(.+)$/s;
const CONDITION_FORMS = 'expected "<field> <op> <value>": field output.<name>... (the previous map stage\'s output) or item.<path|rel|size|mtime_ms>, op one of == != > >= < <=, value a number, a quoted string, true, false or null; e.g. "output.pages > 0"';

/** Parse one `where` condition, or say why it is not one. No part of it is ever evaluated as code. */
export function parseCondition(text: string): Condition | string {
  const m = FIELD_RE.exec(text.trim());
  if (!m) return `${CONDITION_FORMS}, got ${show(text)}`;
  const field = [...m[2]!.matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)].map((x) => (x[1] !== undefined ? x[1] : Number(x[2])));
  if (m[1] === 'item' && (field.length !== 1 || !ITEM_FIELDS.includes(field[0] as string))) {
    return `item has the fields ${ITEM_FIELDS.join(', ')}, got ${show(text)}`;
  }
  const value = literal(m[4]!.trim());
  if (value === undefined) return `the value must be a number, a quoted string, true, false or null, got ${show(m[4]!.trim())}`;
  const op = m[3] as Op;
  if ((op === '>' || op === '<' || op === '>=' || op === '<=') && typeof value !== 'number') return `${op} compares numbers, got ${show(m[4]!.trim())}`;
  return { root: m[1] as 'output' | 'item', field, op, value };
}

const ITEM_FIELDS = ['path', 'rel', 'size', 'mtime_ms'];

function literal(s: string): Literal | undefined {
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (s === 'null') return null;
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (/^"(?:[^"\\]|\\.)*"$/.test(s)) {
    try {
      return JSON.parse(s) as string;
    } catch {
      return undefined;
    }
  }
  if (/^'[^']*'$/.test(s)) return s.slice(1, -1);
  return undefined;
}

const condition = () => z.string().superRefine((s, ctx) => {
  const c = parseCondition(s);
  if (typeof c === 'string') ctx.addIssue({ code: 'custom', message: c });
});

export const filterOptions = z.strictObject({
  name: stageName(),
  ext: z.array(z.string().min(1)).optional().describe('keep files with one of these extensions (case-insensitive; "pdf" or ".pdf")'),
  glob: z.array(z.string().min(1)).optional().describe('keep files whose path below their root matches one of these globs'),
  size: z.strictObject({
    min: size().optional().describe('smallest size kept'),
    max: size().optional().describe('largest size kept'),
  }).optional().describe(`keep files within this size range (${SIZE_FORMS})`),
  type: z.array(z.enum(FILE_TYPES)).min(1).optional()
    .describe('keep files whose real type, read from their first bytes, is one of these (pdf, zip for Office files and EPUB too, png, jpeg, gif, html, xml, text, empty, binary): a .pdf that holds HTML is html'),
  where: z.array(condition()).optional().describe('keep items for which every condition holds, e.g. "output.pages > 0" (the previous map stage\'s output; a missing field holds only for != and == null)'),
});
export type FilterOptions = z.output<typeof filterOptions>;

export const spec: ComponentSpec = {
  kind: 'stage',
  name: 'filter',
  description: 'Keep the items that meet every condition given (extension, glob, size range, real type sniffed from the first bytes, comparisons on the previous map stage\'s output); drop the others, counted as filtered (not failed, not skipped) and recorded, so a rerun does not decide them again.',
  options: filterOptions,
};

/** Whether an item (with the output of the map stage before) is kept; rejects only when its file cannot be read for its type. */
type FilterFn = (item: Item, output: Record<string, unknown> | undefined) => Promise<boolean>;

/** The conditions of a filter stage as one function: the cheap tests first, the file read last. */
export function compileFilter(o: FilterOptions): FilterFn {
  const exts = o.ext?.map((e) => (e.startsWith('.') ? e : '.' + e).toLowerCase());
  const glob = o.glob ? picomatch(o.glob, { dot: true }) : null;
  const min = o.size?.min !== undefined ? parseSize(o.size.min)! : 0;
  const max = o.size?.max !== undefined ? parseSize(o.size.max)! : Infinity;
  const where = (o.where ?? []).map((w) => parseCondition(w) as Condition);
  const types = o.type ? new Set<FileType>(o.type) : null;
  return async (item, output) => {
    if (exts && !exts.includes(path.posix.extname(item.rel).toLowerCase())) return false;
    if (glob && !glob(item.rel)) return false;
    if (item.size < min || item.size > max) return false;
    for (const c of where) if (!holds(c, item, output)) return false;
    if (types && !types.has(await sniffFile(item))) return false;
    return true;
  };
}

function holds(c: Condition, item: Item, output: Record<string, unknown> | undefined): boolean {
  let v: unknown = c.root === 'item' ? item : output;
  for (const f of c.field) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, f)) {
      v = undefined;
      break;
    }
    v = (v as Record<string | number, unknown>)[f];
  }
  switch (c.op) {
    case '==': return c.value === null ? v === null || v === undefined : v === c.value;
    case '!=': return c.value === null ? v !== null && v !== undefined : v !== c.value;
    case '>': return typeof v === 'number' && v > (c.value as number);
    case '>=': return typeof v === 'number' && v >= (c.value as number);
    case '<': return typeof v === 'number' && v < (c.value as number);
    case '<=': return typeof v === 'number' && v <= (c.value as number);
  }
}
