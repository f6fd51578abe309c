import { isMainThread, Worker } from 'node:worker_threads';

/**
 * execArgv for sluice's worker threads: the process's own flags, less those a worker may not take,
 * plus --no-experimental-require-module: piscina loads modules with require() first, and on
 * Node >= 20.19 a thread stopped in the middle of a require(esm) can bring the whole process down
 * with a V8 fatal error ("IsGraphAsync must be used on an instantiated module"; seen in the fault
 * soak at 20k items). Without require(esm), piscina falls back to import(), which is safe to
 * interrupt.
 *
 * V8 and per-process flags (`node --max-old-space-size=8192 sluice ...`, --trace-gc, the
 * semi-space sizes) make `new Worker` throw; they apply to the whole process anyway. Node names
 * the ones it refuses, so a probe thread finds them once, only when the process has flags at all.
 */
export function threadExecArgv(): string[] {
  if (cachedArgv) return cachedArgv;
  const own = process.execArgv.filter((a) => a !== REQUIRE_ESM_OFF && !HEAP_SIZE_FLAG.test(a));
  let argv = [...own, REQUIRE_ESM_OFF];
  if (own.length && isMainThread) {
    try {
      void new Worker('', { eval: true, execArgv: argv, stdout: true, stderr: true }).terminate();
    } catch (err) {
      const m = /flags: (.*)$/.exec((err as Error).message);
      if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || !m) throw err;
      const refused = new Set(m[1]!.split(', '));
      argv = argv.filter((a) => !refused.has(a));
    }
  }
  return (cachedArgv = argv);
}
const REQUIRE_ESM_OFF = '--no-experimental-require-module';
/**
 * Heap sizes, which `new Worker` refuses, are dropped without a probe: the CLI's launcher
 * (bin/sluice.mjs) passes them on every run, and a probe thread would cost the first result its
 * start-up time. (The launcher unsets its own once the main thread's heap is made, so a thread
 * takes its sizes from resourceLimits; ones given to node by hand apply to every thread.)
 */
const HEAP_SIZE_FLAG = /^--max-(old|semi)-space-size=/;
let cachedArgv: string[] | null = null;

/**
 * Young generation sizes for sluice's threads. The processor workers keep V8's usual one
 * (3 x 16 MB semi-spaces: pdfjs allocates a lot). The walker and its helper get a third of that,
 * which kept a resume's peak RSS under 185 MB (with 48 MB it reached 277 MB in some runs) at no
 * measurable cost in speed. (The main thread's is set by the CLI's launcher, bin/sluice.mjs: node
 * flags it unsets once the main heap is made. See docs/design-notes.md.)
 */
export const THREAD_YOUNG_GENERATION_MB = 48;
export const WALKER_YOUNG_GENERATION_MB = 16;
/**
 * The walker's and its helper's heap: the young generation above, and the old-generation limit
 * the launcher gives the main thread (1.5 GB). Below a 2 GB limit V8 grows an old generation to
 * 1.3-2x what survived its last full collection instead of 4x; the walk keeps little alive (its
 * key table is off the heap), so this is what its heap stays near, at any item count.
 */
export const WALKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: WALKER_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: 1536 } as const;
