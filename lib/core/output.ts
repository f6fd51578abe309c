// Writing one output file under a run's output dir. Invariants:
// - An output lands inside the real output dir, or not at all. Every directory between the output
//   dir and the output is created one level at a time and must be a real directory, never a
//   symbolic link (a link could lead anywhere); a link there fails the item with
//   SLUICE_E_OUTPUT_UNSAFE. The output file itself is never opened: it is renamed into place, which
//   replaces whatever sits at its name (a link included) without following it.
// - Temp files are <out>/.sluice-tmp/<host>.<pid>.<random>.tmp, created new (O_EXCL) and never
//   through a link (O_NOFOLLOW). Several runs can share an output dir: a run removes only the temp
//   files of processes of this host that are gone (removeDeadTemps), never another run's.
// - Every error from writing an output leaves as a SluiceError classified by its real cause
//   (outputError): a processor passes it on as it is (classifyPdfError never re-wraps a
//   SluiceError), so a full disk stops the run and is never recorded as a bad document, and a
//   missing directory of the output dir is never a vanished input.
// - The rules are written once and run over either set of file system calls (OutputFs): blocking
//   ones in a worker thread, asynchronous ones in the main thread.
import fs, { constants as C, promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SluiceError, toErrorInfo } from './errors.js';
import { syncDir, syncDirSync } from './fsx.js';

/** Where writeOutput keeps its temp files, inside the output dir (same file system: the rename is atomic). */
export const OUTPUT_TMP_DIR = '.sluice-tmp';

// (O_NOFOLLOW is missing on Windows; O_EXCL alone never opens through a link there either)
const TEMP_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | (C.O_NOFOLLOW ?? 0);
const TEMP_NAME = /^(.+)\.(\d+)\.[0-9a-f]{16}\.tmp$/;

/** Check an output name and return the path it stands for (lexically) under `outDir`. */
function safeOutputPath(outDir: string, name: string): string {
  if (typeof name !== 'string' || !name) throw new SluiceError('SLUICE_E_OUTPUT_PATH', 'output name is empty');
  if (name.includes('\0')) throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name contains a NUL byte: ${JSON.stringify(name)}`);
  if (path.isAbsolute(name)) throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name must be relative: ${name}`);
  const parts = name.split(/[\\/]/);
  if (parts.includes('..')) throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name may not contain "..": ${name}`);
  const target = path.resolve(outDir, name);
  if (!target.startsWith(path.resolve(outDir) + path.sep)) throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name escapes the output dir: ${name}`);
  if (path.relative(path.resolve(outDir), target).split(path.sep)[0] === OUTPUT_TMP_DIR) {
    throw new SluiceError('SLUICE_E_OUTPUT_PATH', `output name is inside ${OUTPUT_TMP_DIR}/, which holds the temp files of runs: ${name}`);
  }
  return target;
}

/** An open temp file, written and synced through its descriptor. */
interface TempFile {
  writeFile(data: string | Uint8Array): unknown;
  datasync(): unknown;
  close(): unknown;
}

/**
 * The file system calls writeOutputFile makes: the same rules run over either set. `blocking`
 * makes each call in the calling thread; `async` sends each to the process's libuv thread pool.
 */
interface OutputFs {
  mkdirp(dir: string): unknown;
  /** one level; EEXIST is the caller's to judge */
  mkdir(dir: string): unknown;
  realpath(p: string): string | Promise<string>;
  lstat(p: string): fs.Stats | Promise<fs.Stats>;
  readlink(p: string): string | Promise<string>;
  openNew(p: string): TempFile | Promise<TempFile>;
  rename(from: string, to: string): unknown;
  /** removes `p` if it is there; never throws */
  rmQuiet(p: string): unknown;
  syncDir(dir: string): unknown;
}

const ASYNC_FS: OutputFs = {
  mkdirp: (dir) => fsp.mkdir(dir, { recursive: true }),
  mkdir: (dir) => fsp.mkdir(dir),
  realpath: (p) => fsp.realpath(p),
  lstat: (p) => fsp.lstat(p),
  readlink: (p) => fsp.readlink(p),
  openNew: (p) => fsp.open(p, TEMP_FLAGS, 0o666),
  rename: (from, to) => fsp.rename(from, to),
  rmQuiet: (p) => fsp.rm(p, { force: true }).catch(() => {}),
  syncDir,
};

const BLOCKING_FS: OutputFs = {
  mkdirp: (dir) => fs.mkdirSync(dir, { recursive: true }),
  mkdir: (dir) => fs.mkdirSync(dir),
  // the native realpath(3), as fsp.realpath: the check against a swapped-in link compares its answer
  realpath: (p) => fs.realpathSync.native(p),
  lstat: (p) => fs.lstatSync(p),
  readlink: (p) => fs.readlinkSync(p),
  openNew: (p) => {
    const fd = fs.openSync(p, TEMP_FLAGS, 0o666);
    return { writeFile: (data) => fs.writeFileSync(fd, data), datasync: () => fs.fdatasyncSync(fd), close: () => fs.closeSync(fd) };
  },
  rename: (from, to) => fs.renameSync(from, to),
  rmQuiet: (p) => {
    try {
      fs.rmSync(p, { force: true });
    } catch {
      // nothing more to do about a temp file that cannot be removed
    }
  },
  syncDir: syncDirSync,
};

/**
 * Write `data` to `name` under `outDir`: temp file, fdatasync, rename, fsync of the directory.
 * Returns the path (under `outDir` as given) it was written to. `shown` turns a path into what a
 * message should say. `how`: 'blocking' for a worker thread, which has nothing else to do while
 * its item's output is written: its ~13 calls would otherwise each be a round trip through the
 * process's four libuv threads, queued behind the other workers' fsyncs (`--exec true --out` over
 * 2,000 files took 7.7 s that way, 5.2 s blocking). The main thread keeps 'async'.
 */
export async function writeOutputFile(outDir: string, name: string, data: string | Uint8Array, shown: (abs: string) => string, faultEnospc = '', how: 'blocking' | 'async' = 'async'): Promise<string> {
  const target = safeOutputPath(outDir, name);
  const rel = path.relative(path.resolve(outDir), target);
  const ops = how === 'blocking' ? BLOCKING_FS : ASYNC_FS;
  try {
    // the output dir itself is the user's choice (--out, output.dir): a link there is followed
    await ops.mkdirp(outDir);
    const root = await ops.realpath(outDir);
    const place = { root, shownRoot: path.resolve(outDir), name, shown, ops };
    const parent = await realDirUnder(place, path.dirname(rel));
    const tmpDir = await realDirUnder(place, OUTPUT_TMP_DIR);
    const tmp = path.join(tmpDir, tempName());
    const fh = await ops.openNew(tmp);
    try {
      if (faultEnospc && name.includes(faultEnospc)) {
        throw Object.assign(new Error(`ENOSPC: no space left on device, write '${name}' (fault injected by SLUICE_FAULT_OUTPUT_ENOSPC)`), { code: 'ENOSPC' });
      }
      await fh.writeFile(data);
      await fh.datasync();
    } catch (err) {
      try {
        await fh.close();
      } catch {
        // the write's error is the one to report
      }
      await ops.rmQuiet(tmp);
      throw err;
    }
    await fh.close();
    try {
      await ops.rename(tmp, path.join(parent, path.basename(rel)));
    } catch (err) {
      await ops.rmQuiet(tmp);
      throw err;
    }
    // the rename itself is durable only once the directory is synced; the journal line that
    // says this item is done comes after, so it can never point at an output a power cut undid
    await ops.syncDir(parent);
  } catch (err) {
    throw outputError(err, name);
  }
  return target;
}

interface Place { root: string; shownRoot: string; name: string; shown: (abs: string) => string; ops: OutputFs }

/**
 * The directory `rel` under the real output dir, created one level at a time; each level must be
 * a real directory, not a link. Returns its real path.
 */
async function realDirUnder(place: Place, rel: string): Promise<string> {
  const { ops } = place;
  let dir = place.root;
  let lexical = place.shownRoot;
  for (const part of rel === '.' ? [] : rel.split(path.sep)) {
    dir = path.join(dir, part);
    lexical = path.join(lexical, part);
    let st = await lstatOrNull(dir, ops);
    if (!st) {
      // mkdir never follows a link at the last component: a link planted meanwhile gives EEXIST
      try {
        await ops.mkdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      st = await ops.lstat(dir);
    }
    if (st.isSymbolicLink()) {
      throw new SluiceError('SLUICE_E_OUTPUT_UNSAFE', `cannot write the output ${place.name}: ${place.shown(lexical)} is a symbolic link (to ${await linkTarget(dir, ops)}); outputs are never written through a link, it could lead outside the output dir`);
    }
    if (!st.isDirectory()) {
      throw new SluiceError('SLUICE_E_OUTPUT_PATH', `cannot write the output ${place.name}: ${place.shown(lexical)} is in the way and is not a directory`);
    }
  }
  // every level was a real directory; a link swapped in meanwhile shows here
  const real = await ops.realpath(dir);
  if (real !== dir) {
    throw new SluiceError('SLUICE_E_OUTPUT_UNSAFE', `cannot write the output ${place.name}: ${place.shown(lexical)} resolves to ${real}, not to where it stands in the output dir (a link was swapped in)`);
  }
  return dir;
}

async function lstatOrNull(p: string, ops: OutputFs = ASYNC_FS): Promise<fs.Stats | null> {
  try {
    return await ops.lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function linkTarget(p: string, ops: OutputFs = ASYNC_FS): Promise<string> {
  try {
    return await ops.readlink(p);
  } catch {
    return '?';
  }
}

/** The errno codes whose meaning for an output is a path that cannot be used, not an I/O failure. */
const PATH_CODES = new Set(['ENAMETOOLONG', 'ENOTDIR', 'EISDIR']);

/**
 * What an error from writing the output `name` means. The errno rules shared with inputs come
 * from toErrorInfo (ENOSPC/EDQUOT: SLUICE_E_DISK_FULL, the run stops; EACCES: SLUICE_E_IO, not
 * retried); an output's own differ: a path the file system rejects is SLUICE_E_OUTPUT_PATH, a
 * link met on the way SLUICE_E_OUTPUT_UNSAFE, and a missing directory SLUICE_E_IO (only an input
 * can vanish). Anything else with an errno is SLUICE_E_IO.
 */
function outputError(err: unknown, name: string): SluiceError {
  if (err instanceof SluiceError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const why = `cannot write the output ${name}: ${(err as Error | null)?.message ?? String(err)}`;
  if (typeof code === 'string' && PATH_CODES.has(code)) return new SluiceError('SLUICE_E_OUTPUT_PATH', why, { cause: err });
  if (code === 'ELOOP') return new SluiceError('SLUICE_E_OUTPUT_UNSAFE', `${why} (a symbolic link where sluice writes)`, { cause: err });
  if (code === 'ENOENT') return new SluiceError('SLUICE_E_IO', `${why} (a directory of the output dir was removed meanwhile)`, { cause: err, retryable: true });
  const info = toErrorInfo(err);
  if (info.code === 'SLUICE_E_VANISHED' || info.code === 'SLUICE_E_PROCESSOR' || info.code === 'SLUICE_E_WORKER_CRASH') {
    return new SluiceError('SLUICE_E_IO', why, { cause: err, retryable: false });
  }
  return new SluiceError(info.code, why, { cause: err, retryable: info.retryable });
}

let tag: string | undefined;

/**
 * This host, as temp names carry it: the host name, and on Linux the pid namespace (containers
 * sharing an output dir and a host name have their own pids).
 */
export function hostTag(): string {
  if (tag === undefined) {
    let ns = '';
    try {
      ns = /\d+/.exec(fs.readlinkSync('/proc/self/ns/pid'))?.[0] ?? '';
    } catch {
      // not Linux
    }
    tag = os.hostname().replace(/[^A-Za-z0-9-]/g, '_').slice(0, 64) + (ns ? `-${ns}` : '');
  }
  return tag;
}

function tempName(): string {
  return `${hostTag()}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Before a run: remove the temp files that processes of this host left in `<outDir>/.sluice-tmp`
 * and that are gone (killed mid-write). Another run's temp files, those of other hosts and any
 * name not made by writeOutputFile stay. Something other than a directory at `.sluice-tmp` (a
 * link, say) is removed, never followed. Best effort: returns what it could not do, for a warning.
 */
export function removeDeadTemps(outDir: string): { removed: number; problems: string[] } {
  const dir = path.join(outDir, OUTPUT_TMP_DIR);
  const problems: string[] = [];
  let removed = 0;
  try {
    const st = fs.lstatSync(dir);
    if (!st.isDirectory()) {
      fs.unlinkSync(dir);
      problems.push(`${dir} was not a directory (${st.isSymbolicLink() ? 'a symbolic link' : 'a file'}): removed`);
      return { removed, problems };
    }
    const me = hostTag();
    const d = fs.opendirSync(dir);
    try {
      for (let e = d.readSync(); e; e = d.readSync()) {
        const m = TEMP_NAME.exec(e.name);
        if (!m || m[1] !== me) continue;
        const pid = Number(m[2]);
        if (pid === process.pid || alive(pid)) continue;
        try {
          // lstat, not the entry's type: some file systems do not give one
          if (!fs.lstatSync(path.join(dir, e.name)).isFile()) continue;
          fs.unlinkSync(path.join(dir, e.name));
          removed++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`cannot remove ${path.join(dir, e.name)}: ${(err as Error).message}`);
        }
      }
    } finally {
      d.closeSync();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`cannot clean ${dir}: ${(err as Error).message}`);
  }
  return { removed, problems };
}

/** What stands at an output's name: a regular file sluice could have written, nothing, or something else (and why it is not touched). */
type OutputAt = { kind: 'file'; file: string } | { kind: 'missing' } | { kind: 'other'; why: string };

/**
 * What is at the output `rel` (a name as the journal records it) under the real output dir,
 * looked at without following any link: every directory on the way must be a real directory and
 * the output itself a regular file, the rules writeOutputFile writes by. A link, on the way or at
 * the name, is not an output sluice wrote: `other`, never followed.
 */
export async function outputAt(outDir: string, rel: string): Promise<OutputAt> {
  let target: string;
  try {
    target = safeOutputPath(outDir, rel);
  } catch (err) {
    return { kind: 'other', why: (err as Error).message };
  }
  let root: string;
  try {
    root = await fsp.realpath(outDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  const parts = path.relative(path.resolve(outDir), target).split(path.sep);
  let at = root;
  for (let i = 0; i < parts.length; i++) {
    at = path.join(at, parts[i]!);
    const st = await lstatOrNull(at);
    if (!st) return { kind: 'missing' };
    const last = i === parts.length - 1;
    if (st.isSymbolicLink()) return { kind: 'other', why: `${last ? 'it' : path.join(...parts.slice(0, i + 1))} is a symbolic link (to ${await linkTarget(at)})` };
    if (last) return st.isFile() ? { kind: 'file', file: at } : { kind: 'other', why: 'it is not a regular file' };
    if (!st.isDirectory()) return { kind: 'missing' };
  }
  return { kind: 'missing' };
}

/**
 * Remove the output `rel` if it is a regular file inside the real output dir (see outputAt):
 * unlink never follows a link at the name, and the directory it is in is checked to be where it
 * stands (a link swapped in on the way shows there). Returns what happened.
 */
export async function removeOutput(outDir: string, rel: string): Promise<{ removed: boolean; why?: string }> {
  const at = await outputAt(outDir, rel);
  if (at.kind === 'missing') return { removed: false, why: 'it is gone already' };
  if (at.kind === 'other') return { removed: false, why: at.why };
  const dir = path.dirname(at.file);
  if ((await fsp.realpath(dir)) !== dir) return { removed: false, why: `${dir} is not where it stands in the output dir (a link was swapped in)` };
  try {
    await fsp.unlink(at.file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { removed: false, why: 'it is gone already' };
    return { removed: false, why: (err as Error).message };
  }
  return { removed: true };
}
