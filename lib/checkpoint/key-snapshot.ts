import fs, { constants as C, promises as fsp } from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';
import { KeySet } from './keyset.js';
import { createTemp, openOwnFile } from '../core/safe-fs.js';
import { readFully } from '../core/fsx.js';

/**
 * The item journal's key table saved beside it (`journal.keys`, checkpoint/files.ts), so that opening a journal of millions
 * of lines reads the table in one piece and parses only the lines written after it was saved. A
 * million-line journal takes ~0.5 s of CPU to parse; its table (35 MB) ~50 ms to read and check.
 *
 * Invariant: a table read from a snapshot is the table that parsing the journal's first
 * `covered` bytes gives. A snapshot is used only when it is a regular file (never through a link,
 * never a FIFO) in this format, whole (its length follows from its header and a SHA-256 over all of
 * it matches), written on a machine of the same byte order, and the journal still begins with the
 * bytes it covered (at least `covered` long, and its first and last 64 KB before `covered` hash to
 * what the snapshot recorded: a journal compacted, set aside or replaced fails that). Anything else
 * and the snapshot is ignored: the journal is parsed in full, as without one. It is derived data:
 * removing it is always safe.
 */

/** A journal is worth a snapshot once this many bytes of lines had to be parsed to open it. */
export const SNAPSHOT_MIN_PARSED = 8 << 20;

const MAGIC = Buffer.from('sluice keys 1\n\0\0'); // 16 bytes
const FINGERPRINT_SPAN = 64 << 10;
// header: magic, byte order (2), 2 spare, capacity u32, count u32, spare u32, covered f64, lines f64,
// the journal's fingerprint (32), the snapshot's checksum (32); then words (16 per slot), statuses (1 per slot)
const HEADER = 16 + 4 + 12 + 16 + 32 + 32;
const AT_ORDER = 16;
const AT_CAPACITY = 20;
const AT_COUNT = 24;
const AT_COVERED = 32;
const AT_LINES = 40;
const AT_FINGERPRINT = 48;
const AT_CHECKSUM = 80;
const ORDER = os.endianness() === 'LE' ? 'LE' : 'BE';
/** the shortest line sluice writes is longer than this (key, status, path, at, ms: ~90 bytes) */
const MIN_LINE = 64;
/** a table's slots however few keys it holds (KeySet's default size) */
const MIN_SLOTS = 1024;

export interface KeySnapshot { table: KeySet; covered: number; lines: number }

/**
 * The snapshot of the journal open at `journal` (`size` bytes), or null when there is none or it
 * does not hold (see the invariant). `valid(status)`: whether a stored status is one a journal
 * line gives. `warn`: told why a snapshot that exists was not used, when the reason is not that
 * the journal moved on (a link or FIFO in its place, a torn or foreign file).
 */
export async function readKeySnapshot(file: string, journal: fsp.FileHandle, size: number, valid: (status: number) => boolean, warn?: (msg: string) => void): Promise<KeySnapshot | null> {
  let fh: fsp.FileHandle;
  try {
    fh = await openOwnFile(file, C.O_RDONLY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn?.(`sluice: not using the key snapshot ${file}: ${(err as Error).message}; the journal is read in full`);
    return null;
  }
  const refuse = (why: string) => {
    warn?.(`sluice: not using the key snapshot ${file}: ${why}; the journal is read in full`);
    return null;
  };
  try {
    return await readOpen(fh, journal, size, valid, refuse);
  } catch (err) {
    // not readable as it should be (an I/O error, a table too big for this process): read the journal instead
    return refuse((err as Error).message);
  } finally {
    await fh.close();
  }
}

/** readKeySnapshot's checks and read, the snapshot open. */
async function readOpen(fh: fsp.FileHandle, journal: fsp.FileHandle, size: number, valid: (status: number) => boolean, refuse: (why: string) => null): Promise<KeySnapshot | null> {
  const length = (await fh.stat()).size;
  if (length < HEADER) return refuse('it is too short to be one');
  const head = Buffer.alloc(HEADER);
  if ((await fh.read(head, 0, HEADER, 0)).bytesRead !== HEADER || !head.subarray(0, 16).equals(MAGIC)) return refuse('it is not a sluice key snapshot');
  if (head.toString('latin1', AT_ORDER, AT_ORDER + 2) !== ORDER) return null; // written on a machine of the other byte order: rebuilt here
  const capacity = head.readUInt32LE(AT_CAPACITY);
  const count = head.readUInt32LE(AT_COUNT);
  const covered = head.readDoubleLE(AT_COVERED);
  const lines = head.readDoubleLE(AT_LINES);
  if (capacity < 16 || (capacity & (capacity - 1)) !== 0 || length !== HEADER + capacity * 17) return refuse('it is cut short or damaged');
  // figures a table of the journal's first `covered` bytes can have: whole numbers, a key per
  // line at most, a line at least MIN_LINE bytes, and no more slots than that many keys take
  // (checked before the table is allocated: a sparse file of any length costs nothing to plant)
  if (!Number.isSafeInteger(covered) || !Number.isSafeInteger(lines) || count > lines || lines > covered / MIN_LINE || capacity > Math.max(MIN_SLOTS, 4 * covered / MIN_LINE)) return refuse('its header does not describe a table of this journal');
  // the journal moved on under it (compacted, set aside, replaced): silently rebuilt
  if (!(covered > 0 && covered <= size) || !(await fingerprint(journal, covered))?.equals(head.subarray(AT_FINGERPRINT, AT_FINGERPRINT + 32))) return null;
  const table = new KeySet(capacity);
  const { wordBytes, statusBytes } = tableBytes(table);
  if ((await readFully(fh, wordBytes, HEADER)) !== wordBytes.length || (await readFully(fh, statusBytes, HEADER + wordBytes.length)) !== statusBytes.length) return refuse('it is cut short');
  if (!checksum(head, wordBytes, statusBytes).equals(head.subarray(AT_CHECKSUM, AT_CHECKSUM + 32))) return refuse('its checksum does not match (a damaged file)');
  if (!table.adopt(count, valid)) return refuse('it does not hold a valid table');
  return { table, covered, lines };
}

/**
 * Save `table`, which holds what the journal's first `covered` bytes (`lines` lines) say, beside
 * the journal: a temp file renamed over the snapshot (no fsync: a snapshot torn by a power cut
 * fails its checksum and is ignored). Only while holding the state dir's lock. Never written
 * through a link or into a FIFO (a non-regular file in its place is left there and not used).
 */
export async function writeKeySnapshot(file: string, journal: fsp.FileHandle, table: KeySet, covered: number, lines: number): Promise<void> {
  const { capacity } = table.snapshot();
  const { wordBytes, statusBytes } = tableBytes(table);
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  head.write(ORDER, AT_ORDER, 'latin1');
  head.writeUInt32LE(capacity, AT_CAPACITY);
  head.writeUInt32LE(table.size, AT_COUNT);
  head.writeDoubleLE(covered, AT_COVERED);
  head.writeDoubleLE(lines, AT_LINES);
  const print = await fingerprint(journal, covered);
  if (!print) return; // the journal is shorter than it was just read to be: nothing to stand for
  print.copy(head, AT_FINGERPRINT);
  checksum(head, wordBytes, statusBytes).copy(head, AT_CHECKSUM);
  const st = await fsp.lstat(file).catch(() => null);
  if (st && !st.isFile()) return; // not ours to replace: readKeySnapshot says so when it meets it
  // the lines it stands for on disk first: a power cut must not keep the table and lose the lines
  // (a killed run's last group, fsync: never), or their items would be skipped instead of redone
  await journal.datasync();
  const { path: tmp, fh } = await createTemp(file);
  let renamed = false;
  try {
    // each part whole, one after the other (writeFile loops over short writes, as the journal's
    // appends do; a disk that fills throws): a short file is never renamed into place
    for (const part of [head, wordBytes, statusBytes]) await fh.writeFile(part);
    await fh.close();
    await fsp.rename(tmp, file);
    renamed = true;
  } finally {
    await fh.close().catch(() => {});
    if (!renamed) fs.rmSync(tmp, { force: true });
  }
}

/** Remove a snapshot (the journal it covers was set aside). A non-regular file there is left alone. */
export function removeKeySnapshot(file: string): void {
  try {
    if (fs.lstatSync(file).isFile()) fs.unlinkSync(file);
  } catch {
    // none, or gone meanwhile
  }
}

/** The table's two arrays as bytes, without a copy: what the snapshot file holds after its header. */
function tableBytes(table: KeySet): { wordBytes: Buffer; statusBytes: Buffer } {
  const { words, status } = table.snapshot();
  return { wordBytes: Buffer.from(words.buffer, words.byteOffset, words.byteLength), statusBytes: Buffer.from(status.buffer, status.byteOffset, status.byteLength) };
}

/** SHA-256 of the journal's first and last FINGERPRINT_SPAN bytes before `covered`, and `covered`; null when it holds fewer bytes. */
async function fingerprint(journal: fsp.FileHandle, covered: number): Promise<Buffer | null> {
  const h = createHash('sha256').update(String(covered));
  const first = Buffer.alloc(Math.min(FINGERPRINT_SPAN, covered));
  const lastAt = Math.max(0, covered - FINGERPRINT_SPAN);
  const last = Buffer.alloc(covered - lastAt);
  if ((await readFully(journal, first, 0)) !== first.length || (await readFully(journal, last, lastAt)) !== last.length) return null;
  return h.update(first).update(last).digest();
}

/** SHA-256 of the header (its checksum field zero) and the table. */
function checksum(head: Buffer, words: Buffer, status: Buffer): Buffer {
  const h = Buffer.from(head);
  h.fill(0, AT_CHECKSUM, AT_CHECKSUM + 32);
  return createHash('sha256').update(h).update(words).update(status).digest();
}
