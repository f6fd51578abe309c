import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SluiceError, type ErrorInfo } from '../core/errors.js';
import { KeySet } from './keyset.js';

export type FinalStatus = 'ok' | 'failed';

export interface JournalEntry {
  key: string;
  status: FinalStatus;
  path: string;
  path_b64?: string;
  at: string;
  ms: number;
  attempts?: number;
  error?: Pick<ErrorInfo, 'code' | 'message'>;
}

export interface JournalOptions {
  fsync: 'always' | 'batch' | 'never';
  /** group commit: flush after this many entries ... */
  batchItems: number;
  /** ... or this long after the first unflushed entry */
  batchMs: number;
  warn?: (msg: string) => void;
}

const OK = 1;
const FAILED = 2;

/**
 * Append-only record of finished items. Lines are only ever appended; on open, a torn or garbled
 * tail (the crash hit mid-write) is cut off and the items it named simply run again.
 */
export class Journal {
  readonly file: string;
  /** latest status per key: the one structure that grows with the item count, 17-34 bytes a key off the heap */
  private readonly state = new KeySet();
  private fh: fsp.FileHandle | undefined;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  lines = 0;

  private constructor(dir: string, private readonly opts: JournalOptions) {
    this.file = path.join(dir, 'journal.ndjson');
  }

  static async open(dir: string, opts: Partial<JournalOptions> = {}): Promise<Journal> {
    const j = new Journal(dir, { fsync: 'batch', batchItems: 512, batchMs: 200, ...opts });
    await j.load();
    j.fh = await fsp.open(j.file, 'a');
    return j;
  }

  get size(): number { return this.state.size; }
  isDone(key: string): boolean { return this.state.has(key); }
  isOk(key: string): boolean { return this.state.get(key) === OK; }
  isFailed(key: string): boolean { return this.state.get(key) === FAILED; }
  counts(): { ok: number; failed: number } {
    const t = this.state.tally();
    return { ok: t.get(OK) ?? 0, failed: t.get(FAILED) ?? 0 };
  }

  private async load(): Promise<void> {
    let stream: fs.ReadStream;
    try {
      await fsp.access(this.file);
    } catch {
      return;
    }
    stream = fs.createReadStream(this.file, { highWaterMark: 1 << 20 });
    let carry = '';
    let offset = 0; // byte offset of the start of `carry`
    let goodEnd = 0; // byte offset just after the last well-formed line
    let badLines = 0;
    for await (const chunk of stream) {
      const text = carry + (chunk as Buffer).toString('utf8');
      let start = 0;
      let nl: number;
      while ((nl = text.indexOf('\n', start)) !== -1) {
        const line = text.slice(start, nl);
        const lineBytes = Buffer.byteLength(line) + 1;
        if (this.apply(line)) {
          goodEnd = offset + lineBytes;
        } else if (line.length) {
          badLines++;
        }
        offset += lineBytes;
        start = nl + 1;
      }
      carry = text.slice(start);
    }
    const total = offset + Buffer.byteLength(carry);
    if (goodEnd < total) {
      // Everything after the last good line is a torn write: cut it so appends start clean.
      // Lines before it that failed to parse are counted but kept out of the state.
      await fsp.truncate(this.file, goodEnd);
      this.opts.warn?.(`sluice: journal ${this.file}: dropped a torn tail of ${total - goodEnd} bytes at byte offset ${goodEnd}; those items will run again`);
    } else if (badLines) {
      this.opts.warn?.(`sluice: journal ${this.file}: skipped ${badLines} unreadable line(s)`);
    }
  }

  private apply(line: string): boolean {
    if (!line) return false;
    let e: JournalEntry;
    try {
      e = JSON.parse(line) as JournalEntry;
    } catch {
      return false;
    }
    if (!e || typeof e.key !== 'string' || !KeySet.isKey(e.key) || (e.status !== 'ok' && e.status !== 'failed')) return false;
    this.state.set(e.key, e.status === 'ok' ? OK : FAILED);
    this.lines++;
    return true;
  }

  /** Forget failures so that --retry-failed runs them again. */
  forgetFailed(): number {
    return this.state.filter((v) => v !== FAILED);
  }

  /**
   * Record a finished item. Resolves at once unless a group commit is due, so the caller is
   * slowed only when the disk is; never more than batchItems entries wait in memory.
   */
  append(entry: JournalEntry): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.state.set(entry.key, entry.status === 'ok' ? OK : FAILED);
    this.pending.push(JSON.stringify(entry));
    this.lines++;
    if (this.opts.fsync === 'always' || this.pending.length >= this.opts.batchItems) return this.flush();
    this.timer ??= setTimeout(() => { this.flush().catch(() => {}); }, this.opts.batchMs);
    return Promise.resolve();
  }

  flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (!this.pending.length) return this.flushing;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (this.failure) throw this.failure;
      try {
        await this.fh!.write(text);
        if (this.opts.fsync !== 'never') await this.fh!.datasync();
      } catch (err) {
        this.failure = new SluiceError('SLUICE_E_STATE', `cannot write journal ${this.file}: ${(err as Error).message}`, { cause: err });
        throw this.failure;
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.fh?.close();
      this.fh = undefined;
    }
  }

  /** Last-chance synchronous flush for a hard exit (second Ctrl-C). */
  flushSync(): void {
    if (!this.pending.length) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    fs.appendFileSync(this.file, text);
  }
}
