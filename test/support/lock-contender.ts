// One contender in the lock race test, driven over stdin, one tab-separated command a line:
//   try <state dir> <go file>  prints `ready`, spins until <go file> exists (so that every
//                              contender calls acquire within microseconds of the others), then
//                              prints `held`, or `locked <error code>`
//   release                    releases what it holds and prints `released`
// stdout is a pipe: writes to it are synchronous, so `ready` is out before the spin starts.
//
// To explore the interleavings rather than wait for a lucky one, every file system call and
// liveness check the lock makes is delayed, half the time, by a random pause of up to 2 ms (as
// if the process had been preempted there).
import fs from 'node:fs';
import readline from 'node:readline';
import { Lock } from '../../lib/checkpoint/lock.js';

const cell = new Int32Array(new SharedArrayBuffer(4));
const jitter = () => {
  if (Math.random() < 0.5) Atomics.wait(cell, 0, 0, Math.random() * 2);
};
const patched = fs as unknown as Record<string, (...a: unknown[]) => unknown>;
for (const name of ['openSync', 'readSync', 'fstatSync', 'lstatSync', 'linkSync', 'renameSync', 'unlinkSync', 'rmSync', 'writeFileSync', 'readFileSync']) {
  const real = patched[name]!.bind(fs);
  patched[name] = (...a: unknown[]) => {
    jitter();
    return real(...a);
  };
}
const kill = process.kill.bind(process);
process.kill = ((pid: number, signal?: string | number) => {
  jitter();
  return kill(pid, signal);
}) as typeof process.kill;

let held: Lock | null = null;
const say = (s: string) => process.stdout.write(s + '\n');

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, dir, go] = line.split('\t');
  if (cmd === 'try') {
    say('ready');
    while (!fs.existsSync(go!)) { /* the barrier */ }
    try {
      held = Lock.acquire(dir!);
      say('held');
    } catch (err) {
      say(`locked ${(err as { code?: string }).code}`);
    }
  } else if (cmd === 'release') {
    held?.release();
    held = null;
    say('released');
  }
});
