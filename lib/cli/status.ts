import os from 'node:os';
import { readStatus, type Status } from '../run/status.js';
import { journalPath } from '../run/state-dir.js';
import { requireState, resolveStateDir, type StateArgs } from './state-dir.js';
import { followRun } from './follow.js';

function formatStatus(s: Status): string {
  const out = [`state ${s.state}${s.pipeline ? ` (pipeline ${s.pipeline}, config ${s.config_hash ?? '?'})` : ''}`];
  out.push(s.running ? `running now: pid ${s.running.pid}${s.running.host === os.hostname() ? '' : ` on ${s.running.host}`}, since ${s.running.started}` : 'not running');
  out.push(`done ${s.done}: ${s.ok} ok, ${s.failed} failed${s.pending !== null ? `; pending ${s.pending} of ${s.found} found` : ''}`);
  if (s.last_run) {
    const l = s.last_run;
    out.push(`last run ${l.run}: started ${l.started}, ${l.ended ? `ended ${l.ended}, exit ${l.exit_code}` : 'did not end (killed, or still running)'}; ${l.ok} ok, ${l.failed} failed, ${l.skipped} skipped`);
  }
  out.push(`runs so far: ${s.runs}; journal lines: ${s.journal_lines}${s.unreadable_lines ? ` (${s.unreadable_lines} unreadable, skipped)` : ''}`);
  if (s.top_errors.length) out.push(`top errors: ${s.top_errors.map((e) => `${e.code} ${e.count}`).join(', ')}`);
  return out.join('\n') + '\n';
}

export async function statusCommand(a: StateArgs & { json?: boolean; follow?: boolean }): Promise<number> {
  const { dir, config, own } = resolveStateDir(a);
  requireState(dir, own);
  if (a.follow) return followRun(dir, !!a.json, process.stdout);
  const s = await readStatus(dir, config);
  if (s.unreadable_lines) process.stderr.write(`sluice: journal ${journalPath(dir)}: skipped ${s.unreadable_lines} unreadable line(s)\n`);
  process.stdout.write(a.json ? JSON.stringify(s) + '\n' : formatStatus(s));
  return 0;
}
