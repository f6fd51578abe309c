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
