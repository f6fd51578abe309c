import fs, { constants as C, promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Opening the files sluice owns (the state dir and what it holds, the report, temp files) so that
 * whoever could write the folder around them cannot turn a write against the user.
 *
 * Invariant: every function here
 * - never follows a symbolic link at the last component of the path (O_NOFOLLOW, and lstat
 *   before opening, so a link is named as such in the error);
 * - opens regular files only, and never blocks on a FIFO: the path is lstat'ed first (so a
 *   device or a FIFO is never opened at all), opened with O_NONBLOCK, and the descriptor is
 *   fstat'ed and must be the regular file the lstat saw;
 * - creates temp files under unique names with O_EXCL, so a temp file is never an existing file;
 * - replaces a file only by renaming a new one over it, and only when what is there is a regular file;
 * - creates a directory of its own one level at a time, without -p, and accepts it only when it
 *   is a real directory (not a link to one) owned by this process's user.
 * A refusal is an UnsafePathError (its message names the path and what it is); errors of the
 * system (ENOENT, EACCES, ENOSPC, ...) pass through unchanged.
 */

const NOFOLLOW = C.O_NOFOLLOW ?? 0;
const NONBLOCK = C.O_NONBLOCK ?? 0;

/** A path sluice will not open or write: a link, a FIFO, a directory someone else owns, ... */
class UnsafePathError extends Error {
  readonly code = 'ESLUICEUNSAFE';
  constructor(readonly path: string, readonly why: string) {
    super(`${path} ${why}`);
    this.name = 'UnsafePathError';
  }
}

export function isUnsafePath(err: unknown): err is UnsafePathError {
  return err instanceof UnsafePathError;
}

/** What a file that is not a regular file is, for messages ("a FIFO"): one wording for the state dir, the lock and inputs. */
export function fileKind(st: fs.Stats | fs.BigIntStats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** `is <kind>`, for messages about a path. */
export function kindOf(st: fs.Stats): string {
  return `is ${fileKind(st)}`;
}

const notRegular = (file: string, st: fs.Stats) => new UnsafePathError(file, `${kindOf(st)}, not a regular file (sluice reads and writes only regular files of its own there)`);

function lstatOrNull(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The checks around one open: before (lstat), the flags, after (fstat of the descriptor). */
function before(file: string): fs.Stats | null {
  const st = lstatOrNull(file);
  if (st && !st.isFile()) throw notRegular(file, st);
  return st;
}

function openError(file: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  // ELOOP: a link appeared at the last component; ENXIO: a FIFO with no reader, opened to write
  if (code === 'ELOOP' || code === 'ENXIO' || code === 'EISDIR') {
    const st = lstatOrNull(file);
    if (st && !st.isFile()) return notRegular(file, st);
  }
  return err;
}

function after(file: string, seen: fs.Stats | null, st: fs.Stats): void {
  if (!st.isFile()) throw notRegular(file, st);
  if (seen && !sameFile(seen, st)) throw new UnsafePathError(file, 'was replaced while sluice opened it');
}

/**
 * Open a regular file without following a link or blocking on a FIFO. `flags` are O_* flags
 * (O_RDONLY, O_RDWR|O_APPEND|O_CREAT, ...); O_NOFOLLOW and O_NONBLOCK are added.
 */
export function openOwnFileSync(file: string, flags: number, mode = 0o666): number {
  const seen = before(file);
  let fd: number;
  try {
    fd = fs.openSync(file, flags | NOFOLLOW | NONBLOCK, mode);
  } catch (err) {
    throw openError(file, err);
  }
  try {
    after(file, seen, fs.fstatSync(fd));
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** openOwnFileSync, returning a FileHandle. */
export async function openOwnFile(file: string, flags: number, mode = 0o666): Promise<fsp.FileHandle> {
  const seen = before(file);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, flags | NOFOLLOW | NONBLOCK, mode);
  } catch (err) {
    throw openError(file, err);
  }
  try {
    after(file, seen, await fh.stat());
  } catch (err) {
    await fh.close();
    throw err;
  }
  return fh;
}

/** A regular file's text, or null when there is none. */
export function readOwnFileSync(file: string): string | null {
  let fd: number;
  try {
    fd = openOwnFileSync(file, C.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Temp files sluice makes next to the file they become: `<file>.<pid>.<12 hex>.tmp`. */
const TEMP_SUFFIX = /^\.\d+\.[0-9a-f]{12}\.tmp$/;

/** A unique temp file name next to `file` (created with O_EXCL: never an existing file). */
function tempPathFor(file: string): string {
  return `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Create a new temp file next to `file` for writing: O_CREAT|O_EXCL|O_NOFOLLOW. */
export async function createTemp(file: string): Promise<{ path: string; fh: fsp.FileHandle }> {
  const tmp = tempPathFor(file);
  return { path: tmp, fh: await openOwnFile(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL) };
}

/** Refuse to replace `file` unless it is missing or a regular file (a link is replaced, never followed, but is still refused). */
function assertReplaceable(file: string): void {
  const st = lstatOrNull(file);
  if (st && !st.isFile()) throw notRegular(file, st);
}

/**
 * Write via a unique temp file (O_EXCL, fsynced) renamed over `file`, so a reader never sees half
 * a file and nothing is written through a link. `file`'s directory is created when missing.
 */
export function writeAtomic(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  assertReplaceable(file);
  const tmp = tempPathFor(file);
  const fd = openOwnFileSync(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL);
  let written = false;
  try {
    // writeFileSync on an fd loops over short writes (a filling disk); writeSync makes one call
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    written = true;
  } finally {
    fs.closeSync(fd);
    if (!written) fs.rmSync(tmp, { force: true });
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Remove the temp files a killed writer left in `dir` for the files named `bases` (tempPathFor's
 * names), and the files named `legacy`. Call only while holding what makes this process the only
 * writer of those files (the state dir's lock). Regular files only; returns the names removed.
 */
export function removeStaleTemps(dir: string, bases: readonly string[], legacy: readonly string[] = []): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const ours = legacy.includes(name) || bases.some((b) => name.startsWith(b) && TEMP_SUFFIX.test(name.slice(b.length)));
    if (!ours) continue;
    const file = path.join(dir, name);
    const st = lstatOrNull(file);
    if (!st?.isFile()) continue;
    try {
      fs.unlinkSync(file);
      removed.push(name);
    } catch {
      // gone meanwhile, or not ours to remove: left alone
    }
  }
  return removed;
}

/**
 * Make sure `dir` is a directory of this user's own, creating it (one level, not recursively) when
 * `create` is set. Returns false when it does not exist and `create` is not set.
 */
export function ownDir(dir: string, create: boolean): boolean {
  if (create) {
    try {
      fs.mkdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const st = lstatOrNull(dir);
  if (!st) return false;
  if (st.isSymbolicLink()) throw new UnsafePathError(dir, 'is a symbolic link, not a directory of its own');
  if (!st.isDirectory()) throw new UnsafePathError(dir, `${kindOf(st)}, not a directory`);
  const uid = process.geteuid?.();
  if (uid !== undefined && st.uid !== uid) throw new UnsafePathError(dir, `belongs to another user (uid ${st.uid}; this process runs as uid ${uid})`);
  return true;
}
