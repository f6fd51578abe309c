import path from 'node:path';
import { loadPipelineFile, parsePipeline, type PipelineConfig } from '../core/config.js';
import { SluiceError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { runPipeline, type RunOptions } from '../core/pipeline.js';
import type { ProgressMode } from '../core/progress.js';
import { VERSION } from '../core/version.js';
import { defaultConcurrency } from '../stages/map.js';
import { BUILTIN_PROCESSORS } from '../processors/index.js';
import { applyOverrides, type FlagOverrides } from './overrides.js';

export interface RunArgs extends FlagOverrides {
  pipeline?: string;
  fresh?: boolean;
  retryFailed?: boolean;
  resume?: boolean;
  keepDone?: boolean;
  state?: string;
  progress: ProgressMode;
  progressInterval: string;
  maxItems?: number;
  maxFailures?: number;
  grace: string;
  lines?: boolean;
  null?: boolean;
  strict?: boolean;
}

/** How a bare "-" (standard input) reaches the commands: no file path can contain a NUL. */
export const STDIN_ARG = '\0stdin';

/** A pipeline from the file, or from flags alone (`sluice run --input docs --processor sha256`). */
export function configFromArgs(a: RunArgs): PipelineConfig {
  if (readsStdin(a)) {
    if (a.pipeline === STDIN_ARG && a.input?.length) throw new SluiceError('SLUICE_E_USAGE', '-: standard input cannot be mixed with --input');
    if (a.input && a.input.length > 1) throw new SluiceError('SLUICE_E_USAGE', '--input -: standard input cannot be mixed with other inputs');
    a = { ...a, pipeline: a.pipeline === STDIN_ARG ? undefined : a.pipeline, input: ['.'] }; // stdin replaces the walk; its root only has to exist
  }
  const patch = (raw: Record<string, unknown>) => applyOverrides(raw, a);
  if (a.pipeline) return loadPipelineFile(a.pipeline, patch);
  if (!a.input?.length || !(a.processor || a.exec !== undefined)) {
    throw new SluiceError('SLUICE_E_USAGE', 'give a pipeline file, or --input with --processor or --exec (see sluice run --help)');
  }
  const proc = a.processor ?? 'exec';
  const name = Object.hasOwn(BUILTIN_PROCESSORS, proc) ? proc : path.basename(proc).replace(/\.[cm]?js$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'run';
  const text = JSON.stringify({ version: 1, name, source: { walk: { roots: [] } }, stages: [{ dedupe: {} }, { map: {} }] });
  return parsePipeline(text, '(command line)', process.cwd(), patch, true);
}

/** `sluice run -` or `--input -`: items come from standard input. */
export function readsStdin(a: RunArgs): boolean {
  return a.pipeline === STDIN_ARG || (a.input?.includes(STDIN_ARG) ?? false);
}

export function modeOf(a: RunArgs): RunOptions['mode'] {
  const picked = [a.fresh && 'fresh', a.retryFailed && 'retry-failed', a.resume && 'resume'].filter(Boolean);
  if (picked.length > 1) throw new SluiceError('SLUICE_E_USAGE', `--${picked.join(' and --')} cannot be used together`);
  return a.fresh ? 'fresh' : a.retryFailed ? 'retry-failed' : 'resume';
}

export async function runCommand(a: RunArgs, stop: AbortSignal): Promise<number> {
  const config = configFromArgs(a);
  const interval = parseDuration(a.progressInterval);
  if (interval === undefined || interval < 50) {
    throw new SluiceError('SLUICE_E_USAGE', `--progress-interval: expected a duration of at least 50ms like "1s", got ${JSON.stringify(a.progressInterval)}`);
  }
  const graceMs = parseDuration(a.grace);
  if (graceMs === undefined) throw new SluiceError('SLUICE_E_USAGE', `--grace: expected a duration like "10s", got ${JSON.stringify(a.grace)}`);
  const fromStdin = readsStdin(a);
  if (!fromStdin && (a.lines || a.null || a.strict)) throw new SluiceError('SLUICE_E_USAGE', '--lines, -0 and --strict are for --input - (paths on standard input)');
  if (a.lines && a.null) throw new SluiceError('SLUICE_E_USAGE', '--lines and -0 cannot be used together');
  const outcome = await runPipeline({
    stdin: fromStdin ? { input: process.stdin, format: a.null ? 'nul' : a.lines ? 'lines' : 'ndjson', strict: !!a.strict } : undefined,
    config,
    version: VERSION,
    mode: modeOf(a),
    keepDone: !!a.keepDone,
    stateDir: a.state,
    concurrency: config.map.concurrency ?? defaultConcurrency(),
    progress: a.progress,
    progressIntervalMs: interval,
    maxItems: a.maxItems,
    maxFailures: a.maxFailures,
    graceMs,
    out: process.stdout,
    err: process.stderr,
    stop,
  });
  return outcome.exitCode;
}
