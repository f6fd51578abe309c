import { createRequire } from 'node:module';
import type * as zod from 'zod';

/**
 * zod, for every module of sluice: import `z` from here, never from 'zod'. Loaded with require
 * (zod's CommonJS build), which reads its ~100 files one at a time; zod's ES module entry pulls
 * in ~50 locale modules that Node's ESM loader opens all at once, and under a low open-file
 * limit (ulimit -n 64) that alone failed every command, `--version` included, with EMFILE.
 */
const require = createRequire(import.meta.url);

export const z: typeof zod.z = (require('zod') as typeof zod).z;
// the types sluice uses through `z.`
export declare namespace z {
  type output<T> = zod.output<T>;
  type ZodType<O = unknown, I = unknown> = zod.ZodType<O, I>;
}
