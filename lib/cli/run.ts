import { faultsFromEnv } from '../core/faults.js';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadPipelineFile, parsePipeline, type PipelineConfig } from '../run/config.js';
import { SluiceError } from '../core/errors.js';
import { DURATION_FORMS, parseDuration } from '../core/duration.js';
import { HumanWriter, painter, summaryText } from './human.js';
import { runPipeline, type RunOptions } from '../run/run.js';
import type { ProgressMode } from '../run/progress.js';
import { VERSION } from '../core/version.js';
import { defaultConcurrency } from '../stages/map.js';
import { BUILTIN_PROCESSORS } from '../processors/index.js';
import { applyOverrides, flagFor, type FlagOverrides } from './overrides.js';

export interface RunArgs extends FlagOverrides {
  pipeline?: string;
  /** NDJSON on stdout even when it is a terminal */
  json?: boolean;
  fresh?: boolean;
  retryFailed?: boolean;
  resume?: boolean;
  keepDone?: boolean;
  state?: string;
  progress: ProgressMode;
  progressInterval: string;
  maxItems?: number;
  maxFailures?: number;
  keepOrder?: boolean;
  runStatus?: boolean;
  pruneOutputs?: boolean;
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
  if (a.pipeline) {
    if (isDirectory(a.pipeline)) {
      throw new SluiceError('SLUICE_E_USAGE', `${a.pipeline} is a directory, not a pipeline file: to process the files in it, use --input ${a.pipeline} --processor NAME`);
    }
    return loadPipelineFile(a.pipeline, patch);
  }
  if (!a.input?.length || !(a.processor || a.exec !== undefined)) {
    throw new SluiceError('SLUICE_E_USAGE', 'give a pipeline file, or --input with --processor or --exec (see sluice run --help)');
  }
  const proc = a.processor ?? 'exec';
  const builtin = Object.hasOwn(BUILTIN_PROCESSORS, proc) ? BUILTIN_PROCESSORS[proc]! : null;
  const name = builtin ? proc : path.basename(proc).replace(/\.[cm]?js$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'run';
  // what a processor reads (pdf-text: *.pdf), and never dotfiles or dot-directories (.git, .DS_Store): --include / --exclude replace these
  const walk = { roots: [], include: builtin?.spec.accepts ?? ['**/*'], exclude: [...FLAG_RUN_EXCLUDE] };
  const text = JSON.stringify({ version: 1, name, source: { walk }, stages: [{ dedupe: {} }, { map: {} }] });
  try {
    return parsePipeline(text, '(command line)', process.cwd(), patch, true);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // name the flags the user typed, not the pipeline keys they stand for
    throw new ConfigError('options', err.issues.map((i) => {
      const flag = flagFor(i.path, a.set);
      return flag ? { ...i, path: [flag] } : i;
    }));
  }
}

/** A run from flags alone skips dotfiles and dot-directories, as ls and shell globs do. */
const FLAG_RUN_EXCLUDE = ['**/.*'] as const;

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** `sluice run -` or `--input -`: items come from standard input. */
function readsStdin(a: RunArgs): boolean {
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
    throw new SluiceError('SLUICE_E_USAGE', `--progress-interval: expected ${DURATION_FORMS}, at least 50ms, got ${JSON.stringify(a.progressInterval)}`);
  }
  const graceMs = parseDuration(a.grace);
  if (graceMs === undefined) throw new SluiceError('SLUICE_E_USAGE', `--grace: expected ${DURATION_FORMS}, got ${JSON.stringify(a.grace)}`);
  const fromStdin = readsStdin(a);
  if (!fromStdin && (a.lines || a.null || a.strict)) throw new SluiceError('SLUICE_E_USAGE', '--lines, -0 and --strict are for --input - (paths on standard input)');
  if (a.lines && a.null) throw new SluiceError('SLUICE_E_USAGE', '--lines and -0 cannot be used together');
  if (fromStdin && a.pruneOutputs) throw new SluiceError('SLUICE_E_USAGE', '--prune-outputs needs a walk of the inputs (stale outputs are those of inputs the walk no longer finds or that now fail); it cannot be used with paths on standard input');
  // a person at the terminal reads words; a pipe, a file or --json gets NDJSON
  const human = !a.json && !!process.stdout.isTTY;
  const outcome = await runPipeline({
    events: human ? new HumanWriter(process.stdout, !!process.stderr.isTTY && a.progress !== 'none') : undefined,
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
    keepOrder: !!a.keepOrder,
    runStatus: !!a.runStatus,
    pruneOutputs: !!a.pruneOutputs,
    graceMs,
    out: process.stdout,
    err: process.stderr,
    stop,
    faults: faultsFromEnv(),
  });
  // the summary in words stays on a terminal's screen (stdout's NDJSON goes elsewhere)
  if (!human && process.stderr.isTTY) process.stderr.write(summaryText(outcome.summary, painter(process.stderr)));
  return outcome.exitCode;
}
