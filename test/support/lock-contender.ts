// One contender in the lock race test, driven over stdin, one tab-separated command a line:
//   try <state dir> <go file>  prints `ready`, spins until <go file> exists (so that every
//                              contender calls acquire within microseconds of the others), then
//                              prints `held`, or `locked <error code>`
//   release                    releases what it holds and prints `released`
// stdout is a pipe: writes to it are synchronous, so `ready` is out before the spin starts.
import fs from 'node:fs';
import readline from 'node:readline';
import { Lock } from '../../lib/checkpoint/lock.js';

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
