/**
 * execArgv for sluice's worker threads: the process's own flags, less those a worker may not take
 * (V8 heap sizing is per process), plus --no-experimental-require-module: piscina loads modules
 * with require() first, and on Node >= 20.19 a thread stopped in the middle of a require(esm)
 * can bring the whole process down with a V8 fatal error ("IsGraphAsync must be used on an
 * instantiated module"; seen in the fault soak at 20k items). Without require(esm), piscina
 * falls back to import(), which is safe to interrupt.
 */
export function threadExecArgv(): string[] {
  return [...process.execArgv.filter((a) => !/^--(max|min)-semi-space-size/.test(a)), '--no-experimental-require-module'];
}

/**
 * Young generation sizes for sluice's threads. The processor workers keep V8's usual one
 * (3 x 16 MB semi-spaces: pdfjs allocates a lot). The walker and its helper get a third of that,
 * which kept a resume's peak RSS under 185 MB (with 48 MB it reached 277 MB in some runs) at no
 * measurable cost in speed. (The main thread's cannot be set from inside the process without
 * changing it for every thread: see docs/design-notes.md.)
 */
export const THREAD_YOUNG_GENERATION_MB = 48;
export const WALKER_YOUNG_GENERATION_MB = 16;
