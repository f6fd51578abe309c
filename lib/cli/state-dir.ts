import fs from 'node:fs';
import path from 'node:path';
import type { PipelineConfig } from '../run/config.js';
import { SluiceError } from '../core/errors.js';
import { stateDirFor, stateDirLevels } from '../run/state-dir.js';
import { checkStateDir } from '../checkpoint/state.js';
import { configFromArgs, type RunArgs } from './run.js';
import { defaultDisplay } from '../core/fsx.js';

export type StateArgs = Omit<RunArgs, 'progress' | 'progressInterval' | 'grace'>;

/**
 * The state dir a read-only command looks at: --state, else that of the run the pipeline file
 * or the flags describe (as `sluice run` with the same arguments would use), else the only one
 * under ./.sluice (a flags-only run keeps its state there).
 */
export function resolveStateDir(a: StateArgs): { dir: string; config: PipelineConfig | null; own: 1 | 2 } {
  const config = a.pipeline || a.input?.length || a.processor ? configFromArgs({ ...a, progress: 'none', progressInterval: '1s', grace: '10s' }) : null;
  if (a.state) return { dir: path.resolve(a.state), config, own: stateDirLevels(a.state) };
  if (config) return { dir: stateDirFor(config), config, own: stateDirLevels() };
  const base = path.resolve('.sluice');
  let names: string[] = [];
  try {
    names = fs.readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    // no ./.sluice
  }
  if (names.length === 1) return { dir: path.join(base, names[0]!), config: null, own: 2 };
  throw new SluiceError('SLUICE_E_USAGE', names.length
    ? `several state dirs in ${defaultDisplay(base)} (${names.join(', ')}): name one with --state or give the pipeline file`
    : 'no state dir here: give the pipeline file or --state DIR');
}

/** The state dir must exist, and be sluice's own as a run requires (a link or someone else's dir: SLUICE_E_STATE). */
export function requireState(dir: string, own: 1 | 2): void {
  if (!checkStateDir(dir, own, false)) throw new SluiceError('SLUICE_E_USAGE', `no checkpoint in ${defaultDisplay(dir)}: nothing has run with this state dir`);
}
