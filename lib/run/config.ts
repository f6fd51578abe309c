import type * as zod from 'zod';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { z } from '../core/zod.js';
import { createRequire } from 'node:module';
import type { LineCounter, Node } from 'yaml';
import { SluiceError } from '../core/errors.js';
import type { ConfigParts } from '../checkpoint/state.js';
import type { ComponentSpec } from '../core/spec.js';
import { check, duration, formatPath, show, type SchemaIssue } from '../core/schema-util.js';
import { parseDuration } from '../core/duration.js';
import { walkOptions, type WalkOptions } from '../stages/walk/spec.js';
import { dedupeOptions, type DedupeOptions } from '../stages/dedupe.js';
import { mapOptions, type MapOptions } from '../stages/map.js';
import { filterOptions, type FilterOptions } from '../stages/filter.js';
import { isMultiStage, stageNameOf, type ChainStage } from '../stages/chain.js';
import { BUILTIN_PROCESSORS, isBuiltin, isModulePath, resolveProcessor } from '../processors/index.js';
import { fingerprintOptions, mapIdentity, processorId, sortKeys } from '../processors/identity.js';
import { reportOptions } from './report.js';
import type { ReportFormat } from '../checkpoint/files.js';
import { queueUrlProblem } from '../queue/url.js';

const MAX_PIPELINE_BYTES = 1024 * 1024;

const STAGE_SCHEMAS = { dedupe: dedupeOptions, map: mapOptions, filter: filterOptions } as const;
type StageName = keyof typeof STAGE_SCHEMAS;

const outputOptions = z.strictObject({ dir: z.string().min(1).describe('per-item outputs go under it; relative to the pipeline file') });
const checkpointOptions = z.strictObject({
  dir: z.string().min(1).default('.sluice').describe('state lives in <dir>/<name>; relative to the pipeline file'),
  fsync: z.enum(['always', 'batch', 'never']).default('batch').describe('journal durability: fsync every line, every batch (group commit), or never (lines still reach the OS at once: a killed process loses nothing, a power cut may)'),
  fsync_every: z.number().int().min(1).max(1_000_000).default(512).describe('with fsync: batch, sync after this many journal lines ...'),
  fsync_interval: duration().default('200ms').describe('... or this long after the first line not yet synced'),
});

/** The top-level keys `output` and `checkpoint` (`report`'s is in stages/report.ts): their schemas drive validation and the docs. */
export const outputSpec: ComponentSpec = { kind: 'key', name: 'output', description: 'Where per-item output files go (a processor writes them with ctx.writeOutput; pdf-text writes <dir>/<path below its root>.txt). Without it, outputs are inline in the result lines.', options: outputOptions };
export const checkpointSpec: ComponentSpec = { kind: 'key', name: 'checkpoint', description: 'Where the state dir lives (journal and its key snapshot, lock, run.json, report) and how durable the journal is.', options: checkpointOptions };

const pipelineSchema = z.strictObject({
  version: z.literal(1).describe('pipeline file format version; always 1'),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: (iss) => `expected a name of letters, digits, ".", "_" or "-", got ${show(iss.input)}` })
    .describe('names the run and its state dir (.sluice/<name>)'),
  source: z.strictObject({ walk: walkOptions }).describe('where items come from: `walk` (or paths on standard input with `sluice run -`)'),
  stages: z.array(z.unknown()).min(1).describe('dedupe (optional, first; without it, the default key), then map and filter stages in any order (at least one map), each a one-key mapping like {map: {...}}'),
  output: outputOptions.optional().describe('per-item output files (see key `output`)'),
  checkpoint: checkpointOptions.default({ dir: '.sluice', fsync: 'batch', fsync_every: 512, fsync_interval: '200ms' }).describe('the state dir and journal durability (see key `checkpoint`)'),
  report: reportOptions.optional().describe('the report file and its formats (see key `report`)'),
  queue: z.string().refine((u) => queueUrlProblem(u) === null, { error: (iss) => queueUrlProblem(String(iss.input)) ?? 'bad queue URL' })
    .optional().describe('run the map stages\' items on `sluice worker` processes through this Redis (BullMQ): redis://host:port/db or unix:///path.sock; --queue sets it'),
});

/** A stage entry of a pipeline as a program writes it (the input side of the schemas: defaults may be left out). */
export type StageSpec = { dedupe: zod.input<typeof dedupeOptions> } | { map: zod.input<typeof mapOptions> } | { filter: zod.input<typeof filterOptions> };

/** A pipeline as a program writes it: the pipeline file's keys, typed. */
export type PipelineSpec = Omit<zod.input<typeof pipelineSchema>, 'stages'> & { stages: StageSpec[] };

/** The top-level keys of a pipeline file, for the docs. */
export function pipelineKeys(): { name: string; required: boolean; description: string }[] {
  return Object.entries(pipelineSchema.shape).map(([name, s]) => ({ name, required: !(s as z.ZodType).safeParse(undefined).success, description: (s as z.ZodType).description ?? '' }));
}

export interface PipelineConfig {
  version: 1;
  name: string;
  /** directory relative paths in the file are resolved against */
  baseDir: string;
  /** where the config came from, for messages */
  origin: string;
  walk: WalkOptions;
  dedupe: DedupeOptions | null;
  /** the first map stage (a single-stage pipeline's only one) */
  map: MapOptions;
  /** every stage after dedupe, in order: maps and filters */
  chain: ChainStage[];
  outputDir: string | null;
  checkpoint: { dir: string; fsync: 'always' | 'batch' | 'never'; fsyncEvery: number; fsyncIntervalMs: number };
  report: { path: string | null; formats: ReportFormat[] };
  /** the Redis URL of `sluice worker` processes that run the items, or null (this process's threads) */
  queue: string | null;
}

export class ConfigError extends SluiceError {
  constructor(readonly origin: string, readonly issues: (SchemaIssue & { line?: number; col?: number; stage?: string })[]) {
    super('SLUICE_E_CONFIG', `invalid pipeline ${origin}:\n` + issues.map((i) => `  ${formatPath(i.path)}${i.stage ? ` (stage ${JSON.stringify(i.stage)})` : ''}: ${i.message}${i.line ? ` (line ${i.line}${i.col ? `, column ${i.col}` : ''})` : ''}`).join('\n'));
  }
}

/** The `name` a stage entry gives itself, as written (before validation: a pipeline's raw data), or null. */
export function rawStageName(entry: unknown): string | null {
  const opts = entry && typeof entry === 'object' && !Array.isArray(entry) ? Object.values(entry)[0] as { name?: unknown } | null : null;
  return typeof opts?.name === 'string' ? opts.name : null;
}

/** Issues inside a stage that has a name say it: stages[2].map.timeout (stage "text"). */
function withStageNames(issues: SchemaIssue[], stages: unknown[]): (SchemaIssue & { stage?: string })[] {
  return issues.map((i) => {
    const name = i.path[0] === 'stages' && typeof i.path[1] === 'number' ? rawStageName(stages[i.path[1]]) : null;
    return name !== null ? { ...i, stage: name } : i;
  });
}

/** Keys that name JavaScript's object machinery: never a setting, refused wherever they appear. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Every reserved key anywhere in parsed pipeline data, with its path. Schemas that take any key
 * (map.options) would otherwise drop `__proto__` without a word. Iterative: the depth of the
 * data is bounded only by the file size.
 */
function reservedKeyIssues(data: unknown): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: data, path: [] }];
  while (stack.length) {
    const { v, path: p } = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, path: [...p, i] }));
      continue;
    }
    for (const k of Object.keys(v)) {
      if (RESERVED_KEYS.has(k)) issues.push({ path: [...p, k], message: `key "${k}" is not allowed (a reserved JavaScript name)` });
      else stack.push({ v: (v as Record<string, unknown>)[k], path: [...p, k] });
    }
  }
  return issues.reverse();
}

/** What a document that is not a mapping holds, said without quoting it (it may be a secret file given by mistake). */
function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'an empty document';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return 'text';
  return `a ${typeof v}`;
}

/**
 * A YAML error's message without the file's text: the parser quotes the source in a few messages
 * ("Unresolved tag: !x", "Block scalar header includes extra characters: ..."); the line and
 * column say where instead.
 */
function parseMessage(message: string): string {
  const first = message.split('\n')[0]!;
  const cut = first.indexOf(': ');
  return cut > 0 ? first.slice(0, cut) : first;
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
    // no message quotes the file: given a secret file by mistake, sluice must not print it
    const parseIssues = [...doc.errors, ...doc.warnings].map((e) => {
      const pos = e.linePos?.[0] ?? (e.pos ? lines.linePos(e.pos[0]) : undefined);
      const hint = e.code === 'TAG_RESOLVE_FAILED' ? ' (a pipeline is plain YAML or JSON: no custom tags)' : '';
      return { path: [] as (string | number)[], message: parseMessage(e.message) + hint, line: pos?.line, col: pos?.col };
    });
    if (parseIssues.length) throw new ConfigError(origin, parseIssues);
    try {
      data = doc.toJS({ maxAliasCount: 50 });
    } catch (err) {
      throw new ConfigError(origin, [{ path: [], message: parseMessage((err as Error).message) }]);
    }
    withLines = (issues) => issues.map((i) => ({ ...i, line: lineOf(doc.contents, i.path, lines) }));
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(origin, withLines([{ path: [], message: `expected object, got ${kindOf(data)}: not a pipeline file (a mapping with version, name, source and stages)` }]));
  }
  if (patch) patch(data as Record<string, unknown>);
  const reserved = reservedKeyIssues(data);
  if (reserved.length) throw new ConfigError(origin, withLines(reserved));

  // every bad key at once: the stages are checked even when a top-level key is bad
  const top = check(pipelineSchema, data);
  const issues: SchemaIssue[] = top.ok ? [] : [...top.issues];
  const rawStages = (data as { stages?: unknown }).stages;
  const stages: unknown[] = top.ok ? top.value.stages : Array.isArray(rawStages) ? rawStages : [];
  let dedupe: DedupeOptions | null = null;
  let dedupeGiven = false;
  let map: MapOptions | null = null;
  const chain: ChainStage[] = [];
  const names = new Map<string, number>();
  const named = (kind: ChainStage['kind'], given: string | undefined, i: number): string | null => {
    const name = stageNameOf(kind, given, i);
    const before = names.get(name);
    if (before !== undefined) {
      issues.push({ path: ['stages', i, kind, 'name'], message: `stage name ${JSON.stringify(name)} is already used by stages[${before}]` });
      return null;
    }
    names.set(name, i);
    return name;
  };
  stages.forEach((entry, i) => {
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
    if (!r.ok) {
      issues.push(...r.issues);
      // a bad map key does not hide bad processor options: they are checked against the raw ones
      const raw = opts as { processor?: unknown; options?: unknown } | null;
      const proc = name === 'map' && typeof raw?.processor === 'string' ? BUILTIN_PROCESSORS[raw.processor] : undefined;
      const optIssues = proc && !r.issues.some((x) => x.path[3] === 'options') ? check(proc.spec.options, raw!.options ?? {}, ['stages', i, name, 'options']) : null;
      if (optIssues && !optIssues.ok) issues.push(...optIssues.issues);
      return;
    }
    if (name === 'dedupe') {
      if (dedupeGiven) issues.push({ path: ['stages', i, name], message: 'only one dedupe stage is allowed' });
      else if (chain.length || i > 0) issues.push({ path: ['stages', i, name], message: 'dedupe must be the first stage' });
      dedupeGiven = true;
      const d = r.value as DedupeOptions;
      dedupe = d.key === 'none' ? null : d;
    } else if (name === 'filter') {
      const f = r.value as FilterOptions;
      if (!map && f.where?.some((w) => w.trim().startsWith('output'))) {
        issues.push({ path: ['stages', i, name, 'where'], message: 'a condition on output needs a map stage before this filter (output is the previous map stage\'s)' });
        return;
      }
      const n = named('filter', f.name, i);
      if (n !== null) chain.push({ kind: 'filter', name: n, filter: f });
    } else {
      const m = r.value as MapOptions;
      const proc = BUILTIN_PROCESSORS[m.processor];
      if (proc) {
        const o = check(proc.spec.options, m.options, ['stages', i, name, 'options']);
        if (!o.ok) { issues.push(...o.issues); return; }
        m.options = o.value as Record<string, unknown>;
      } else if (!isModulePath(m.processor)) {
        issues.push({ path: ['stages', i, name, 'processor'], message: `unknown processor ${JSON.stringify(m.processor)}; expected one of ${Object.keys(BUILTIN_PROCESSORS).join(', ')}, or a path starting with ./ ../ or /` });
        return;
      } else {
        // resolved here, once: the existence check, the fingerprint and the worker all use this path
        m.processor = resolveProcessor(m.processor, baseDir);
        const problem = moduleProblem(m.processor);
        if (problem) { issues.push({ path: ['stages', i, name, 'processor'], message: `${problem}: ${m.processor}` }); return; }
      }
      map ??= m;
      const n = named('map', m.name, i);
      if (n !== null) chain.push({ kind: 'map', name: n, map: m });
    }
  });
  if (!issues.length && !map) issues.push({ path: ['stages'], message: 'a map stage is required' });
  if (issues.length || !top.ok) throw new ConfigError(origin, withLines(withStageNames(issues, stages)));
  const cfg = top.value;
  // resume is the default: no dedupe stage means the default key (`key: none` says no checkpoint skipping)
  if (!dedupeGiven) dedupe = dedupeOptions.parse({});

  const abs = (p: string) => path.resolve(baseDir, p);
  return {
    version: 1,
    name: cfg.name,
    baseDir,
    origin,
    walk: { ...cfg.source.walk, roots: cfg.source.walk.roots.map(abs) },
    dedupe,
    map: map!,
    chain,
    outputDir: cfg.output ? abs(cfg.output.dir) : null,
    checkpoint: {
      dir: abs(cfg.checkpoint.dir), fsync: cfg.checkpoint.fsync,
      fsyncEvery: cfg.checkpoint.fsync_every, fsyncIntervalMs: parseDuration(cfg.checkpoint.fsync_interval)!,
    },
    report: { path: cfg.report ? abs(cfg.report.path) : null, formats: cfg.report?.formats ?? ['json'] },
    queue: cfg.queue ?? null,
  };
}

/** Why a processor module path cannot be loaded, or null when it names a regular file. */
function moduleProblem(file: string): string | null {
  try {
    return fs.statSync(file).isFile() ? null : 'processor module is not a regular file';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'processor module not found' : `processor module cannot be read (${code ?? 'error'})`;
  }
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


/** What of one stage decides the results: a map's processor and options, a filter's conditions (names and pool settings do not). */
function stageIdentity(s: ChainStage, version: string): unknown {
  if (s.kind === 'filter') {
    const { name: _n, ...conditions } = s.filter;
    return ['filter', sortKeys(conditions)];
  }
  return mapIdentity(s.map, version);
}

/**
 * The parts of the fingerprint. A built-in processor's version is sluice's; a processor file's
 * is its content, so editing it redoes the done items (as make would), and moving it does not.
 * A single-stage pipeline's parts are what they always were; several stages add `chain`.
 */
export function configParts(cfg: PipelineConfig, version: string): ConfigParts {
  const proc = processorId(cfg.map.processor, version);
  const options = createHash('sha256').update(JSON.stringify(sortKeys(fingerprintOptions(cfg.map)))).digest('hex').slice(0, 16);
  const parts: ConfigParts = { proc, options, key: cfg.dedupe?.key ?? null, out: cfg.outputDir !== null };
  if (isMultiStage(cfg.chain)) parts.chain = createHash('sha256').update(JSON.stringify(cfg.chain.map((s) => stageIdentity(s, version)))).digest('hex').slice(0, 16);
  return parts;
}

/**
 * Per stage of the chain, the fingerprint of everything that decides its output: the identities of
 * it and every stage before it, the dedupe key, whether outputs go to files. A stage record made
 * under one (checkpoint/stage-store.ts) stands for as long as none of those change.
 */
export function stageFingerprints(cfg: PipelineConfig, version: string): string[] {
  const h = createHash('sha256').update(JSON.stringify({ key: cfg.dedupe?.key ?? null, out: cfg.outputDir !== null }));
  return cfg.chain.map((s) => {
    h.update(JSON.stringify(stageIdentity(s, version)));
    return h.copy().digest('hex').slice(0, 16);
  });
}

/** Fingerprint of what decides an item's result: processor, its options, and its version (every stage's, with several). */
export function configHash(cfg: PipelineConfig, version: string, parts = configParts(cfg, version)): string {
  const proc = parts.proc;
  const body = JSON.stringify({ proc, options: sortKeys(fingerprintOptions(cfg.map)), key: cfg.dedupe?.key ?? null, out: cfg.outputDir !== null, ...(parts.chain ? { chain: parts.chain } : {}) });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/** What changed between two fingerprints, in words ("the processor's options"); null when the parts are unknown. */
export function describeChange(before: ConfigParts | undefined, now: ConfigParts): string | null {
  if (!before) return null;
  const what: string[] = [];
  if (before.proc !== now.proc) {
    what.push(now.proc.startsWith('builtin:') && before.proc.startsWith('builtin:') && before.proc.split('@')[0] === now.proc.split('@')[0]
      ? `the sluice version (${before.proc.split('@')[1]} -> ${now.proc.split('@')[1]})`
      : now.proc.startsWith('file:') && before.proc.startsWith('file:') ? 'the processor file\'s content' : 'the processor');
  }
  if (before.options !== now.options) what.push('the processor options');
  if (before.key !== now.key) what.push(`the dedupe key (${before.key ?? 'none'} -> ${now.key ?? 'none'})`);
  if (before.chain !== now.chain && (before.chain || now.chain)) what.push('the stages (a processor, its options or a filter)');
  if (before.out !== now.out) what.push(now.out ? 'outputs now go to an output dir (they were inline)' : 'outputs are now inline (there was an output dir)');
  return what.length ? what.join(', ') : null;
}

/** JSON Schema of the pipeline file (for editors). Stage entries are spelled out per stage. */
export function pipelineJsonSchema(): unknown {
  const stageEntry = z.union(Object.entries(STAGE_SCHEMAS).map(([k, s]) => z.strictObject({ [k]: s })) as unknown as [z.ZodType, z.ZodType]);
  const full = pipelineSchema.extend({ stages: z.array(stageEntry).min(1) });
  return z.toJSONSchema(full, { io: 'input', unrepresentable: 'any' });
}
