import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SluiceError } from '../core/errors.js';

/** What a processor receives besides the item. */
export interface ProcessorContext {
  options: Record<string, unknown>;
  /** true when outputs go to files (an output dir is set); else return them inline */
  hasOutputDir: boolean;
  /**
   * Write `data` atomically to `name` under the run's output dir (temp file, fsync, rename) and
   * return its path as shown to the user. `name` must be relative and stay inside the dir.
   */
  writeOutput(name: string, data: string | Uint8Array): Promise<string>;
}

export function safeOutputPath(outDir: string, name: string): string {
  if (typeof name !== 'string' || !name) throw new SluiceError('SLUICE_E_OUTPUT_PATH', 'output name is empty');
  if (name.includes('\0')) throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name contains a NUL byte: ${JSON.stringify(name)}`);
  if (path.isAbsolute(name)) throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name must be relative: ${name}`);
  if (name.split(/[\\/]/).includes('..')) throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name may not contain "..": ${name}`);
  const target = path.resolve(outDir, name);
  if (!target.startsWith(path.resolve(outDir) + path.sep)) throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name escapes the output dir: ${name}`);
  return target;
}

export function makeContext(outDir: string | null, options: Record<string, unknown>, display: (abs: string) => string): ProcessorContext {
  return {
    options,
    hasOutputDir: outDir !== null,
    async writeOutput(name, data) {
      if (outDir === null) throw new SluiceError('SLUICE_E_OUTPUT_PATH', 'this run has no output dir (set output.dir or --out)');
      const target = safeOutputPath(outDir, name);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
      const fh = await fsp.open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      try {
        await fsp.rename(tmp, target);
      } catch (err) {
        await fsp.rm(tmp, { force: true });
        throw err;
      }
      return display(target);
    },
  };
}
