import fs from 'node:fs';
import { SluiceError } from './errors.js';

/**
 * The open-file limit, checked before a run starts rather than met half-way through it. Node
 * raises its soft RLIMIT_NOFILE to the hard one as it starts, so the soft limit read here is all
 * the process can have. Imports only node:fs and the error table: the entry point uses it before
 * the rest of sluice loads.
 */

/** The soft limit on open files, from /proc/self/limits (Linux); null where that cannot be read. */
export function openFileLimit(limits = '/proc/self/limits'): number | null {
  let text: string;
  try {
    text = fs.readFileSync(limits, 'latin1');
  } catch {
    return null;
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  if (!m) return null;
  return m[1] === 'unlimited' ? Infinity : Number.parseInt(m[1]!, 10) || null;
}

/** Descriptors open in this process now (Linux: /proc/self/fd); Infinity when none is left to list them; null where that cannot be read. */
export function openFileCount(dir = '/proc/self/fd'): number | null {
  try {
    return fs.readdirSync(dir).length - 1; // less the one the listing itself used
  } catch (err) {
    const code = (err as { code?: string }).code;
    return code === 'EMFILE' || code === 'ENFILE' ? Infinity : null;
  }
}

/**
 * Descriptors a run with `concurrency` workers needs. Measured (Linux, Node 20): about 56 to
 * start (Node's own, and modules loading in parallel), and about 5 more per worker thread (its
 * event loop, its modules loading, an input, an output's temp file, a directory sync); rounded
 * up for margin.
 */
export function fdsNeeded(concurrency: number): number {
  return FDS_BASE + FDS_PER_WORKER * concurrency;
}
const FDS_BASE = 64;
const FDS_PER_WORKER = 8;

/** Throw SLUICE_E_FD_LIMIT, saying what is needed, when the limit is below what a run needs. */
export function checkFdLimit(concurrency: number, limit = openFileLimit()): void {
  if (limit === null) return;
  const need = fdsNeeded(concurrency);
  if (limit >= need) return;
  const fits = Math.floor((limit - FDS_BASE) / FDS_PER_WORKER);
  throw new SluiceError('SLUICE_E_FD_LIMIT',
    `the open-file limit is ${limit} (ulimit -n); a run with ${concurrency} worker(s) needs at least ${need}: `
    + `raise it (ulimit -n ${need}, or more${fits >= 1 ? `), or run with --concurrency ${fits}` : ')'}; nothing was started`);
}
