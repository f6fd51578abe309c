import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SluiceError } from './errors.js';
import { fileKind } from './safe-fs.js';

/**
 * Reading an input file. Every read of an item's bytes by sluice goes through here, and the
 * invariant is: nothing is read from a descriptor that
 *   1. was opened blocking: O_NONBLOCK, so a FIFO (or a device) put in the file's place after the
 *      walk cannot hold the open, and with it a thread of the process-wide libuv pool, forever;
 *   2. followed a symbolic link the walk did not follow: O_NOFOLLOW, unless the item was reached
 *      through a link the user asked for (`follow_symlinks`) or was named by the user (a root, a
 *      path on stdin) — `item.follow`;
 *   3. fstat does not call a regular file.
 * Anything else fails the item with SLUICE_E_NOT_REGULAR before a byte is read; a read that would
 * block all the same (a "regular" file like /proc/kmsg) fails the same way instead of waiting.
 * O_NONBLOCK changes nothing for regular files on Linux. A read that hangs inside the kernel (a
 * dead network mount) cannot be cancelled from here: the item's timeout is the bound.
 */
export interface InputRef {
  /** what fs calls take: a string, or the raw bytes of a name that is not UTF-8 */
  file: string | Uint8Array;
  /** the path shown to the user */
  path: string;
  /** reached through a symbolic link the user asked to follow, or named by the user: may follow it */
  follow?: boolean;
}

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** Open an input for reading, checked as above. The caller closes the handle. */
export async function openInput(item: InputRef): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(item.file as string, item.follow ? FLAGS : FLAGS | constants.O_NOFOLLOW);
  } catch (err) {
    throw notRegularOr(err, item);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      throw new SluiceError('SLUICE_E_NOT_REGULAR', `${item.path} is ${fileKind(st)} now, not a regular file: not read`, { item: item.path });
    }
    return { fh, size: st.size };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

/** What an open or a read error means for an input: the checks above, else the error as it is. */
function notRegularOr(err: unknown, item: InputRef): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  // O_NOFOLLOW on a symlink gives ELOOP; opening a socket gives ENXIO
  if (code === 'ELOOP' && !item.follow) {
    return new SluiceError('SLUICE_E_NOT_REGULAR', `${item.path} is a symbolic link now (the walk found a regular file; links are followed only with follow_symlinks): not read`, { item: item.path, cause: err });
  }
  if (code === 'ENXIO') return new SluiceError('SLUICE_E_NOT_REGULAR', `${item.path} is a socket or a device with nothing behind it: not read`, { item: item.path, cause: err });
  if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
    return new SluiceError('SLUICE_E_NOT_REGULAR', `${item.path}: reading it would block (a special file, not an ordinary one): not read`, { item: item.path, cause: err });
  }
  return err;
}

/** Read up to `length` bytes at `position`; fewer only at the end of the file. */
export async function readAt(fh: FileHandle, item: InputRef, buf: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.read(buf, got, length - got, position + got));
    } catch (err) {
      throw notRegularOr(err, item);
    }
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * The bytes of an open input from `from` to its end, in one buffer that owns its memory (pdfjs
 * detaches what it is given). Sized by fstat; a file that grows meanwhile is read to its end.
 */
export async function readRest(fh: FileHandle, item: InputRef, size: number, from = 0): Promise<Uint8Array> {
  let buf = Buffer.allocUnsafeSlow(Math.max(size - from, 0));
  let len = await readAt(fh, item, buf, buf.length, from);
  if (len === buf.length) {
    // grown since the stat? read on in chunks until the end
    const chunk = Buffer.allocUnsafe(1 << 16);
    for (let n; (n = await readAt(fh, item, chunk, chunk.length, from + len)) > 0; len += n) {
      const next = Buffer.allocUnsafeSlow(len + n);
      buf.copy(next, 0, 0, len);
      chunk.copy(next, len, 0, n);
      buf = next;
    }
  }
  // shrunk since the stat: a copy of the right length, which owns its memory too
  return len === buf.length ? new Uint8Array(buf.buffer, 0, len) : new Uint8Array(buf.subarray(0, len));
}

/**
 * The bytes of an input, chunk by chunk (constant memory, any size). Each chunk is only valid
 * until the next one is asked for: the buffer is reused.
 */
export async function* inputChunks(item: InputRef, chunkBytes = 1 << 20): AsyncGenerator<Buffer> {
  const { fh } = await openInput(item);
  try {
    const buf = Buffer.allocUnsafe(chunkBytes);
    for (let pos = 0; ;) {
      const n = await readAt(fh, item, buf, buf.length, pos);
      if (n === 0) return;
      pos += n;
      yield buf.subarray(0, n);
      if (n < buf.length) return;
    }
  } finally {
    await fh.close().catch(() => {});
  }
}

/** The whole of an input, read under the checks above (for a processor module: `readInput` in sluice/processor). */
export async function readInput(item: InputRef): Promise<Buffer> {
  const { fh, size } = await openInput(item);
  try {
    const bytes = await readRest(fh, item, size);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } finally {
    await fh.close().catch(() => {});
  }
}
