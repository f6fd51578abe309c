// A job for the report tests: 60 small files and two that fail, one of them with a name that is
// markup, both with a message that is markup.
import fs from 'node:fs';
import path from 'node:path';
import { makeTree, sluice, tmpDir, type RunResult } from '../helpers.js';

export const HOSTILE_NAME = '<img src=x onerror=alert(1)>.txt';
export const HOSTILE_MESSAGE = '</script><script>alert(2)</script> & "quotes"';

/** A temp dir with in/ (62 files) and proc.mjs (50 ms an item; a file starting with "bad" fails with HOSTILE_MESSAGE). */
export function job(): string {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 60, 60);
  // the largest files: they run among the first (largest first), long before the run ends
  fs.writeFileSync(path.join(dir, 'in', HOSTILE_NAME), 'bad'.padEnd(1000, '.'));
  fs.writeFileSync(path.join(dir, 'in', 'also-bad.txt'), 'bad'.padEnd(1000, '.'));
  fs.writeFileSync(path.join(dir, 'proc.mjs'), `import fs from 'node:fs';\nexport default async (item) => { await new Promise((r) => setTimeout(r, 50)); if (fs.readFileSync(item.path, 'utf8').startsWith('bad')) throw new Error(${JSON.stringify(HOSTILE_MESSAGE)}); return {}; };\n`);
  return dir;
}

/** job() run to its end (exit 1: two failed), state in st/. */
export async function ranJob(): Promise<{ dir: string; run: RunResult }> {
  const dir = job();
  const run = await sluice(['run', '--input', 'in', '--processor', './proc.mjs', '--state', 'st', '--progress', 'none', '--include', '**/*'], { cwd: dir });
  return { dir, run };
}
