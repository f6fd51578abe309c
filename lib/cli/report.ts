import path from 'node:path';
import { rebuildReport } from '../run/rebuild.js';
import { reportHtml } from '../run/html-report.js';
import { reportMarkdown } from '../run/report.js';
import { writeAtomic } from '../core/safe-fs.js';
import { VERSION } from '../core/version.js';
import { requireState, resolveStateDir, type StateArgs } from './state-dir.js';

/**
 * `sluice report`: the report of a state dir's job and its last (or running) run, rebuilt from
 * the journal and the progress timeline: HTML (one self-contained file), Markdown or JSON, to
 * stdout or to a file written atomically (never through a link). Read-only on the state dir.
 */
export async function reportCommand(a: StateArgs & { format?: string; output?: string }): Promise<number> {
  const { dir, own } = resolveStateDir(a);
  requireState(dir, own);
  const r = await rebuildReport(dir, VERSION);
  const text = a.format === 'json' ? JSON.stringify(r, null, 2) + '\n' : a.format === 'md' ? reportMarkdown(r) : reportHtml(r);
  if (a.output) writeAtomic(path.resolve(a.output), text);
  else process.stdout.write(text);
  return 0;
}
