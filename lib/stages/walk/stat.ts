import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Size and mtime of a file, for the walk's synchronous stat of every file: what `fs.lstatSync`
 * (or `fs.statSync` for a followed link) gives, without the `fs.Stats` object and its four
 * `Date`s that Node 20 builds per call (a sixth of a million-file walk's thread, and most of its
 * garbage). Node's own stat binding answers the call: the same system call and the same errors,
 * read into a shared array. It is used only when a probe at load shows that it answers as
 * `fs.lstatSync` does (same size and mtime, ENOENT thrown), nothing asked Node to warn about
 * deprecated APIs and its permission model is off; otherwise, and for a path Node would refuse (a
 * NUL byte), `fs` is called.
 *
 * Invariant: after `statFile(p, follow)`, `SIZE_MTIME` holds [size, Math.trunc(mtimeMs)] of what
 * `fs.lstatSync(p)` (`fs.statSync(p)` with follow) returns, or the call threw the error it throws.
 */
export const SIZE_MTIME = new Float64Array(2);

type StatBinding = (path: string | Buffer, bigint: false, req: undefined, throwIfNoEntry: true) => Float64Array;
interface Binding { lstat: StatBinding; stat: StatBinding }

/** whole milliseconds of the binding's mtime (seconds and nanoseconds at 12 and 13), as Stats.mtimeMs truncated */
const mtimeOf = (a: Float64Array) => Math.trunc(a[12]! * 1e3 + a[13]! / 1e6);

const binding = probe();
/** which way this process stats: Node's binding, or `fs` when the probe refused it */
export const STAT_BY: 'binding' | 'fs' = binding ? 'binding' : 'fs';

export function statFile(p: string | Buffer, follow: boolean): void {
  if (binding && !p.includes('\0')) {
    const a = follow ? binding.stat(p, false, undefined, true) : binding.lstat(p, false, undefined, true);
    SIZE_MTIME[0] = a[8]!;
    SIZE_MTIME[1] = mtimeOf(a);
    return;
  }
  const s = follow ? fs.statSync(p) : fs.lstatSync(p);
  SIZE_MTIME[0] = s.size;
  SIZE_MTIME[1] = Math.trunc(s.mtimeMs);
}

function probe(): Binding | null {
  const warns = process.execArgv.includes('--pending-deprecation') || /--pending-deprecation/.test(process.env.NODE_OPTIONS ?? '') || process.env.NODE_PENDING_DEPRECATION === '1';
  // the permission model checks reads in fs, not in the binding: with it on, fs answers
  if (warns || (process as { permission?: unknown }).permission !== undefined) return null;
  try {
    const b = (process as unknown as { binding(name: string): Partial<Binding> }).binding('fs');
    if (typeof b.lstat !== 'function' || typeof b.stat !== 'function') return null;
    const self = fileURLToPath(import.meta.url);
    const want = fs.lstatSync(self);
    for (const call of [b.lstat, b.stat]) {
      const a = call(self, false, undefined, true);
      if (!(a instanceof Float64Array) || a[8] !== want.size || mtimeOf(a) !== Math.trunc(want.mtimeMs)) return null;
    }
    try {
      b.lstat(self + '.absent', false, undefined, true);
      return null; // no error thrown: not the binding this was written against
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return null;
    }
    return b as Binding;
  } catch {
    return null;
  }
}
