import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { z } from './zod.js';
import { createRequire } from 'node:module';
import type { LineCounter, Node } from 'yaml';
import { SluiceError } from './errors.js';
import { check, duration, formatPath, show, type SchemaIssue } from './schema-util.js';
import { parseDuration } from './duration.js';
import { walkOptions, type WalkOptions } from '../stages/walk-spec.js';
import { dedupeOptions, type DedupeOptions } from '../stages/dedupe.js';
import { mapOptions, type MapOptions } from '../stages/map.js';
import { BUILTIN_PROCESSORS } from '../processors/index.js';
import { reportOptions } from '../stages/report.js';

export const MAX_PIPELINE_BYTES = 1024 * 1024;

export const STAGE_SCHEMAS = { dedupe: dedupeOptions, map: mapOptions } as const;
export type StageName = keyof typeof STAGE_SCHEMAS;

const pipelineSchema = z.strictObject({
  version: z.literal(1).describe('pipeline file format version; always 1'),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: (iss) => `expected a name of letters, digits, ".", "_" or "-", got ${show(iss.input)}` })
    .describe('names the run and its state dir (.sluice/<name>)'),
  source: z.strictObject({ walk: walkOptions }).describe('where items come from'),
  stages: z.array(z.unknown()).min(1).describe('dedupe (optional) then map, each a one-key mapping like {map: {...}}'),
  output: z.strictObject({ dir: z.string().min(1).describe('per-item outputs go under it; relative to the pipeline file') }).optional(),
  checkpoint: z.strictObject({
    dir: z.string().min(1).default('.sluice').describe('state lives in <dir>/<name>; relative to the pipeline file'),
    fsync: z.enum(['always', 'batch', 'never']).default('batch').describe('journal durability: fsync every line, every batch (group commit), or never (lines still reach the OS at once: a killed process loses nothing, a power cut may)'),
    fsync_every: z.number().int().min(1).max(1_000_000).default(512).describe('with fsync: batch, sync after this many journal lines ...'),
    fsync_interval: duration().default('200ms').describe('... or this long after the first line not yet synced'),
  }).default({ dir: '.sluice', fsync: 'batch', fsync_every: 512, fsync_interval: '200ms' }),
  report: reportOptions.optional(),
});

export interface PipelineConfig {
  version: 1;
  name: string;
  /** directory relative paths in the file are resolved against */
  baseDir: string;
  /** where the config came from, for messages */
  origin: string;
  walk: WalkOptions;
  dedupe: DedupeOptions | null;
  map: MapOptions;
  outputDir: string | null;
  checkpoint: { dir: string; fsync: 'always' | 'batch' | 'never'; fsyncEvery: number; fsyncIntervalMs: number };
  report: { path: string | null; formats: ('json' | 'md')[] };
}

export class ConfigError extends SluiceError {
  constructor(readonly origin: string, readonly issues: (SchemaIssue & { line?: number })[]) {
    super('SLUICE_E_CONFIG', `invalid pipeline ${origin}:\n` + issues.map((i) => `  ${formatPath(i.path)}: ${i.message}${i.line ? ` (line ${i.line})` : ''}`).join('\n'));
  }
}

// yaml is loaded on first use: a run from flags alone never needs it (start-up time)
const requireYaml = createRequire(import.meta.url);
let yamlModule: typeof import('yaml') | undefined;
export function yaml(): typeof import('yaml') {
  return (yamlModule ??= requireYaml('yaml') as typeof import('yaml'));
}

/** Load, parse and validate a pipeline file (YAML or JSON). Throws ConfigError naming every bad key. */
export function loadPipelineFile(file: string, patch?: (raw: Record<string, unknown>) => void): PipelineConfig {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new ConfigError(file, [{ path: [], message: 'not a regular file' }]);
    if (st.size > MAX_PIPELINE_BYTES) throw new ConfigError(file, [{ path: [], message: `file is ${st.size} bytes; a pipeline file may be at most ${MAX_PIPELINE_BYTES}` }]);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, [{ path: [], message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parsePipeline(text, file, path.dirname(path.resolve(file)), patch);
}

/**
 * Parse and validate pipeline text. `patch` edits the raw data before validation (command-line
 * overrides), so a bad flag value is reported exactly like a bad key in the file.
 */
export function parsePipeline(text: string, origin: string, baseDir: string, patch?: (raw: Record<string, unknown>) => void, fromFlags = false): PipelineConfig {
  let data: unknown;
  let withLines = (issues: SchemaIssue[]): SchemaIssue[] => issues;
  if (fromFlags) {
    data = JSON.parse(text); // built by sluice from the flags: no line numbers to report
  } else {
    const Y = yaml();
    const lines = new Y.LineCounter();
    const doc = Y.parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true });
    const parseIssues = [...doc.errors, ...doc.warnings].map((e) => ({
      path: [] as (string | number)[],
      message: e.message.split('\n')[0]!,
      line: e.linePos?.[0]?.line ?? (e.pos ? lines.linePos(e.pos[0]).line : undefined),
    }));
    if (parseIssues.length) throw new ConfigError(origin, parseIssues);
    try {
      data = doc.toJS({ maxAliasCount: 50 });
    } catch (err) {
      throw new ConfigError(origin, [{ path: [], message: (err as Error).message }]);
    }
    withLines = (issues) => issues.map((i) => ({ ...i, line: lineOf(doc.contents, i.path, lines) }));
  }
  if (patch && data && typeof data === 'object' && !Array.isArray(data)) patch(data as Record<string, unknown>);

  const top = check(pipelineSchema, data);
  if (!top.ok) throw new ConfigError(origin, withLines(top.issues));
  const cfg = top.value;

  const issues: SchemaIssue[] = [];
  let dedupe: DedupeOptions | null = null;
  let map: MapOptions | null = null;
  cfg.stages.forEach((entry, i) => {
    if (!entry || typeof entry !== 'object' || Array.isArray(entry) || Object.keys(entry).length !== 1) {
      issues.push({ path: ['stages', i], message: `expected a mapping with one stage name (${Object.keys(STAGE_SCHEMAS).join(', ')})` });
      return;
    }
    const [name, opts] = Object.entries(entry)[0]!;
    if (!Object.hasOwn(STAGE_SCHEMAS, name)) {
      issues.push({ path: ['stages', i, name], message: `unknown stage; expected one of: ${Object.keys(STAGE_SCHEMAS).join(', ')}` });
      return;
    }
    const r = check(STAGE_SCHEMAS[name as StageName], opts ?? {}, ['stages', i, name]);
    if (!r.ok) { issues.push(...r.issues); return; }
    if (name === 'dedupe') {
      if (dedupe) issues.push({ path: ['stages', i, name], message: 'only one dedupe stage is allowed' });
      else if (map) issues.push({ path: ['stages', i, name], message: 'dedupe must come before map' });
      dedupe = r.value as DedupeOptions;
    } else {
      if (map) { issues.push({ path: ['stages', i, name], message: 'only one map stage is allowed' }); return; }
      const m = r.value as MapOptions;
      const proc = BUILTIN_PROCESSORS[m.processor];
      if (proc) {
        const o = check(proc.spec.options, m.options, ['stages', i, name, 'options']);
        if (!o.ok) { issues.push(...o.issues); return; }
        m.options = o.value as Record<string, unknown>;
      } else if (!/^(\.{1,2}\/|\/)/.test(m.processor)) {
        issues.push({ path: ['stages', i, name, 'processor'], message: `unknown processor ${JSON.stringify(m.processor)}; expected one of ${Object.keys(BUILTIN_PROCESSORS).join(', ')}, or a path starting with ./ ../ or /` });
        return;
      } else if (!fs.existsSync(path.resolve(baseDir, m.processor))) {
        issues.push({ path: ['stages', i, name, 'processor'], message: `processor module not found: ${path.resolve(baseDir, m.processor)}` });
        return;
      }
      map = m;
    }
  });
  if (!issues.length && !map) issues.push({ path: ['stages'], message: 'a map stage is required' });
  if (issues.length) throw new ConfigError(origin, withLines(issues));

  const abs = (p: string) => path.resolve(baseDir, p);
  return {
    version: 1,
    name: cfg.name,
    baseDir,
    origin,
    walk: { ...cfg.source.walk, roots: cfg.source.walk.roots.map(abs) },
    dedupe,
    map: map!,
    outputDir: cfg.output ? abs(cfg.output.dir) : null,
    checkpoint: {
      dir: abs(cfg.checkpoint.dir), fsync: cfg.checkpoint.fsync,
      fsyncEvery: cfg.checkpoint.fsync_every, fsyncIntervalMs: parseDuration(cfg.checkpoint.fsync_interval)!,
    },
    report: { path: cfg.report ? abs(cfg.report.path) : null, formats: cfg.report?.formats ?? ['json'] },
  };
}

/** Line of the deepest node of `p` that exists in the document (the parent of a missing key). */
function lineOf(root: unknown, p: (string | number)[], lines: LineCounter): number | undefined {
  let node = root as Node | null | undefined;
  let found = node;
  for (const seg of p) {
    if (yaml().isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === seg);
      if (!pair) break;
      found = (pair.key as Node) ?? found;
      node = pair.value as Node;
      if (node) found = node;
    } else if (yaml().isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as Node;
      if (!node) break;
      found = node;
    } else break;
  }
  const off = found?.range?.[0];
  return off === undefined ? undefined : lines.linePos(off).line;
}

/**
 * Fingerprint of what decides an item's result: processor, its options, and its version. A
 * built-in processor's version is sluice's; a processor file's is its content, so editing it
 * redoes the done items (as make would), and moving it does not.
 */
export function configHash(cfg: PipelineConfig, version: string): string {
  const proc = Object.hasOwn(BUILTIN_PROCESSORS, cfg.map.processor) ? `builtin:${cfg.map.processor}@${version}` : `file:${fileDigest(cfg.map.processor)}`;
  const body = JSON.stringify({ proc, options: sortKeys(cfg.map.options), key: cfg.dedupe?.key ?? null, out: cfg.outputDir !== null });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

function fileDigest(file: string): string {
  try {
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch {
    return file; // unreadable here: the worker will report why when it loads it
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** JSON Schema of the pipeline file (for editors). Stage entries are spelled out per stage. */
export function pipelineJsonSchema(): unknown {
  const stageEntry = z.union(Object.entries(STAGE_SCHEMAS).map(([k, s]) => z.strictObject({ [k]: s })) as unknown as [z.ZodType, z.ZodType]);
  const full = pipelineSchema.extend({ stages: z.array(stageEntry).min(1) });
  return z.toJSONSchema(full, { io: 'input', unrepresentable: 'any' });
}
