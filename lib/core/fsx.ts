import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';

/** Read into all of `buf` from file offset `at`, looping over short reads; the bytes read (fewer only at the end of the file). */
export async function readFully(fh: fsp.FileHandle, buf: Buffer, at: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, at + got);
    if (!bytesRead) break;
    got += bytesRead;
  }
  return got;
}

/**
 * fsync a directory: a rename or a new file in it is durable only once its directory is synced.
 * Whatever says "done" (a journal line, a compacted journal) must come after this.
 */
export async function syncDir(dir: string): Promise<void> {
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.datasync();
  } finally {
    await dh.close();
  }
}

/** syncDir in the calling thread (for a worker thread: see writeOutputFile). */
export function syncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** `child` is `parent` or lies below it (both absolute, normalised). */
export function isInside(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

/**
 * The real path of `p` even when it does not exist yet: the real path of its deepest existing
 * ancestor, then the rest as given. Two names of one file (a symlinked folder) come out equal.
 */
export function canonicalPath(p: string): string {
  let head = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(head), ...rest.reverse());
    } catch {
      const up = path.dirname(head);
      if (up === head) return path.resolve(p);
      rest.push(path.basename(head));
      head = up;
    }
  }
}

/** A path as shown to the user: relative to the cwd when under it, else absolute. */
export function defaultDisplay(abs: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, abs);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}
