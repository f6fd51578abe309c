#!/usr/bin/env node
import { main } from '../lib/cli/index.js';

const code = await main(process.argv.slice(2));
// Leave once stdout has taken everything; a reader that went away (| head) can't hold us up.
if (process.stdout.writableLength === 0 || process.stdout.destroyed) process.exit(code);
process.stdout.once('drain', () => process.exit(code));
process.stdout.once('error', () => process.exit(code));
process.stdout.once('close', () => process.exit(code));
