import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { journalPath, reportFormatPaths, STATE_REPORT_FILE } from '../checkpoint/files.js';
import { lockHolder } from '../checkpoint/lock.js';
import { reportPathProblem } from './report.js';
import type { PipelineConfig } from './config.js';

// Where a run keeps its state, which files are its own, and whether a run holds it now: the one
// rule run, plan, status and results follow (the file names are checkpoint/files.ts's; liveness is
// the lock's own rule, checkpoint/lock.ts's isHeld, which a run applies when it takes the lock).

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
  const own = new Set([stateDir, ...reportFormatPaths(reportPath)]);
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
    return fs.lstatSync(journalPath(stateDir)).size;
  } catch {
    return 0;
  }
}


/** The run holding the state dir's lock now, by the lock's own rule (a live pid of any user, or a run on another host); null if none. */
export function runningNow(stateDir: string): { pid: number; host: string; started: string } | null {
  const l = lockHolder(stateDir);
  return l.held && l.holder ? { pid: l.holder.pid, host: l.holder.host, started: l.holder.started } : null;
}

export { journalPath };
