import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { writeOutputFile } from '../core/output.js';
import { MAX_OUTPUT_NAME_CHARS } from './protocol.js';
import type { ProcessorContext } from '../core/processor.js';

/**
 * The outputs one item wrote, as its reply carries them to the journal: each name once, relative
 * to the output dir with `/` separators, at most MAX_OUTPUT_NAME_CHARS characters of names (the
 * rest only counted), so a journal line stays bounded whatever a processor writes.
 */
export class OutputNames {
  readonly names: string[] = [];
  more = 0;
  private chars = 0;

  add(rel: string): void {
    if (this.names.includes(rel)) return;
    if (this.chars + rel.length > MAX_OUTPUT_NAME_CHARS) {
      this.more++;
      return;
    }
    this.chars += rel.length;
    this.names.push(rel);
  }

  /** The reply's fields: none when nothing was written. */
  fields(): { outputs?: string[]; outputs_more?: number } {
    return { ...(this.names.length ? { outputs: this.names } : {}), ...(this.more ? { outputs_more: this.more } : {}) };
  }
}

/** `faultEnospc`: test-only, outputs whose name contains it fail with ENOSPC (core/faults.ts) */
export function makeContext(outDir: string | null, options: Record<string, unknown>, display: (abs: string) => string, written?: OutputNames, faultEnospc = ''): ProcessorContext {
  return {
    options,
    hasOutputDir: outDir !== null,
    async writeOutput(name, data) {
      if (outDir === null) throw new SluiceError('SLUICE_E_OUTPUT_PATH', 'this run has no output dir (set output.dir or --out)');
      const target = await writeOutputFile(outDir, name, data, display, faultEnospc);
      written?.add(path.relative(path.resolve(outDir), target).split(path.sep).join('/'));
      return display(target);
    },
  };
}
