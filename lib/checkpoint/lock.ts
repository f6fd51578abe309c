import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { LOCK_FILE } from './files.js';
import { fileKind } from '../core/safe-fs.js';

/**
 * One run per state dir: the run that holds the record file `lock` in it.
 *
 * Records. A record is a small JSON file `{pid, host, started, nonce}`. It is written whole into a
 * temp file of its own (`lock.<pid>.<random>.tmp`, O_EXCL, O_NOFOLLOW) and only then given its
 * name: link(2) for a new lock (it fails while anything at all has the name, and never follows a
 * link there), rename(2) for a takeover. So a record is never seen half written. Its identity is
 * its device, inode, mtime, size and bytes, made unique by the nonce.
 *
 * Reading a record never follows a link and never blocks: O_NOFOLLOW | O_NONBLOCK, then fstat of
 * the descriptor; a symlink, FIFO, directory, socket or device there is refused (SLUICE_E_STATE,
 * exit 3) and left as it is.
 *
 * Held or stale (`isHeld`, the one rule, which `sluice status` uses too). A record names a live
 * holder when it comes from another host (its pid cannot be checked from here) or its pid is
 * alive here (kill(pid, 0) succeeds or fails with EPERM: a process of another user). A file that
 * is empty or not a record (an older sluice creates the file then writes it; a torn write) counts
 * as held until its mtime is LOCK_GRACE_MS old, then as stale.
 *
 * Takeover. To replace a stale record S, a run first takes S's claim, the record
 * `lock.claim-<id of S>`, by these same rules (so a claim whose taker died is itself taken over,
 * to a bounded depth). Holding the claim, it reads `lock` again; only if that is still S does it
 * rename its own record over it. Losing anywhere (a live holder, a live claimant) is
 * SLUICE_E_LOCKED; `lock` changing under it sends it round again, a bounded number of times.
 *
 * Invariant: at most one live run holds `lock`. The record at `lock` changes only (a) by link
 * when nothing is there, (b) by its holder's release, which unlinks it after checking it is still
 * its own, or (c) by rename from the one live holder of S's claim, after it saw S at `lock` while
 * holding that claim. A live run's record is never replaced, since no one judges it stale; and S,
 * once seen there by its claimant, stays until that claimant renames over it, since its own
 * holder is gone and nobody else may touch it. This rests on the pid check being right (no pid
 * reuse on this host, no live writer behind an unreadable file older than the grace period).
 */

/** How long an empty or unreadable lock file counts as held, from its mtime. */
const LOCK_GRACE_MS = 5000;
const MAX_BYTES = 4096;
const MAX_ATTEMPTS = 8;
const MAX_CLAIM_DEPTH = 3;
const TEMP_RE = /^lock\.\d+\.[0-9a-f]+\.tmp$/;
const CLAIM_RE = /^lock(\.claim-[0-9a-f]{16})+$/;
/** Temp files of a run killed between writing and naming them are swept after this long. */
const TEMP_SWEEP_MS = 60_000;

interface LockInfo { pid: number; host: string; started: string; nonce?: string }

/** What a lock file holds, read without following a link or blocking. */
interface LockRecord {
  /** the record's identity: device, inode, mtime, size and bytes */
  id: string;
  ino: bigint;
  mtimeMs: number;
  bytes: string;
  /** null when the file is empty or not a record */
  info: LockInfo | null;
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

function notRegular(file: string, kind: string): SluiceError {
  return new SluiceError('SLUICE_E_STATE',
    `refusing lock file ${file}: it is ${kind}, not a regular file (sluice never follows a link or opens a FIFO in its state dir); remove it if no run is going on`);
}

function parseInfo(bytes: string): LockInfo | null {
  try {
    const x = JSON.parse(bytes) as Partial<LockInfo> | null;
    if (!x || typeof x !== 'object' || !Number.isSafeInteger(x.pid) || x.pid! <= 0 || typeof x.host !== 'string') return null;
    return { pid: x.pid!, host: x.host, started: typeof x.started === 'string' ? x.started : 'unknown', ...(typeof x.nonce === 'string' ? { nonce: x.nonce } : {}) };
  } catch {
    return null;
  }
}

/** The record at `file`, or null when there is none. Throws SLUICE_E_STATE for anything but a regular file. */
export function readLockRecord(file: string): LockRecord | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    let st: fs.Stats | undefined;
    try {
      st = fs.lstatSync(file);
    } catch {
      // classified by the open error below
    }
    if (st && !st.isFile()) throw notRegular(file, fileKind(st));
    throw new SluiceError('SLUICE_E_STATE', `cannot read lock file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw notRegular(file, fileKind(st));
    const buf = Buffer.alloc(MAX_BYTES);
    let n = 0;
    for (let r; n < buf.length && (r = fs.readSync(fd, buf, n, buf.length - n, n)) > 0;) n += r;
    const bytes = buf.subarray(0, n).toString('utf8');
    const id = crypto.createHash('sha256')
      .update(`${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}\0`).update(bytes)
      .digest('hex').slice(0, 16);
    return { id, ino: st.ino, mtimeMs: Number(st.mtimeMs), bytes, info: st.size > MAX_BYTES ? null : parseInfo(bytes) };
  } catch (err) {
    if (err instanceof SluiceError) throw err;
    throw new SluiceError('SLUICE_E_STATE', `cannot read lock file ${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    fs.closeSync(fd);
  }
}

/** The one rule: does this record stand for a run that may still be going on? */
function isHeld(rec: LockRecord, now = Date.now()): boolean {
  if (!rec.info) return Math.abs(now - rec.mtimeMs) < LOCK_GRACE_MS;
  return rec.info.host !== os.hostname() || alive(rec.info.pid);
}

/**
 * The lock of a state dir as `sluice status` reports it: held (holder null while its file is
 * empty or unreadable, within the grace period) or not. Never follows a link or blocks.
 */
export function lockHolder(stateDir: string): { held: false } | { held: true; holder: LockInfo | null } {
  const rec = readLockRecord(path.join(stateDir, LOCK_FILE));
  if (!rec || !isHeld(rec)) return { held: false };
  return { held: true, holder: rec.info };
}

interface Temp { file: string; ino: bigint; bytes: string }

function stateError(what: string, file: string, err: unknown): SluiceError {
  return new SluiceError('SLUICE_E_STATE', `cannot ${what} ${file}: ${(err as Error).message}`, { cause: err });
}

/** A new record in a temp file of its own next to `file`. */
function writeTemp(dir: string): Temp {
  const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), nonce: crypto.randomBytes(8).toString('hex') };
  const bytes = JSON.stringify(info) + '\n';
  const file = path.join(dir, `${LOCK_FILE}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  } catch (err) {
    throw stateError('create lock file', file, err);
  }
  try {
    fs.writeFileSync(fd, bytes);
    return { file, ino: fs.fstatSync(fd, { bigint: true }).ino, bytes };
  } catch (err) {
    fs.rmSync(file, { force: true });
    throw stateError('write lock file', file, err);
  } finally {
    fs.closeSync(fd);
  }
}

/** File systems without hard links: create the name itself (seen empty for a moment: the grace period covers that). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EXDEV']);

/** Give `tmp`'s record the name `file` if nothing has it; the inode that has it, or null (EEXIST). */
function place(tmp: Temp, file: string): bigint | null {
  try {
    fs.linkSync(tmp.file, file);
    return tmp.ino;
  } catch (err) {
    if (errno(err) === 'EEXIST') return null;
    if (!NO_LINKS.has(errno(err)!)) throw stateError('create lock file', file, err);
  }
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  } catch (err) {
    if (errno(err) === 'EEXIST') return null;
    throw stateError('create lock file', file, err);
  }
  try {
    fs.writeFileSync(fd, tmp.bytes);
    return fs.fstatSync(fd, { bigint: true }).ino;
  } catch (err) {
    fs.rmSync(file, { force: true });
    throw stateError('write lock file', file, err);
  } finally {
    fs.closeSync(fd);
  }
}

interface Held { file: string; ino: bigint; bytes: string }

/** Unlink `h.file` if it is still our record: never follows a link, never blocks. */
function drop(h: Held): void {
  try {
    const rec = readLockRecord(h.file);
    if (rec && rec.ino === h.ino && rec.bytes === h.bytes) fs.unlinkSync(h.file);
  } catch {
    // gone, or no longer ours: leave it
  }
}

interface Ctx { stateDir: string; warn: (msg: string) => void }

function lockedBy(ctx: Ctx, rec: LockRecord, depth: number): SluiceError {
  const i = rec.info;
  if (!i) {
    const age = Math.max(0, Math.round((Date.now() - rec.mtimeMs) / 1000));
    return new SluiceError('SLUICE_E_LOCKED',
      `state dir ${ctx.stateDir} is locked: its lock file is empty or unreadable and changed ${age}s ago (a run starting?); it counts as held for ${LOCK_GRACE_MS / 1000}s after a change`);
  }
  return new SluiceError('SLUICE_E_LOCKED', depth === 0
    ? `state dir ${ctx.stateDir} is locked by another run: pid ${i.pid} on ${i.host}, started ${i.started}`
    : `state dir ${ctx.stateDir} is being taken over by another run right now: pid ${i.pid} on ${i.host}`);
}

/** Take the record `file` (the lock, or at depth > 0 a claim), taking over a stale one. */
function take(ctx: Ctx, file: string, depth: number): Held {
  const tmp = writeTemp(ctx.stateDir);
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const ino = place(tmp, file);
      if (ino !== null) return { file, ino, bytes: tmp.bytes };
      const seen = readLockRecord(file);
      if (!seen) continue; // released since: try again
      if (isHeld(seen)) throw lockedBy(ctx, seen, depth);
      if (depth >= MAX_CLAIM_DEPTH) {
        throw new SluiceError('SLUICE_E_LOCKED', `state dir ${ctx.stateDir}: cannot take over ${file} (runs that tried died while taking it over); remove the lock* files in it if no run is going on`);
      }
      const claim = take(ctx, `${file}.claim-${seen.id}`, depth + 1);
      try {
        const now = readLockRecord(file);
        if (!now || now.id !== seen.id) continue; // another run replaced it first: look again
        try {
          fs.renameSync(tmp.file, file);
        } catch (err) {
          throw stateError('take over lock file', file, err);
        }
        if (depth === 0) {
          ctx.warn(`sluice: taking over a stale lock in ${ctx.stateDir}${seen.info ? ` (pid ${seen.info.pid} is gone)` : ' (unreadable lock file)'}`);
        }
        return { file, ino: tmp.ino, bytes: tmp.bytes };
      } finally {
        drop(claim);
      }
    }
    throw new SluiceError('SLUICE_E_LOCKED', `could not take the lock on ${ctx.stateDir}: it kept changing (${MAX_ATTEMPTS} tries)`);
  } finally {
    // after link the temp name is a second name of the record; after rename it is gone already
    fs.rmSync(tmp.file, { force: true });
  }
}

/**
 * Leftovers of runs killed mid-takeover: claims whose taker is gone (their target is gone too,
 * since we hold `lock`, so nobody can use them) and old temp files. Best effort.
 */
function sweep(stateDir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(stateDir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    const file = path.join(stateDir, name);
    try {
      if (TEMP_RE.test(name)) {
        const st = fs.lstatSync(file);
        if (st.isFile() && now - st.mtimeMs > TEMP_SWEEP_MS) fs.unlinkSync(file);
      } else if (CLAIM_RE.test(name)) {
        const rec = readLockRecord(file);
        if (rec && !isHeld(rec, now)) fs.unlinkSync(file);
      }
    } catch {
      // not ours to judge (not a regular file), or gone: leave it
    }
  }
}

export class Lock {
  private constructor(private readonly held: Held) {}

  get file(): string {
    return this.held.file;
  }

  static acquire(stateDir: string, warn: (msg: string) => void = () => {}): Lock {
    const held = take({ stateDir, warn }, path.join(stateDir, LOCK_FILE), 0);
    sweep(stateDir);
    return new Lock(held);
  }

  /** Remove the lock if it is still this run's own record (never following a link). */
  release(): void {
    drop(this.held);
  }
}
