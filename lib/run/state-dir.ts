import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { JOURNAL_FILE } from '../checkpoint/journal.js';
import { reportMdPath, STATE_REPORT_FILE } from '../checkpoint/state.js';
import { reportPathProblem } from '../stages/report.js';
import type { PipelineConfig } from './config.js';

// Where a run keeps its state, and which files are its own: the one rule run, plan, status and
// results follow (the file names themselves are checkpoint/state.ts's, the lock's liveness
// checkpoint/lock.ts's lockHolder).

export function stateDirFor(cfg: PipelineConfig, override?: string): string {
  return override ? path.resolve(override) : path.join(cfg.checkpoint.dir, cfg.name);
}

/** How many trailing components of stateDirFor's path are sluice's own: <checkpoint.dir>/<name>, or the --state dir. */
export function stateDirLevels(override?: string): 1 | 2 {
  return override ? 1 : 2;
}

/** The run's own files (state, report, outputs): never inputs, even when they sit under a root. */
export function ownFilesOf(cfg: PipelineConfig, stateDir: string): Set<string> {
  const reportPath = reportPathOf(cfg, stateDir);
  const own = new Set([stateDir, reportPath, reportMdPath(reportPath)]);
  if (cfg.outputDir) own.add(path.resolve(cfg.outputDir));
  return own;
}

export function reportPathOf(cfg: PipelineConfig, stateDir: string): string {
  return cfg.report.path ?? path.join(stateDir, STATE_REPORT_FILE);
}

/** Refuse (exit 2, before anything is created) a report path that would overwrite the checkpoint or an input. */
export function checkReportPath(cfg: PipelineConfig, stateDir: string): void {
  const problem = reportPathProblem(reportPathOf(cfg, stateDir), cfg.report.formats, stateDir, cfg.walk.roots);
  if (problem) throw new SluiceError('SLUICE_E_CONFIG', `report.path (--report) refused: ${problem}`);
}

/** The journal's size on disk (0 when there is none). */
export function journalBytes(stateDir: string): number {
  try {
    return fs.lstatSync(path.join(stateDir, JOURNAL_FILE)).size;
  } catch {
    return 0;
  }
}

