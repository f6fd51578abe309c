#!/usr/bin/env node
import { openFileLimit } from '../lib/core/limits.js';

// sluice loads as a graph of modules read in parallel: with very few file descriptors (ulimit -n)
// the load itself fails; say so plainly instead of with a stack
let main: (argv: string[]) => Promise<number>;
try {
  ({ main } = await import('../lib/cli/index.js'));
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EMFILE' && code !== 'ENFILE') throw err;
  const limit = openFileLimit();
  process.stderr.write(`sluice: out of file descriptors while starting (${code}${limit !== null ? `; the open-file limit is ${limit}` : ''}): raise it (ulimit -n 1024)\n`);
  process.exit(3);
}
const code = await main(process.argv.slice(2));
// Leave once stdout has taken everything; a reader that went away (| head) can't hold us up.
if (process.stdout.writableLength === 0 || process.stdout.destroyed) process.exit(code);
process.stdout.once('drain', () => process.exit(code));
process.stdout.once('error', () => process.exit(code));
process.stdout.once('close', () => process.exit(code));
