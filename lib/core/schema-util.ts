import { z } from './zod.js';
import { DURATION_FORMS, DURATION_RE, parseDuration } from './duration.js';
import { SluiceError } from './errors.js';

const durationError = (iss: { input?: unknown }) => `expected ${DURATION_FORMS}, got ${show(iss.input)}`;
const isDuration = (v: string | number) => parseDuration(v) !== undefined;

/**
 * A duration kept as written in the config: text ("30s", "5") or a number of seconds (5 in YAML);
 * parse it with parseDuration when used. Anything parseDuration cannot read is refused here.
 */
export const duration = () =>
  z.union([
    z.string({ error: durationError }).regex(DURATION_RE, { error: durationError, abort: true }).refine(isDuration, { error: durationError }),
    z.number({ error: durationError }).refine(isDuration, { error: durationError }),
  ], { error: durationError });

/** The optional `name` of a stage: how events, the report and --set refer to it. */
export const stageName = () =>
  z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, { error: (iss) => `expected a name of letters, digits, "_" or "-", starting with a letter, got ${show(iss.input)}` }).optional()
    .describe('names the stage in events and the report, and for --set stages[NAME].map.timeout=30s (default: its kind and place in `stages`, e.g. map2, which --set does not know)');

export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

export interface SchemaIssue {
  path: (string | number)[];
  message: string;
}

/** Format a path as users write it in a pipeline file: stages[1].map.timeout */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += (out ? '.' : '') + String(p);
  }
  return out || '(top level)';
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) { bestD = d; best = c; }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: any = schema;
  for (const p of path) {
    s = unwrap(s);
    if (s?.shape && typeof p === 'string') s = s.shape[p];
    else if (s?.element) s = s.element;
    else return [];
  }
  s = unwrap(s);
  return s?.shape ? Object.keys(s.shape) : [];
}

function unwrap(s: any): any {
  while (s && (s.unwrap || s.def?.innerType)) s = s.def?.innerType ?? s.unwrap();
  return s;
}

/**
 * A processor's options through its schema, for options that did not come through the config
 * check: the parsed value, or SLUICE_E_CONFIG naming `processor` and every bad key on one line.
 */
export function processorOptions<T extends z.ZodType>(schema: T, data: unknown, processor: string, prefix: (string | number)[] = []): z.output<T> {
  const r = check(schema, data, prefix);
  if (r.ok) return r.value;
  throw new SluiceError('SLUICE_E_CONFIG', `processor ${processor}: ${r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ')}`);
}

/** Validate `data` against `schema`; on failure, one plain-language issue per problem, each with its path. */
export function check<T extends z.ZodType>(schema: T, data: unknown, prefix: (string | number)[] = []):
  { ok: true; value: z.output<T> } | { ok: false; issues: SchemaIssue[] } {
  const r = schema.safeParse(data, { reportInput: true });
  if (r.success) return { ok: true, value: r.data };
  const issues: SchemaIssue[] = [];
  for (const iss of r.error.issues as any[]) {
    const path = [...prefix, ...(iss.path as (string | number)[])];
    switch (iss.code) {
      case 'unrecognized_keys':
        for (const k of iss.keys as string[]) {
          const hint = closest(k, knownKeys(schema, iss.path));
          const allowed = knownKeys(schema, iss.path);
          issues.push({
            path: [...path, k],
            message: `unknown key${hint ? ` (did you mean "${hint}"?)` : allowed.length ? ` (expected one of: ${allowed.join(', ')})` : ''}`,
          });
        }
        break;
      case 'invalid_type':
        issues.push({ path, message: iss.input === undefined ? `required: expected ${iss.expected}` : `expected ${iss.expected}, got ${show(iss.input)}` });
        break;
      case 'invalid_value':
        issues.push({ path, message: `expected one of ${(iss.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${show(iss.input)}` });
        break;
      case 'too_small':
        issues.push({ path, message: iss.origin === 'array' ? `expected at least ${iss.minimum} entr${iss.minimum === 1 ? 'y' : 'ies'}` : `expected ${iss.origin === 'string' ? 'a string of length' : 'a value'} >= ${iss.minimum}, got ${show(iss.input)}` });
        break;
      case 'too_big':
        issues.push({ path, message: `expected ${iss.origin === 'string' ? 'a string of length' : 'a value'} <= ${iss.maximum}, got ${show(iss.input)}` });
        break;
      default:
        issues.push({ path, message: iss.message });
    }
  }
  return { ok: false, issues };
}
