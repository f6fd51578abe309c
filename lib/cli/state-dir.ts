import fs from 'node:fs';
import path from 'node:path';
import type { PipelineConfig } from '../core/config.js';
import { SluiceError } from '../core/errors.js';
import { stateDirFor } from '../core/pipeline.js';
import { defaultDisplay } from '../stages/walk.js';
import { configFromArgs, type RunArgs } from './run.js';

export type StateArgs = Omit<RunArgs, 'progress' | 'progressInterval' | 'grace'>;

/**
 * The state dir a read-only command looks at: --state, else that of the run the pipeline file
 * or the flags describe (as `sluice run` with the same arguments would use), else the only one
 * under ./.sluice (a flags-only run keeps its state there).
 */
export function resolveStateDir(a: StateArgs): { dir: string; config: PipelineConfig | null } {
  const config = a.pipeline || a.input?.length || a.processor ? configFromArgs({ ...a, progress: 'none', progressInterval: '1s', grace: '10s' }) : null;
  if (a.state) return { dir: path.resolve(a.state), config };
  if (config) return { dir: stateDirFor(config), config };
  const base = path.resolve('.sluice');
  let names: string[] = [];
  try {
    names = fs.readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    // no ./.sluice
  }
  if (names.length === 1) return { dir: path.join(base, names[0]!), config: null };
  throw new SluiceError('SLUICE_E_USAGE', names.length
    ? `several state dirs in ${defaultDisplay(base)} (${names.join(', ')}): name one with --state or give the pipeline file`
    : 'no state dir here: give the pipeline file or --state DIR');
}

export function requireState(dir: string): void {
  if (!fs.existsSync(dir)) throw new SluiceError('SLUICE_E_USAGE', `no checkpoint in ${defaultDisplay(dir)}: nothing has run with this state dir`);
}
