import path from 'node:path';
import { RESERVED_KEYS, rawStageName, yaml } from '../run/config.js';
import { SluiceError } from '../core/errors.js';
import { isModulePath, resolveProcessor } from '../processors/index.js';

/** Flags that change the pipeline file's values; applied to the raw data before validation. */
export interface FlagOverrides {
  input?: string[];
  /** globs a path must match (replaces source.walk.include) */
  include?: string[];
  /** globs that skip a path (replaces source.walk.exclude) */
  exclude?: string[];
  processor?: string;
  /** -O key=value: processor options (map.options.key), values read as YAML */
  option?: string[];
  /** --exec 'cmd {}': the exec processor with this command */
  exec?: string;
  /** --shell: exec's command through /bin/sh */
  shell?: boolean;
  concurrency?: number;
  timeout?: string;
  out?: string;
  report?: string;
  /** --queue URL: the run's items go to `sluice worker` processes (the pipeline's `queue`) */
  queue?: string;
  set?: string[];
}

type Raw = Record<string, unknown>;

function obj(parent: Raw, key: string): Raw {
  const v = parent[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Raw;
  const fresh: Raw = {};
  parent[key] = fresh;
  return fresh;
}

function mapStage(raw: Raw): Raw {
  const stages = Array.isArray(raw.stages) ? (raw.stages as unknown[]) : (raw.stages = []) as unknown[];
  for (const s of stages) {
    if (s && typeof s === 'object' && 'map' in (s as Raw)) return obj(s as Raw, 'map');
  }
  const m: Raw = {};
  stages.push({ map: m });
  return m;
}

/**
 * A processor flag that looks like a path (./x, ../x, /x, or a name ending in .js or .mjs) is a
 * path relative to the cwd, made absolute now; a built-in name stays.
 */
function processorRef(p: string): string {
  return isModulePath(p) || p.endsWith('.js') || p.endsWith('.mjs') ? resolveProcessor(p, process.cwd()) : p;
}

export function applyOverrides(raw: Raw, f: FlagOverrides): void {
  if (f.input?.length) obj(obj(raw, 'source'), 'walk').roots = f.input.map((p) => path.resolve(p));
  if (f.include?.length) obj(obj(raw, 'source'), 'walk').include = f.include;
  if (f.exclude?.length) obj(obj(raw, 'source'), 'walk').exclude = f.exclude;
  if (f.exec !== undefined || f.shell !== undefined) applyExec(raw, f);
  if (f.processor !== undefined || f.concurrency !== undefined || f.timeout !== undefined || f.option?.length) {
    const m = mapStage(raw);
    if (f.processor !== undefined) {
      if (m.processor !== undefined && m.processor !== f.processor) delete m.options;
      m.processor = processorRef(f.processor);
    }
    if (f.concurrency !== undefined) m.concurrency = f.concurrency;
    if (f.timeout !== undefined) m.timeout = f.timeout;
    for (const o of f.option ?? []) {
      if (!/^[A-Za-z_][\w.-]*=/.test(o)) throw new SluiceError('SLUICE_E_USAGE', `-O ${o}: expected name=value, e.g. -O max_pages=100`);
      setPath(m, `options.${o}`);
    }
  }
  if (f.out !== undefined) obj(raw, 'output').dir = path.resolve(f.out);
  if (f.report !== undefined) obj(raw, 'report').path = path.resolve(f.report);
  if (f.queue !== undefined) raw.queue = f.queue;
  for (const s of f.set ?? []) setPath(raw, s);
}

/** --exec CMD [--shell]: the map stage runs the exec processor; its other options are kept when it already did. */
function applyExec(raw: Raw, f: FlagOverrides): void {
  if (f.exec !== undefined && f.processor !== undefined) throw new SluiceError('SLUICE_E_USAGE', '--exec and --processor cannot be used together (--exec runs a command per file)');
  const m = mapStage(raw);
  if (f.exec === undefined && m.processor !== 'exec') throw new SluiceError('SLUICE_E_USAGE', '--shell is for --exec (or a pipeline whose map runs the exec processor)');
  const kept = m.processor === 'exec' ? obj(m, 'options') : {};
  m.processor = 'exec';
  m.options = { ...kept, ...(f.exec !== undefined ? { cmd: f.exec } : {}), ...(f.shell !== undefined ? { shell: f.shell } : {}) };
}

/**
 * The key path of a --set assignment: `stages[1].map.timeout=30s` -> ['stages', 1, 'map', 'timeout'].
 * A stage may be named instead of numbered: `stages[text].map.timeout` is the stage named text.
 */
function keyPathOf(assignment: string, raw?: Raw): (string | number)[] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new SluiceError('SLUICE_E_USAGE', `--set ${assignment}: expected key.path=value`);
  const keyPath = assignment.slice(0, eq);
  const segs: (string | number)[] = [];
  for (const part of keyPath.split('.')) {
    const m = /^([^[\]]*)((?:\[[\w-]+\])*)$/.exec(part);
    if (!m) throw new SluiceError('SLUICE_E_USAGE', `--set ${assignment}: cannot read key path "${keyPath}"`);
    if (m[1]) segs.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[([\w-]+)\]/g)) {
      if (/^\d+$/.test(idx[1]!)) segs.push(Number(idx[1]));
      else if (segs.length === 1 && segs[0] === 'stages') segs.push(stageIndex(raw, idx[1]!, keyPath));
      else throw new SluiceError('SLUICE_E_USAGE', `--set ${keyPath}: [${idx[1]}]: only stages are found by name (stages[NAME]); elsewhere an index is a number`);
    }
  }
  if (!segs.length) throw new SluiceError('SLUICE_E_USAGE', `--set ${assignment}: invalid key path`);
  const reserved = segs.find((s) => typeof s === 'string' && RESERVED_KEYS.has(s));
  if (reserved !== undefined) throw new SluiceError('SLUICE_E_USAGE', `--set ${keyPath}: key "${reserved}" is not allowed (a reserved JavaScript name)`);
  return segs;
}

/** The place in `stages` of the stage named `name` (its `name` key), or a usage error naming the names there are. */
function stageIndex(raw: Raw | undefined, name: string, keyPath: string): number {
  if (!raw) return -1; // (flagFor: a path by name is never a flag's)
  const stages = Array.isArray(raw?.stages) ? (raw.stages as unknown[]) : [];
  const names = stages.map(rawStageName);
  const i = names.indexOf(name);
  if (i < 0) {
    const known = names.filter((n): n is string => n !== null);
    throw new SluiceError('SLUICE_E_USAGE', `--set ${keyPath}: no stage is named ${JSON.stringify(name)}${known.length ? ` (named stages: ${known.join(', ')})` : ' (no stage has a name; number it: stages[1])'}`);
  }
  return i;
}

/** --set stages[1].map.timeout=30s (or stages[NAME]...): the value is read as YAML (numbers, booleans, lists). */
export function setPath(raw: Raw, assignment: string): void {
  const segs = keyPathOf(assignment, raw);
  const eq = assignment.indexOf('=');
  const keyPath = assignment.slice(0, eq);
  let value: unknown;
  try {
    value = yaml().parse(assignment.slice(eq + 1));
  } catch {
    value = assignment.slice(eq + 1);
  }
  let cur: any = raw;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    if (typeof seg === 'number') {
      // a list grows by one entry at most: an index is never an allocation size
      const at = formatSegs(segs.slice(0, i));
      if (!Array.isArray(cur)) throw new SluiceError('SLUICE_E_USAGE', `--set ${keyPath}: ${at} is not a list`);
      if (seg > cur.length) {
        throw new SluiceError('SLUICE_E_USAGE', `--set ${keyPath}: index ${seg} is past the end of ${at} (${cur.length} entr${cur.length === 1 ? 'y' : 'ies'}; [${cur.length}] adds one)`);
      }
    }
    if (i === segs.length - 1) break;
    if (cur[seg] === undefined || cur[seg] === null || typeof cur[seg] !== 'object') cur[seg] = typeof segs[i + 1] === 'number' ? [] : {};
    cur = cur[seg];
  }
  cur[segs[segs.length - 1]!] = value;
}

/**
 * The flag that sets a pipeline key, for a run from flags alone: its errors name the flag the
 * user typed (`--timeout`, `-O max_pages`), never a stage they never wrote. A run from flags
 * alone is always [dedupe, map] (see configFromArgs).
 */
const FLAG_OF: [string, (string | number)[]][] = [
  ['--input', ['source', 'walk', 'roots']],
  ['--include', ['source', 'walk', 'include']],
  ['--exclude', ['source', 'walk', 'exclude']],
  ['--processor', ['stages', 1, 'map', 'processor']],
  ['-j', ['stages', 1, 'map', 'concurrency']],
  ['--timeout', ['stages', 1, 'map', 'timeout']],
  ['--exec', ['stages', 1, 'map', 'options', 'cmd']],
  ['--shell', ['stages', 1, 'map', 'options', 'shell']],
  ['-O', ['stages', 1, 'map', 'options']],
  ['--out', ['output', 'dir']],
  ['--report', ['report', 'path']],
  ['--queue', ['queue']],
];

/**
 * `stages[1].map.options.max_pages` -> `-O max_pages`; a key no flag sets, or one a --set
 * assignment reached (`sets`), keeps its path: the error names what the user typed.
 */
export function flagFor(keyPath: readonly (string | number)[], sets: readonly string[] = []): string | null {
  const within = (a: readonly (string | number)[], b: readonly (string | number)[]) => a.every((seg, i) => b[i] === seg);
  if (sets.some((s) => { const p = keyPathOf(s); return within(p, keyPath) || within(keyPath, p); })) return null;
  for (const [flag, prefix] of FLAG_OF) {
    if (prefix.every((seg, i) => keyPath[i] === seg)) {
      const rest = keyPath.slice(prefix.length).filter((s) => typeof s === 'string');
      return rest.length ? `${flag} ${rest.join('.')}` : flag;
    }
  }
  return null;
}

function formatSegs(segs: (string | number)[]): string {
  return segs.map((s, i) => (typeof s === 'number' ? `[${s}]` : (i ? '.' : '') + s)).join('') || 'the top level';
}
