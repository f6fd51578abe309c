import path from 'node:path';
import { yaml } from '../core/config.js';
import { SluiceError } from '../core/errors.js';

/** Flags that change the pipeline file's values; applied to the raw data before validation. */
export interface FlagOverrides {
  input?: string[];
  processor?: string;
  /** --exec 'cmd {}': the exec processor with this command */
  exec?: string;
  /** --shell: exec's command through /bin/sh */
  shell?: boolean;
  concurrency?: number;
  timeout?: string;
  out?: string;
  report?: string;
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

/** A processor flag that looks like a path is made absolute against the cwd; a built-in name stays. */
function processorRef(p: string): string {
  return /^(\.{1,2}\/|\/)/.test(p) || p.endsWith('.js') || p.endsWith('.mjs') ? path.resolve(p) : p;
}

export function applyOverrides(raw: Raw, f: FlagOverrides): void {
  if (f.input?.length) obj(obj(raw, 'source'), 'walk').roots = f.input.map((p) => path.resolve(p));
  if (f.exec !== undefined || f.shell !== undefined) applyExec(raw, f);
  if (f.processor !== undefined || f.concurrency !== undefined || f.timeout !== undefined) {
    const m = mapStage(raw);
    if (f.processor !== undefined) {
      if (m.processor !== undefined && m.processor !== f.processor) delete m.options;
      m.processor = processorRef(f.processor);
    }
    if (f.concurrency !== undefined) m.concurrency = f.concurrency;
    if (f.timeout !== undefined) m.timeout = f.timeout;
  }
  if (f.out !== undefined) obj(raw, 'output').dir = path.resolve(f.out);
  if (f.report !== undefined) obj(raw, 'report').path = path.resolve(f.report);
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

/** --set stages[1].map.timeout=30s : the value is read as YAML (numbers, booleans, lists). */
export function setPath(raw: Raw, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new SluiceError('SLUICE_E_USAGE', `--set ${assignment}: expected key.path=value`);
  const keyPath = assignment.slice(0, eq);
  const segs: (string | number)[] = [];
  for (const part of keyPath.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new SluiceError('SLUICE_E_USAGE', `--set ${assignment}: cannot read key path "${keyPath}"`);
    if (m[1]) segs.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) segs.push(Number(idx[1]));
  }
  if (!segs.length || segs.some((s) => s === '__proto__' || s === 'constructor' || s === 'prototype')) {
    throw new SluiceError('SLUICE_E_USAGE', `--set ${assignment}: invalid key path`);
  }
  let value: unknown;
  try {
    value = yaml().parse(assignment.slice(eq + 1));
  } catch {
    value = assignment.slice(eq + 1);
  }
  let cur: any = raw;
  for (let i = 0; i < segs.length - 1; i++) {
    const seg = segs[i]!;
    if (cur[seg] === undefined || cur[seg] === null || typeof cur[seg] !== 'object') cur[seg] = typeof segs[i + 1] === 'number' ? [] : {};
    cur = cur[seg];
  }
  cur[segs[segs.length - 1]!] = value;
}
