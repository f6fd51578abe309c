import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SluiceError } from '../core/errors.js';
import { syncDir } from '../core/fsx.js';

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
  /**
   * Aborts when the item's time (map.timeout) is up. A processor that reads it gets a moment more
   * to stop and reply before its worker is stopped (see worker/deadline.ts). Set in a worker.
   */
  readonly signal?: AbortSignal;
}

/** Where writeOutput keeps its temp files, inside the output dir. */
export const OUTPUT_TMP_DIR = '.sluice-tmp';
/** test hook: an output whose name contains this string fails with ENOSPC */
const FAULT_OUTPUT_ENOSPC = process.env.SLUICE_FAULT_OUTPUT_ENOSPC ?? '';

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
      // temp files live in one dir of the output dir (same filesystem, so rename is atomic);
      // a run removes what a killed run left there before it starts
      const tmpDir = path.join(outDir, OUTPUT_TMP_DIR);
      await fsp.mkdir(tmpDir, { recursive: true });
      const tmp = path.join(tmpDir, `${randomBytes(8).toString('hex')}.tmp`);
      const fh = await fsp.open(tmp, 'w');
      try {
        if (FAULT_OUTPUT_ENOSPC && name.includes(FAULT_OUTPUT_ENOSPC)) {
          throw Object.assign(new Error(`ENOSPC: no space left on device, write '${name}' (fault injected by SLUICE_FAULT_OUTPUT_ENOSPC)`), { code: 'ENOSPC' });
        }
        await fh.writeFile(data);
        await fh.datasync();
      } catch (err) {
        await fh.close();
        await fsp.rm(tmp, { force: true });
        throw err;
      }
      await fh.close();
      try {
        await fsp.rename(tmp, target);
      } catch (err) {
        await fsp.rm(tmp, { force: true });
        throw err;
      }
      // the rename itself is durable only once the directory is synced; the journal line that
      // says this item is done comes after, so it can never point at an output a power cut undid
      await syncDir(path.dirname(target));
      return display(target);
    },
  };
}
