// Preloaded into the CLI (node --import) by the lock race test: every liveness check
// (process.kill(pid, 0)) takes a second, as on a machine under heavy load, which widens the window
// between reading a stale lock and acting on it so that two runs started together overlap in it.
const pause = new Int32Array(new SharedArrayBuffer(4));
const kill = process.kill.bind(process);
process.kill = ((pid: number, signal?: string | number) => {
  if (signal === 0) Atomics.wait(pause, 0, 0, 1000);
  return kill(pid, signal);
}) as typeof process.kill;
