import { createRequire } from 'node:module';
import type * as zod from 'zod';

const require = createRequire(import.meta.url);

export const z: typeof zod.z = (require('zod') as typeof zod).z;
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace z {
  type output<T> = zod.output<T>;
  type ZodType<O = unknown, I = unknown> = zod.ZodType<O, I>;
}
