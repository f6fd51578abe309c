import fs, { constants as C, promises as fsp } from 'node:fs';
import type { Faults } from '../core/faults.js';
import path from 'node:path';
import { SluiceError, type ErrorInfo } from '../core/errors.js';
import { KeySet, MAX_LOAD, wordsOf, type KeySetSnapshot } from './keyset.js';
import { keyOfWords } from './keys.js';
import { readFully, syncDir } from '../core/fsx.js';
import { journalKeysPath, journalPath } from './files.js';
import { readKeySnapshot, SNAPSHOT_MIN_PARSED, writeKeySnapshot } from './key-snapshot.js';
import { createTemp, isUnsafePath, openOwnFile } from '../core/safe-fs.js';

type FinalStatus = 'ok' | 'failed';

export interface JournalEntry {
  key: string;
  status: FinalStatus;
  path: string;
  path_b64?: string;
  at: string;
  ms: number;
  attempts?: number;
  /** the processor's result when its JSON is small (so `sluice results` can rebuild stdout) */
  output?: Record<string, unknown>;
  output_omitted?: boolean;
  /** ok: the names the item wrote under the output dir (relative, `/`-separated; bounded, `outputs_more` counts the rest) */
  outputs?: string[];
  outputs_more?: number;
  error?: Pick<ErrorInfo, 'code' | 'message'>;
  /** pipelines of several stages: the stage the item ended at */
  stage?: string;
  /** recorded ok because a filter stage (`stage`) dropped it: done, not printed */
  filtered?: true;
  /** a child item (fan-out): its parent's key and its index among the parent's children */
  parent?: string;
  index?: number;
  /** a parent: how many children it handed on */
  children?: number;
  /** a stage record (checkpoint/stage-store.ts): the key of the item it is of */
  of?: string;
}

export interface JournalOptions {
  fsync: 'always' | 'batch' | 'never';
  /** group commit: fsync after this many lines ... */
  batchItems: number;
  /** ... or this long after the first line not yet synced */
  batchMs: number;
  warn?: (msg: string) => void;
  /** test-only faults (core/faults.ts) */
  faults?: Pick<Faults, 'journalEnospcAfter' | 'compactPauseMs' | 'keySnapshotMinBytes'>;
  /** the file's name in the state dir (default journal.ndjson) */
  name?: string;
  /** each line read at open: its key, byte offset and length (an index of the file, for readAt) */
  onLoadedLine?: (key: string, offset: number, length: number) => void;
}

/** How many groups of lines may wait for the disk before append waits for them. */
const QUEUED_GROUPS = 4;
/** An output bigger than this is left out of the journal line (the output file has it). */
export const MAX_JOURNALED_OUTPUT = 4096;

// status bits kept per key
const OK = 1;
const FAILED = 2;
const STATUS = 3;
/** the key was found by this run's walk, or finished in this run */
const SEEN = 4;

/**
 * Append-only record of finished items: the checkpoint.
 *
 * Durability: a line is handed to the kernel within one turn of the event loop after the item
 * finished (so killing the process loses nothing that was recorded), and fsynced in groups
 * (every `batchItems` lines or `batchMs`), so a power cut loses at most one group: those items
 * run again. Lines are only ever appended; on open, a torn tail (the crash hit mid-write) is cut
 * off, with a warning naming the byte offset.
 *
 * The file is opened through lib/core/safe-fs (never through a link, never a FIFO), and only a file
 * proven to be a sluice journal (its first line is one, see journalHead) is read, cut or appended
 * to: anything else is refused with SLUICE_E_STATE and left as it is.
 */
export class Journal {
  readonly file: string;
  /** latest status per key: the one structure that grows with the item count, 17-34 bytes a key off the heap */
  private state = new KeySet();
  private fh: fsp.FileHandle | undefined;
  private pending: string[] = [];
  private writeScheduled = false;
  private unsynced = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** complete lines in the file, superseded ones included */
  lines = 0;
  /** complete lines that could not be read at open (skipped, with a warning): a NUL byte, not JSON */
  unreadable = 0;
  /** bytes of the file whose keys were read from the key snapshot at open (0: every line was parsed) */
  fromSnapshot = 0;
  /** keys first recorded in this run (not in the table) */
  private added = 0;
  /** of those, the ones recorded failed */
  private addedFailed = 0;
  /** test hook: fail writes with ENOSPC once the file would pass this many bytes */
  private get faultAfterBytes(): number { return this.opts.faults?.journalEnospcAfter ?? 0; }
  /** test hook: compaction waits this long with its temp file written, before the rename */
  private get faultCompactPauseMs(): number { return this.opts.faults?.compactPauseMs ?? 0; }
  private bytes = 0;
  /** lines handed to write() whose write has not finished */
  private queued = 0;
  /** close() was called: append refuses */
  private closing = false;

  /** the key snapshot (key-snapshot.ts): the item journal's alone (another journal's lines are indexed as they are read) */
  private readonly keysFile: string | null;

  private constructor(dir: string, private readonly opts: JournalOptions) {
    this.file = opts.name ? path.join(dir, opts.name) : journalPath(dir);
    this.keysFile = opts.name || opts.onLoadedLine ? null : journalKeysPath(dir);
  }

  static async open(dir: string, opts: Partial<JournalOptions> = {}): Promise<Journal> {
    const j = new Journal(dir, { fsync: 'batch', batchItems: 512, batchMs: 200, ...opts });
    // one descriptor for reading, repairing and appending: what was checked is what is written
    const fh = await openJournal(j.file, C.O_RDWR | C.O_APPEND | C.O_CREAT);
    try {
      await j.load(fh, true);
    } catch (err) {
      await fh.close();
      throw err;
    }
    j.fh = fh;
    return j;
  }

  /** Read-only: the keys as recorded, nothing repaired, no lock needed (a run may be appending). */
  static async read(dir: string, opts: Pick<JournalOptions, 'name' | 'onLoadedLine'> = {}): Promise<Journal> {
    const j = new Journal(dir, { fsync: 'never', batchItems: 512, batchMs: 200, ...opts });
    const fh = await openJournal(j.file, C.O_RDONLY, true);
    if (!fh) return j;
    try {
      await j.load(fh, false);
    } finally {
      await fh.close();
    }
    return j;
  }

  /** keys recorded: loaded, plus those new in this run */
  get size(): number { return this.state.size + this.added; }
  /** lines superseded by a later line of the same key (a key recorded twice within one run is not counted: compaction may come later) */
  get superseded(): number { return this.lines - this.size; }
  isDone(key: string): boolean { return this.state.has(key); }
  isOk(key: string): boolean { return (this.state.get(key) & STATUS) === OK; }
  isFailed(key: string): boolean { return (this.state.get(key) & STATUS) === FAILED; }
  counts(): { ok: number; failed: number } {
    let ok = 0;
    let failed = 0;
    for (const [v, n] of this.state.tally()) {
      if ((v & STATUS) === OK) ok += n;
      else if ((v & STATUS) === FAILED) failed += n;
    }
    return { ok, failed };
  }

  /**
   * Items failed in the checkpoint now (after this run's lines): the job's failures. With
   * `walkedAll` (the walk ran to its end, so every input was looked up), only items whose file
   * is still there count: a failed item that vanished is reported as vanished instead.
   */
  failedNow(walkedAll: boolean): number {
    let failed = this.addedFailed;
    for (const [v, n] of this.state.tally()) {
      if ((v & STATUS) === FAILED && (!walkedAll || v & SEEN)) failed += n;
    }
    return failed;
  }

  /**
   * Does this recorded key stand for an input as it is now? True when this run's walk found it or
   * the key was first recorded by this run; false for a key the walk did not produce (its input
   * vanished or changed). Only meaningful after a complete walk, like vanished().
   */
  isCurrent(key: string): boolean {
    const v = this.state.get(key);
    return !v || (v & SEEN) !== 0;
  }

  /**
   * The latest line of each key failed now, newest first: the file read backwards from where the
   * table ends (another process may be appending), only until the table's failed count is found.
   */
  async *latestFailed(): AsyncGenerator<LatestLine> {
    let left = this.counts().failed;
    if (!left) return;
    for await (const batch of latestLineBatches(this.file, undefined, this.bytes)) {
      for (const l of batch) {
        if (l.status !== 'failed') continue;
        yield l;
        if (--left === 0) return;
      }
    }
  }

  /** Keys loaded from the file that this run has not seen (so far): 0 means every one is current. */
  get unseen(): number {
    let n = 0;
    for (const [v, count] of this.state.tally()) if (!(v & SEEN)) n += count;
    return n;
  }

  /** Is this key done? Marks it as seen by this run either way (for vanished inputs). */
  lookup(key: string): boolean {
    const w = wordsOf(key);
    return this.lookupWords(w[0]!, w[1]!, w[2]!, w[3]!);
  }

  private async load(fh: fsp.FileHandle, repair: boolean): Promise<void> {
    let total = 0;
    let goodEnd = 0; // byte offset just after the last well-formed line
    let badLines = 0;
    const size = (await fh.stat()).size;
    await journalHead(fh, size, this.file);
    // the table as saved after an earlier open, then only the lines written since
    const snap = this.keysFile && size ? await readKeySnapshot(this.keysFile, fh, size, (v) => v === OK || v === FAILED, this.opts.warn) : null;
    const from = snap?.covered ?? 0;
    if (snap) {
      this.state = snap.table;
      this.lines = snap.lines;
      this.fromSnapshot = from;
      goodEnd = from;
    } else {
      // size the table for the lines the file probably holds: no rehash while loading
      this.state = new KeySet(Math.ceil(size / 140 / MAX_LOAD));
    }
    // lines are read from bytes: sluice's own lines are recognised and their keys decoded in
    // place, without a string per line (a resume over millions of items starts here)
    let buf = Buffer.allocUnsafe(1 << 20);
    let have = 0; // bytes in buf
    let base = from; // file offset of buf[0]
    for (;;) {
      if (have === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2); // a line longer than the buffer
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, have, buf.length - have, base + have);
      if (!bytesRead) break;
      have += bytesRead;
      const view = buf.subarray(0, have);
      let start = 0;
      let nl: number;
      // a NUL byte (a zeroed block after a power cut) makes its line unreadable: found natively, once per read
      let nul = view.indexOf(0);
      while ((nl = view.indexOf(0x0a, start)) !== -1) {
        while (nul !== -1 && nul < start) nul = view.indexOf(0, start);
        if ((nul === -1 || nul > nl) && this.applyBytes(buf, start, nl, base)) goodEnd = base + nl + 1;
        else if (nl > start) badLines++;
        start = nl + 1;
      }
      buf.copy(buf, 0, start, have);
      have -= start;
      base += start;
    }
    total = base + have;
    this.bytes = goodEnd;
    this.unreadable = badLines; // a snapshot never covers an unreadable line: these are all of them
    if (goodEnd < total) {
      // Everything after the last good line is a torn write: cut it so appends start clean.
      if (repair) {
        await fh.truncate(goodEnd);
        this.opts.warn?.(`sluice: journal ${this.file}: dropped a torn tail of ${total - goodEnd} bytes at byte offset ${goodEnd}; those items will run again`);
      }
    } else if (badLines) {
      this.opts.warn?.(`sluice: journal ${this.file}: skipped ${badLines} unreadable line(s)`);
    }
    // many lines parsed: save the table for the next open (holding the lock; a journal with
    // unreadable lines is parsed every time, so that its warning is given every time)
    if (repair && this.keysFile && !badLines && goodEnd - from >= (this.opts.faults?.keySnapshotMinBytes ?? SNAPSHOT_MIN_PARSED)) {
      try {
        await writeKeySnapshot(this.keysFile, fh, this.state, goodEnd, this.lines);
      } catch (err) {
        this.opts.warn?.(`sluice: could not save the key snapshot ${this.keysFile} (${(err as Error).message}); the next run reads the journal in full`);
      }
    }
  }

  /** One line, buf[start, end), known to hold no NUL byte: the fast path for lines sluice wrote, JSON.parse for others. */
  private applyBytes(buf: Buffer, start: number, end: number, base: number): boolean {
    // byte comparisons in JS: a native compare() call per field cost more than the loop
    if (end - start > MIN_FAST && buf[end - 1] === 0x7d && sameBytes(buf, start, PREFIX_BYTES) && buf[start + 40] === 0x22) {
      const a = hexWord(buf, start + 8);
      const b = hexWord(buf, start + 16);
      const c = hexWord(buf, start + 24);
      const d = hexWord(buf, start + 32);
      const status = sameBytes(buf, start + 41, OK_BYTES) ? OK : sameBytes(buf, start + 41, FAILED_BYTES) ? FAILED : 0;
      if (a >= 0 && b >= 0 && c >= 0 && d >= 0 && status) {
        this.state.setWords(a, b, c, d, status);
        this.lines++;
        this.opts.onLoadedLine?.(buf.toString('latin1', start + 8, start + 40), base + start, end - start);
        return true;
      }
    }
    return this.apply(buf.toString('utf8', start, end), base + start, end - start);
  }

  private apply(line: string, offset = 0, length = 0): boolean {
    const r = parseLine(line);
    if (!r) return false;
    this.state.set(r.key, r.status === 'ok' ? OK : FAILED);
    this.lines++;
    this.opts.onLoadedLine?.(r.key, offset, length);
    return true;
  }

  /** The entry of the line at `offset` (as onLoadedLine gave it), or null when it is not there or not one. */
  async entryAt(offset: number, length: number): Promise<JournalEntry | null> {
    if (!this.fh) return null;
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, offset);
    return bytesRead === length ? parseEntry(buf.toString('utf8')) : null;
  }

  /** Is the key with this digest (its first 16 bytes) done? Marks it seen, like lookup. */
  lookupMetaWords(w: Uint32Array): boolean {
    return this.lookupWords(w[0]!, w[1]!, w[2]!, w[3]!);
  }

  private lookupWords(a: number, b: number, c: number, d: number): boolean {
    const v = this.state.getWords(a, b, c, d);
    if (!v) return false;
    if (!(v & SEEN)) this.state.setWords(a, b, c, d, v | SEEN);
    return true;
  }

  /** The key table, shared, for lookups from the walker thread (any nonzero status is done). */
  snapshot(): KeySetSnapshot {
    return this.state.snapshot();
  }

  /** Apply marks made by another thread on a snapshot (seen[slot] = 1): those keys were found by the walk. */
  markSeen(snap: KeySetSnapshot, seen: Uint8Array): void {
    const current = this.state.isCurrent(snap);
    for (let i = 0; i < seen.length; i++) {
      if (!seen[i]) continue;
      if (current) {
        this.state.setStatusAt(i, this.state.statusAt(i) | SEEN);
      } else {
        const w = i * 4;
        this.lookupWords(snap.words[w]!, snap.words[w + 1]!, snap.words[w + 2]!, snap.words[w + 3]!);
      }
    }
  }

  /** Forget failures so that --retry-failed runs them again. */
  forgetFailed(): number {
    return this.state.filter((v) => (v & STATUS) !== FAILED);
  }

  /**
   * Record a finished item. Call only once its outputs are durable. Resolves at once unless the
   * lines waiting to be written reach a group, so a slow disk slows the run instead of queueing.
   */
  append(entry: JournalEntry): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new SluiceError('SLUICE_E_STATE', `journal ${this.file} is closed: nothing more can be recorded in it`));
    // only keys already recorded are updated in the table; a key new in this run is not added:
    // nothing in this run looks it up again (the walk has produced it), so a fresh run over
    // millions of items keeps an empty table instead of growing it (and its rehash peaks)
    if (this.state.has(entry.key)) this.state.set(entry.key, (entry.status === 'ok' ? OK : FAILED) | SEEN);
    else {
      this.added++;
      if (entry.status === 'failed') this.addedFailed++;
    }
    this.pending.push(formatLine(entry));
    this.lines++;
    if (this.opts.fsync === 'always' || this.pending.length >= this.opts.batchItems) return this.write();
    // lines handed to write() and not yet on disk count too: however the producer paces itself,
    // no more than a few groups wait in memory (a slow disk slows the run instead). Not one group:
    // a write waits for the group commit's fsync, and the run would wait for each fsync with it
    if (this.pending.length + this.queued >= QUEUED_GROUPS * this.opts.batchItems) return this.write();
    if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => { this.write().catch(() => {}); });
    }
    return Promise.resolve();
  }

  /** Hand pending lines to the kernel; fsync per the policy. */
  private write(): Promise<void> {
    this.writeScheduled = false;
    if (!this.pending.length) return this.chain;
    const text = this.pending.join('\n') + '\n';
    const n = this.pending.length;
    this.pending = [];
    this.queued += n;
    this.chain = this.chain.then(async () => {
      if (this.failure) throw this.failure;
      try {
        const buf = Buffer.from(text);
        if (this.faultAfterBytes && this.bytes + buf.length > this.faultAfterBytes) {
          throw Object.assign(new Error('ENOSPC: no space left on device, write (fault injected by SLUICE_FAULT_JOURNAL_ENOSPC_AFTER)'), { code: 'ENOSPC' });
        }
        try {
          // writeFile loops over short writes (a disk filling part-way returns short, no error;
          // the next write fails with ENOSPC), where write() makes one call
          await this.fh!.writeFile(buf);
        } catch (err) {
          // a disk that fills mid-write takes part of the text: cut it back to the last complete
          // line, so the journal on disk stays exactly what was recorded
          await this.fh!.truncate(this.bytes).catch(() => {});
          throw err;
        }
        this.bytes += buf.length;
        this.queued -= n;
        this.unsynced += n;
        if (this.opts.fsync === 'always' || (this.opts.fsync === 'batch' && this.unsynced >= this.opts.batchItems)) await this.sync();
        else if (this.opts.fsync === 'batch') this.syncTimer ??= setTimeout(() => { this.chain = this.chain.then(() => this.sync()).catch(() => {}); }, this.opts.batchMs);
      } catch (err) {
        this.failure = journalError(this.file, err);
        throw this.failure;
      }
    });
    return this.chain;
  }

  private async sync(): Promise<void> {
    if (this.syncTimer) { clearTimeout(this.syncTimer); this.syncTimer = undefined; }
    if (!this.unsynced || !this.fh) return;
    this.unsynced = 0;
    await this.fh.datasync();
  }

  /** Write and sync everything recorded so far. */
  async flush(): Promise<void> {
    await this.write();
    await (this.chain = this.chain.then(() => (this.opts.fsync === 'never' ? undefined : this.sync())));
  }

  async close(): Promise<void> {
    this.closing = true;
    try {
      await this.flush();
    } finally {
      if (this.syncTimer) clearTimeout(this.syncTimer);
      await this.fh?.close();
      this.fh = undefined;
    }
  }

  /** Last-chance synchronous write for a hard exit (second Ctrl-C), through the journal's own descriptor. */
  flushSync(): void {
    if (!this.pending.length || !this.fh) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    fs.writeFileSync(this.fh.fd, text);
  }

  /**
   * Rewrite the journal with only the latest line per key when superseded lines are more than
   * half of it. Atomic: a temp file of a unique name, fsynced, renamed over the journal. Call after
   * close(). An abort (a signal) leaves the journal as it was and removes the temp file; so does
   * a hard exit (process.exit), and a kill -9 leaves it to removeStaleTemps at the next start.
   */
  async compactIfWorthIt(signal?: AbortSignal): Promise<{ before: number; after: number } | null> {
    if (this.superseded * 2 <= this.lines || signal?.aborted) return null;
    return this.rewrite(signal);
  }

  /**
   * Rewrite the journal with the latest line of each key that `keep` keeps (all, by default), the
   * same way: atomic, an abort leaves it as it was. Call after close().
   */
  async rewrite(signal?: AbortSignal, keep?: (l: LatestLine) => boolean): Promise<{ before: number; after: number } | null> {
    if (signal?.aborted) return null;
    let tmp: string;
    let out: fsp.FileHandle;
    try {
      ({ path: tmp, fh: out } = await createTemp(this.file));
    } catch (err) {
      throw journalError(this.file, err);
    }
    const removeTmp = () => { try { fs.rmSync(tmp, { force: true }); } catch { /* nothing more to do at exit */ } };
    process.on('exit', removeTmp);
    let after = 0;
    let renamed = false;
    try {
      let buf: string[] = [];
      for await (const l of latestLines(this.file)) {
        if (signal?.aborted) return null;
        if (keep && !keep(l)) continue;
        buf.push(l.line);
        after++;
        if (buf.length >= 4096) { await out.writeFile(buf.join('\n') + '\n'); buf = []; }
      }
      if (buf.length) await out.writeFile(buf.join('\n') + '\n');
      await out.datasync();
      await out.close();
      if (this.faultCompactPauseMs > 0) await pause(this.faultCompactPauseMs, signal);
      if (signal?.aborted) return null;
      await fsp.rename(tmp, this.file);
      renamed = true;
      await syncDir(path.dirname(this.file));
    } catch (err) {
      throw journalError(this.file, err);
    } finally {
      await out.close().catch(() => {});
      if (!renamed) removeTmp();
      process.off('exit', removeTmp);
    }
    const before = this.lines;
    this.lines = after;
    return { before, after };
  }

  /**
   * Inputs recorded in the journal that are gone: their key did not come up in this run's walk
   * and no file exists at their path any more (a modified file has a new key but still exists:
   * it was redone, it did not vanish). Counted, the first `limit` listed. Only meaningful after
   * a complete walk in which every item went through `lookup` or `append`.
   */
  async vanished(limit: number): Promise<{ count: number; examples: string[] }> {
    let count = 0;
    const examples: string[] = [];
    // the common case, every key seen, costs one pass over the table instead of the file
    let unseen = 0;
    for (const [v, n] of this.state.tally()) if (!(v & SEEN)) unseen += n;
    if (!unseen) return { count, examples };
    const counted = new KeySet();
    const read = { lines: 0, unreadable: 0 };
    for await (const latest of latestLines(this.file, read)) {
      // a key not in the table was first recorded by this run: its file was found
      const v = this.state.get(latest.key);
      if (!v || v & SEEN) continue;
      const entry = latest.entry;
      if (!entry) continue; // its path cannot be read: counted as unreadable
      if (fs.existsSync(entry.path_b64 ? Buffer.from(entry.path_b64, 'base64') : entry.path)) continue;
      const pk = pathKey(entry.path);
      if (counted.has(pk)) continue;
      counted.set(pk, 1);
      count++;
      if (examples.length < limit) examples.push(entry.path);
    }
    if (read.unreadable) this.opts.warn?.(`sluice: journal ${this.file}: skipped ${read.unreadable} unreadable line(s) looking for vanished inputs`);
    return { count, examples };
  }
}

/** Wait `ms`, or less if `signal` aborts. */
/** Wait `ms`, or less: not at all when `signal` is already aborted, until it is otherwise. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Open the journal through safe-fs. A link, a FIFO or anything but a regular file is refused
 * (SLUICE_E_STATE, exit 3). With `missingOk`, a journal that does not exist is null.
 */
async function openJournal(file: string, flags: number, missingOk: true): Promise<fsp.FileHandle | null>;
async function openJournal(file: string, flags: number): Promise<fsp.FileHandle>;
async function openJournal(file: string, flags: number, missingOk = false): Promise<fsp.FileHandle | null> {
  try {
    return await openOwnFile(file, flags);
  } catch (err) {
    if (missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    if (isUnsafePath(err)) throw new SluiceError('SLUICE_E_STATE', `refusing the journal: ${err.message}`, { cause: err });
    throw new SluiceError('SLUICE_E_STATE', `cannot open the journal ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** How much of a file's start journalHead reads to find its first line (a journal line is a few KB at most). */
const HEAD_MAX = 1 << 20;

/**
 * Prove that a file is a sluice journal before anything reads, cuts or appends to it: it is empty,
 * or its first line that is not all NUL bytes (a zeroed block) is a journal line, or it holds no
 * whole line yet and its bytes are the start of one (a first write torn by a crash). Anything else
 * (a file a link or a hard link put there, a file someone replaced) is refused and left untouched.
 */
async function journalHead(fh: fsp.FileHandle, size: number, file: string): Promise<void> {
  if (size === 0) return;
  const buf = Buffer.alloc(Math.min(size, HEAD_MAX));
  const got = await readFully(fh, buf, 0);
  const head = buf.subarray(0, got);
  let start = 0;
  while (start < head.length && (head[start] === 0 || head[start] === 0x0a)) start++;
  const nl = head.indexOf(0x0a, start);
  let ok: boolean;
  if (nl !== -1) ok = head.indexOf(0, start) === -1 || head.indexOf(0, start) > nl ? parseLine(head.toString('utf8', start, nl)) !== null : false;
  else ok = start < head.length && got === size && isTornLineStart(head.subarray(start));
  if (!ok) {
    throw new SluiceError('SLUICE_E_STATE', `${file} is not a sluice journal (its first line is not a journal line): refusing to read, repair or append to it; it is left as it is. Move it away, or run with --fresh to set it aside`);
  }
}

/** Could these bytes be the start of a line sluice wrote (a write cut short)? */
function isTornLineStart(b: Buffer): boolean {
  return b.indexOf(0) === -1 && (followsTemplate(b, OK_BYTES) || followsTemplate(b, FAILED_BYTES));
}

/** Do the bytes follow {"key":"<32 hex>"<tail> as far as both go? */
function followsTemplate(b: Buffer, tail: Buffer): boolean {
  const n = Math.min(b.length, 41 + tail.length);
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    const ok = i < 8 ? c === PREFIX_BYTES[i] : i < 40 ? (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) : i === 40 ? c === 0x22 : c === tail[i - 41];
    if (!ok) return false;
  }
  return true;
}

function journalError(file: string, err: unknown): SluiceError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EDQUOT' ? 'the disk quota is exceeded' : (err as Error).message;
  return new SluiceError(code === 'ENOSPC' || code === 'EDQUOT' ? 'SLUICE_E_DISK_FULL' : 'SLUICE_E_STATE', `cannot write the journal ${file}: ${why}; everything recorded before is kept, rerun when there is space`, { cause: err });
}

/** A 32-hex key for a path (vanished-input bookkeeping). */
export function pathKey(p: string): string {
  // FNV-1a over UTF-16 units, twice with different seeds: fast, and 64 bits is plenty to tell paths apart here
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ p.length;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return keyOfWords([h1, h2, (h1 ^ 0xdeadbeef) >>> 0, (h2 ^ 0x9e3779b9) >>> 0]); // XOR gives a signed word: back to unsigned, or its hex has a minus sign
}

// sluice's own lines start {"key":"<32 hex>","status":"ok|failed","path":" (formatLine writes
// them so, whatever the order of the entry's properties); the fast path recognises that start, a
// closing brace, no NUL
const PREFIX = '{"key":"';
const PREFIX_BYTES = Buffer.from(PREFIX);
const OK_TAIL = ',"status":"ok","path":"';
const FAILED_TAIL = ',"status":"failed","path":"';
const OK_BYTES = Buffer.from(OK_TAIL);
const FAILED_BYTES = Buffer.from(FAILED_TAIL);
/** bytes of the longest template: a line of the fast path is longer than that (its path, its closing brace) */
const TEMPLATE_MAX = 41 + FAILED_BYTES.length;
const MIN_FAST = TEMPLATE_MAX;

function sameBytes(buf: Buffer, at: number, want: Buffer): boolean {
  for (let i = 0; i < want.length; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}

/** Eight lowercase hex digits at buf[at] as an unsigned 32-bit number, or -1. */
function hexWord(buf: Buffer, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const digit = HEX_DIGIT[buf[i]!]!;
    if (digit < 0) return -1;
    v = (v << 4) | digit;
  }
  return v >>> 0;
}
/** the value of each byte as a lowercase hex digit, or -1 (a table: a million lines, 32 digits each) */
const HEX_DIGIT = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX_DIGIT['0123456789abcdef'.charCodeAt(i)] = i;
/**
 * The line of an entry: JSON with key, status and path first, in that order, which is what
 * parseLine's fast path reads; the other fields follow as the entry holds them. This module alone
 * writes and parses the format.
 */
export function formatLine(entry: JournalEntry): string {
  // an entry made with key, status and path first (as sluice makes them) is written as it is
  const line = JSON.stringify(entry);
  if (isFastLine(line)) return line;
  const { key, status, path: p, ...rest } = entry;
  return JSON.stringify({ key, status, path: p, ...rest });
}

/** Whether `line` is read by parseLine's fast path (for tests: a line sluice writes must be). */
export function isFastLine(line: string): boolean {
  return line.length > MIN_FAST && line.startsWith(PREFIX) && line.charCodeAt(40) === 0x22
    && (line.startsWith(OK_TAIL, 41) || line.startsWith(FAILED_TAIL, 41));
}

/**
 * Parse a journal line: a fast path for the lines sluice writes, JSON.parse for anything else; null
 * for an unreadable line. A line holding a NUL byte is unreadable (JSON never holds one raw).
 */
export function parseLine(line: string): { key: string; status: FinalStatus } | null {
  if (!line || line.charCodeAt(line.length - 1) !== 0x7d /* } */ || line.includes('\0')) return null;
  if (isFastLine(line)) {
    const key = line.slice(8, 40);
    if (KeySet.isKey(key)) return { key, status: line.startsWith(OK_TAIL, 41) ? 'ok' : 'failed' };
  }
  const e = parseEntry(line);
  return e ? { key: e.key, status: e.status } : null;
}

/** The whole entry of a line, or null when it is not JSON or lacks what every entry has. */
function parseEntry(line: string): JournalEntry | null {
  let e: JournalEntry;
  try {
    e = JSON.parse(line) as JournalEntry;
  } catch {
    return null;
  }
  if (!e || typeof e !== 'object' || typeof e.key !== 'string' || !KeySet.isKey(e.key) || (e.status !== 'ok' && e.status !== 'failed')) return null;
  if (typeof e.path !== 'string' || (e.path_b64 !== undefined && typeof e.path_b64 !== 'string')) return null;
  return e;
}

/**
 * Whole lines of a journal from the last to the first, read backwards in 1 MB blocks. A last line
 * without its newline (a write in progress, or a torn tail the next run cuts) is left out. The
 * file is opened through safe-fs and must be a sluice journal (SLUICE_E_STATE otherwise).
 */
export async function* reverseLines(file: string, blockSize = 1 << 20): AsyncGenerator<string> {
  for await (const lines of reverseLineBlocks(file, blockSize)) yield* lines;
}

/**
 * reverseLines a block at a time: the lines of each block read, last first (one await per block,
 * not per line). `end`: read only the file's first `end` bytes (what a loaded journal covered).
 */
async function* reverseLineBlocks(file: string, blockSize = 1 << 20, end?: number): AsyncGenerator<string[]> {
  const fh = await openJournal(file, C.O_RDONLY);
  try {
    let pos = (await fh.stat()).size;
    if (end !== undefined) pos = Math.min(pos, end);
    await journalHead(fh, pos, file);
    let tail = Buffer.alloc(0); // bytes after the last newline seen, not yet a whole line
    let whole = false; // a newline was seen: what follows the next one back is a whole line
    while (pos > 0) {
      const n = Math.min(blockSize, pos);
      pos -= n;
      const block = Buffer.alloc(n);
      await fh.read(block, 0, n, pos);
      let buf = Buffer.concat([block, tail]);
      let end = buf.length;
      const lines: string[] = [];
      for (let i = buf.length - 1; i >= 0; i--) {
        if (buf[i] === 0x0a) {
          if (whole && end > i + 1) lines.push(buf.toString('utf8', i + 1, end));
          whole = true;
          end = i;
        }
      }
      tail = buf.subarray(0, end);
      buf = Buffer.alloc(0);
      if (lines.length) yield lines;
    }
    if (whole && tail.length) yield [tail.toString('utf8')];
  } finally {
    await fh.close();
  }
}

export interface LatestLine {
  line: string;
  key: string;
  status: FinalStatus;
  /**
   * the whole entry, parsed on first use (most callers need only the key); null when the line,
   * though it has the shape of sluice's own lines, is not JSON: an unreadable line, counted in
   * `seen.unreadable`, that a caller needing the entry skips
   */
  readonly entry: JournalEntry | null;
}

/**
 * The latest entry of each key, newest first: what the journal currently says. `seen`, if given,
 * counts every line read on the way (superseded and unreadable ones included) and the unreadable
 * ones (NUL bytes, not JSON, no key or status: skipped, as the run's load skips them).
 */
export async function* latestLines(file: string, seen?: { lines: number; unreadable?: number }): AsyncGenerator<LatestLine> {
  for await (const batch of latestLineBatches(file, seen)) yield* batch;
}

/** latestLines a block of the journal at a time (for a reader of millions of lines: one await per block, not per line). */
export async function* latestLineBatches(file: string, seen?: { lines: number; unreadable?: number }, end?: number): AsyncGenerator<LatestLine[]> {
  const emitted = new KeySet();
  try {
    await fsp.lstat(file);
  } catch {
    return;
  }
  for await (const lines of reverseLineBlocks(file, undefined, end)) {
    const batch: LatestLine[] = [];
    for (const line of lines) {
      if (seen) seen.lines++;
      const r = parseLine(line);
      if (!r) {
        if (seen) seen.unreadable = (seen.unreadable ?? 0) + 1;
        continue;
      }
      if (!emitted.add(r.key, 1)) continue;
      batch.push(new Latest(line, r.key, r.status, seen));
    }
    if (batch.length) yield batch;
  }
}

/** One latest line; its entry parsed on first use. */
class Latest implements LatestLine {
  private parsed: JournalEntry | null | undefined;
  constructor(readonly line: string, readonly key: string, readonly status: FinalStatus, private readonly seen?: { lines: number; unreadable?: number }) {}
  get entry(): JournalEntry | null {
    if (this.parsed === undefined) {
      this.parsed = parseEntry(this.line);
      if (!this.parsed && this.seen) this.seen.unreadable = (this.seen.unreadable ?? 0) + 1;
    }
    return this.parsed;
  }
}
