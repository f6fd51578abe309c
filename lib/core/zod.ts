import fs from 'node:fs';
import path from 'node:path';
import Module, { createRequire } from 'node:module';
import type * as zod from 'zod';

/**
 * zod, for every module of sluice: import `z` from here, never from 'zod'. Loaded with require
 * (zod's CommonJS build), which reads its ~100 files one at a time; zod's ES module entry pulls
 * in ~50 locale modules that Node's ESM loader opens all at once, and under a low open-file
 * limit (ulimit -n 64) that alone failed every command, `--version` included, with EMFILE.
 */
const require = createRequire(import.meta.url);

/**
 * zod's table of its ~60 message locales (`z.locales`), each loaded when first used instead of
 * all at once: loading them was half of zod's load time, paid by every sluice process and every
 * worker thread (sluice itself uses only English, which zod loads on its own). The names and
 * files come from zod's own index; if its shape is not recognised, zod loads it as usual.
 */
function lazyLocales(): void {
  const index = require.resolve('zod/v4/locales');
  if (require.cache[index]) return;
  let pairs: [file: string, name: string][];
  try {
    const text = fs.readFileSync(index, 'utf8');
    pairs = [...text.matchAll(/require\("\.\/([\w-]+\.cjs)"\);\s*Object\.defineProperty\(exports, "(\w+)"/g)].map((m) => [m[1]!, m[2]!]);
  } catch {
    return;
  }
  if (pairs.length < 10) return;
  const table: Record<string, unknown> = {};
  Object.defineProperty(table, '__esModule', { value: true });
  for (const [file, name] of pairs) {
    Object.defineProperty(table, name, {
      enumerable: true,
      get: () => {
        // as zod's index reads each: a locale module is its function, or an ES module's default
        const mod = require(path.join(path.dirname(index), file)) as { __esModule?: boolean; default?: unknown };
        return mod?.__esModule ? mod.default : mod;
      },
    });
  }
  const m = new Module(index);
  m.filename = index;
  m.loaded = true;
  m.exports = table;
  require.cache[index] = m;
}

lazyLocales();
export const z: typeof zod.z = (require('zod') as typeof zod).z;
// the types sluice uses through `z.`
export declare namespace z {
  type output<T> = zod.output<T>;
  type ZodType<O = unknown, I = unknown> = zod.ZodType<O, I>;
}
