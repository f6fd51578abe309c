import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SluiceError, type ErrorInfo } from '../core/errors.js';
import { KeySet, MAX_LOAD, type KeySetSnapshot } from './keyset.js';
import { syncDir } from '../core/fsx.js';

export type FinalStatus = 'ok' | 'failed';

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
}

export interface JournalOptions {
  fsync: 'always' | 'batch' | 'never';
  /** group commit: fsync after this many lines ... */
  batchItems: number;
  /** ... or this long after the first line not yet synced */
  batchMs: number;
  warn?: (msg: string) => void;
}

export const JOURNAL_FILE = 'journal.ndjson';
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
  /** keys first recorded in this run (not in the table) */
  private added = 0;
  /** of those, the ones recorded failed */
  private addedFailed = 0;
  /** test hook: fail writes with ENOSPC once the file would pass this many bytes */
  private readonly faultAfterBytes = Number(process.env.SLUICE_FAULT_JOURNAL_ENOSPC_AFTER ?? 0);
  private bytes = 0;

  private constructor(dir: string, private readonly opts: JournalOptions) {
    this.file = path.join(dir, JOURNAL_FILE);
  }

  static async open(dir: string, opts: Partial<JournalOptions> = {}): Promise<Journal> {
    const j = new Journal(dir, { fsync: 'batch', batchItems: 512, batchMs: 200, ...opts });
    await j.load(true);
    j.fh = await fsp.open(j.file, 'a');
    return j;
  }

  /** Read-only: the keys as recorded, nothing repaired, no lock needed (a run may be appending). */
  static async read(dir: string): Promise<Journal> {
    const j = new Journal(dir, { fsync: 'never', batchItems: 512, batchMs: 200 });
    await j.load(false);
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

  /** Keys loaded from the file that this run has not seen (so far): 0 means every one is current. */
  get unseen(): number {
    let n = 0;
    for (const [v, count] of this.state.tally()) if (!(v & SEEN)) n += count;
    return n;
  }

  /** Is this key done? Marks it as seen by this run either way (for vanished inputs). */
  lookup(key: string): boolean {
    return this.lookupWords(hexWordOf(key, 0), hexWordOf(key, 8), hexWordOf(key, 16), hexWordOf(key, 24));
  }

  private async load(repair: boolean): Promise<void> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.file, 'r');
    } catch {
      return;
    }
    let total = 0;
    let goodEnd = 0; // byte offset just after the last well-formed line
    let badLines = 0;
    try {
      const size = (await fh.stat()).size;
      // size the table for the lines the file probably holds: no rehash while loading
      this.state = new KeySet(Math.ceil(size / 140 / MAX_LOAD));
      // lines are read from bytes: sluice's own lines are recognised and their keys decoded in
      // place, without a string per line (a resume over millions of items starts here)
      let buf = Buffer.allocUnsafe(1 << 20);
      let have = 0; // bytes in buf
      let base = 0; // file offset of buf[0]
      for (;;) {
        if (have === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2); // a line longer than the buffer
          buf.copy(bigger, 0, 0, have);
          buf = bigger;
        }
        const { bytesRead } = await fh.read(buf, have, buf.length - have, base + have);
        if (!bytesRead) break;
        have += bytesRead;
        let start = 0;
        let nl: number;
        while ((nl = buf.indexOf(0x0a, start)) !== -1 && nl < have) {
          if (this.applyBytes(buf, start, nl)) goodEnd = base + nl + 1;
          else if (nl > start) badLines++;
          start = nl + 1;
        }
        buf.copy(buf, 0, start, have);
        have -= start;
        base += start;
      }
      total = base + have;
    } finally {
      await fh.close();
    }
    this.bytes = goodEnd;
    if (goodEnd < total) {
      // Everything after the last good line is a torn write: cut it so appends start clean.
      if (repair) {
        await fsp.truncate(this.file, goodEnd);
        this.opts.warn?.(`sluice: journal ${this.file}: dropped a torn tail of ${total - goodEnd} bytes at byte offset ${goodEnd}; those items will run again`);
      }
    } else if (badLines) {
      this.opts.warn?.(`sluice: journal ${this.file}: skipped ${badLines} unreadable line(s)`);
    }
  }

  /** One line, buf[start, end): the fast path for lines sluice wrote, JSON.parse for others. */
  private applyBytes(buf: Buffer, start: number, end: number): boolean {
    // byte comparisons in JS: a native compare() call per field cost more than the loop
    if (end - start > 58 && buf[end - 1] === 0x7d && sameBytes(buf, start, PREFIX_BYTES) && buf[start + 40] === 0x22) {
      const a = hexWord(buf, start + 8);
      const b = hexWord(buf, start + 16);
      const c = hexWord(buf, start + 24);
      const d = hexWord(buf, start + 32);
      const status = sameBytes(buf, start + 41, OK_BYTES) ? OK : sameBytes(buf, start + 41, FAILED_BYTES) ? FAILED : 0;
      if (a >= 0 && b >= 0 && c >= 0 && d >= 0 && status) {
        this.state.setWords(a, b, c, d, status);
        this.lines++;
        return true;
      }
    }
    return this.apply(buf.toString('utf8', start, end));
  }

  private apply(line: string): boolean {
    const r = parseLine(line);
    if (!r) return false;
    this.state.set(r.key, r.status === 'ok' ? OK : FAILED);
    this.lines++;
    return true;
  }

  /** Is the key with this digest (its first 16 bytes) done? Marks it seen, like lookup. */
  lookupDigest(digest: Buffer): boolean {
    return this.lookupWords(digest.readUInt32BE(0), digest.readUInt32BE(4), digest.readUInt32BE(8), digest.readUInt32BE(12));
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
    // only keys already recorded are updated in the table; a key new in this run is not added:
    // nothing in this run looks it up again (the walk has produced it), so a fresh run over
    // millions of items keeps an empty table instead of growing it (and its rehash peaks)
    if (this.state.has(entry.key)) this.state.set(entry.key, (entry.status === 'ok' ? OK : FAILED) | SEEN);
    else {
      this.added++;
      if (entry.status === 'failed') this.addedFailed++;
    }
    this.pending.push(JSON.stringify(entry));
    this.lines++;
    if (this.opts.fsync === 'always' || this.pending.length >= this.opts.batchItems) return this.write();
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
    try {
      await this.flush();
    } finally {
      if (this.syncTimer) clearTimeout(this.syncTimer);
      await this.fh?.close();
      this.fh = undefined;
    }
  }

  /** Last-chance synchronous write for a hard exit (second Ctrl-C). */
  flushSync(): void {
    if (!this.pending.length) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    fs.appendFileSync(this.file, text);
  }

  /**
   * Rewrite the journal with only the latest line per key when superseded lines are more than
   * half of it. Atomic: a temp file, fsynced, renamed over the journal. Call after close().
   */
  async compactIfWorthIt(): Promise<{ before: number; after: number } | null> {
    if (this.superseded * 2 <= this.lines) return null;
    const tmp = `${this.file}.compact.tmp`;
    const out = await fsp.open(tmp, 'w');
    let after = 0;
    try {
      let buf: string[] = [];
      for await (const { line } of latestLines(this.file)) {
        buf.push(line);
        after++;
        if (buf.length >= 4096) { await out.writeFile(buf.join('\n') + '\n'); buf = []; }
      }
      if (buf.length) await out.writeFile(buf.join('\n') + '\n');
      await out.datasync();
    } catch (err) {
      await out.close();
      await fsp.rm(tmp, { force: true });
      throw journalError(this.file, err);
    }
    await out.close();
    await fsp.rename(tmp, this.file);
    await syncDir(path.dirname(this.file));
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
    for await (const latest of latestLines(this.file)) {
      // a key not in the table was first recorded by this run: its file was found
      const v = this.state.get(latest.key);
      if (!v || v & SEEN) continue;
      const entry = latest.entry;
      if (fs.existsSync(entry.path_b64 ? Buffer.from(entry.path_b64, 'base64') : entry.path)) continue;
      const pk = pathKey(entry.path);
      if (counted.has(pk)) continue;
      counted.set(pk, 1);
      count++;
      if (examples.length < limit) examples.push(entry.path);
    }
    return { count, examples };
  }
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
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return hex(h1) + hex(h2) + hex(h1 ^ 0xdeadbeef) + hex(h2 ^ 0x9e3779b9);
}

const PREFIX = '{"key":"';
const PREFIX_BYTES = Buffer.from(PREFIX);
const OK_BYTES = Buffer.from(',"status":"ok"');
const FAILED_BYTES = Buffer.from(',"status":"failed"');

function sameBytes(buf: Buffer, at: number, want: Buffer): boolean {
  for (let i = 0; i < want.length; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}

/** Eight lowercase hex digits at buf[at] as an unsigned 32-bit number, or -1. */
function hexWord(buf: Buffer, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const ch = buf[i]!;
    const digit = ch >= 0x30 && ch <= 0x39 ? ch - 0x30 : ch >= 0x61 && ch <= 0x66 ? ch - 0x57 : -1;
    if (digit < 0) return -1;
    v = v * 16 + digit;
  }
  return v;
}
/** Parse a journal line: a fast path for the lines sluice writes, JSON.parse for anything else. */
export function parseLine(line: string): { key: string; status: FinalStatus } | null {
  if (!line || line.charCodeAt(line.length - 1) !== 0x7d /* } */) return null;
  if (line.startsWith(PREFIX) && line.charCodeAt(40) === 0x22) {
    const key = line.slice(8, 40);
    const rest = line.slice(41, 58);
    const status = rest.startsWith(',"status":"ok"') ? 'ok' : rest.startsWith(',"status":"failed"') ? 'failed' : null;
    if (status && KeySet.isKey(key)) return { key, status };
  }
  let e: JournalEntry;
  try {
    e = JSON.parse(line) as JournalEntry;
  } catch {
    return null;
  }
  if (!e || typeof e.key !== 'string' || !KeySet.isKey(e.key) || (e.status !== 'ok' && e.status !== 'failed')) return null;
  return { key: e.key, status: e.status };
}

/** Lines of a file from the last to the first, read backwards in 1 MB blocks. */
export async function* reverseLines(file: string, blockSize = 1 << 20): AsyncGenerator<string> {
  const fh = await fsp.open(file, 'r');
  try {
    let pos = (await fh.stat()).size;
    let tail = Buffer.alloc(0); // bytes after the last newline seen, not yet a whole line
    while (pos > 0) {
      const n = Math.min(blockSize, pos);
      pos -= n;
      const block = Buffer.alloc(n);
      await fh.read(block, 0, n, pos);
      let buf = Buffer.concat([block, tail]);
      let end = buf.length;
      for (let i = buf.length - 1; i >= 0; i--) {
        if (buf[i] === 0x0a) {
          if (end > i + 1) yield buf.toString('utf8', i + 1, end);
          end = i;
        }
      }
      tail = buf.subarray(0, end);
      buf = Buffer.alloc(0);
    }
    if (tail.length) yield tail.toString('utf8');
  } finally {
    await fh.close();
  }
}

export interface LatestLine {
  line: string;
  key: string;
  status: FinalStatus;
  /** the whole entry, parsed on first use (most callers need only the key) */
  readonly entry: JournalEntry;
}

/**
 * The latest entry of each key, newest first: what the journal currently says. `seen.lines`, if
 * given, counts every line read on the way (superseded and unreadable ones included).
 */
export async function* latestLines(file: string, seen?: { lines: number }): AsyncGenerator<LatestLine> {
  const emitted = new KeySet();
  let exists = true;
  try {
    await fsp.access(file);
  } catch {
    exists = false;
  }
  if (!exists) return;
  for await (const line of reverseLines(file)) {
    if (seen) seen.lines++;
    const r = parseLine(line);
    if (!r || emitted.has(r.key)) continue;
    emitted.set(r.key, 1);
    let parsed: JournalEntry | undefined;
    yield { line, key: r.key, status: r.status, get entry() { return (parsed ??= JSON.parse(line) as JournalEntry); } };
  }
}

/** A 32-hex key's 8 digits at `at` as an unsigned 32-bit number (keys are validated on the way in). */
function hexWordOf(key: string, at: number): number {
  return parseInt(key.slice(at, at + 8), 16) >>> 0;
}

