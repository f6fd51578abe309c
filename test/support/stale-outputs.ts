// Shared by the stale-output tests: a run over in/ with the outputs.mjs fixture writing to out/.
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, sluice } from '../helpers.js';

export const outputs = path.join(FIXTURES, 'processors/outputs.mjs');

export const run = (dir: string, ...more: string[]) =>
  sluice(['run', '--input', 'in', '--processor', outputs, '--out', 'out', '--state', 'st', '--progress', 'none', '-j', '1', ...more], { cwd: dir });
export const summaryOf = (r: { lines: Record<string, any>[] }) => r.lines.at(-1)!;
export const report = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'st/report.json'), 'utf8')) as Record<string, any>;
export const exists = (dir: string, rel: string) => fs.existsSync(path.join(dir, rel));
