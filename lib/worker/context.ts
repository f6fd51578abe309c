import { SluiceError } from '../core/errors.js';
import { writeOutputFile } from './output.js';

/** What a processor receives besides the item. */
export interface ProcessorContext {
  options: Record<string, unknown>;
  /** true when outputs go to files (an output dir is set); else return them inline */
  hasOutputDir: boolean;
  /**
   * Write `data` atomically to `name` under the run's output dir (temp file, fsync, rename) and
   * return its path as shown to the user. `name` must be relative and stay inside the dir, and no
   * directory on the way may be a symbolic link. It rejects only with a SluiceError that says
   * what went wrong with the output (a full disk is SLUICE_E_DISK_FULL and stops the run): a
   * processor should let it through as it is.
   */
  writeOutput(name: string, data: string | Uint8Array): Promise<string>;
  /**
   * Aborts when the item's time (map.timeout) is up. A processor that reads it gets a moment more
   * to stop and reply before its worker is stopped (see worker/deadline.ts). Set in a worker.
   */
  readonly signal?: AbortSignal;
}

export function makeContext(outDir: string | null, options: Record<string, unknown>, display: (abs: string) => string): ProcessorContext {
  return {
    options,
    hasOutputDir: outDir !== null,
    async writeOutput(name, data) {
      if (outDir === null) throw new SluiceError('SLUICE_E_OUTPUT_PATH', 'this run has no output dir (set output.dir or --out)');
      return display(await writeOutputFile(outDir, name, data, display));
    },
  };
}
