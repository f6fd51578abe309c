import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { writeOutputFile } from '../core/output.js';
import { MAX_OUTPUT_NAME_CHARS } from './protocol.js';
import type { ProcessorContext } from '../core/processor.js';
import type { ItemDeadline } from './deadline.js';

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
    const f: { outputs?: string[]; outputs_more?: number } = {};
    if (this.names.length) f.outputs = this.names;
    if (this.more) f.outputs_more = this.more;
    return f;
  }
}

/**
 * What a processor gets as `ctx` for one item at one stage. A class, not an object literal made
 * per call: a worker makes one per item and stage (fused stages too), and its methods and the
 * `signal` getter live once on the prototype; its own state is private (#), so a processor that
 * prints ctx sees only what ProcessorContext promises. `signal` is the item's deadline
 * (worker/deadline.ts), undefined when the stage has no timeout. `faultEnospc` is test-only:
 * outputs whose name contains it fail with ENOSPC (core/faults.ts).
 */
export class ItemContext implements ProcessorContext {
  readonly hasOutputDir: boolean;
  emit?: (child: Record<string, unknown>) => Promise<void>;
  readonly #outDir: string | null;
  readonly #display: (abs: string) => string;
  readonly #deadline: ItemDeadline | undefined;
  readonly #faultEnospc: string;
  /** the outputs written, made on the first */
  #written: OutputNames | undefined;

  constructor(readonly options: Record<string, unknown>, outDir: string | null, display: (abs: string) => string, deadline?: ItemDeadline, faultEnospc = '') {
    this.hasOutputDir = outDir !== null;
    this.#outDir = outDir;
    this.#display = display;
    this.#deadline = deadline;
    this.#faultEnospc = faultEnospc;
  }

  get signal(): AbortSignal | undefined {
    return this.#deadline?.signal;
  }

  async writeOutput(name: string, data: string | Uint8Array): Promise<string> {
    const outDir = this.#outDir;
    if (outDir === null) throw new SluiceError('SLUICE_E_OUTPUT_PATH', 'this run has no output dir (set output.dir or --out)');
    // blocking: this thread has nothing else to do meanwhile (see writeOutputFile)
    const target = await writeOutputFile(outDir, name, data, this.#display, this.#faultEnospc, 'blocking');
    (this.#written ??= new OutputNames()).add(path.relative(path.resolve(outDir), target).split(path.sep).join('/'));
    return this.#display(target);
  }

  /** What the item wrote through writeOutput (null: nothing). */
  get written(): OutputNames | null {
    return this.#written ?? null;
  }
}
