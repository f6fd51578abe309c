import path from 'node:path';
import { writeOutputFile } from '../core/output.js';
import { promises as fsp } from 'node:fs';
import { Journal, MAX_JOURNALED_OUTPUT, latestLines, type JournalEntry, type JournalOptions } from './journal.js';
import { KeySet, wordsOf } from './keyset.js';
import { STAGE_OUTPUTS_DIR, STAGES_FILE } from './files.js';

/**
 * What the map stages before the last did, per item, in pipelines of several stages: the record a
 * rerun starts an item from, at the stage after the last one recorded, instead of at its first.
 *
 * Invariants: a record's key is the item's key hashed with the fingerprint of every stage up to
 * the recorded one (run/config.ts stageFingerprints), so a change to stage k leaves the records of
 * stages before k valid and those of k and after unmatched; a record is appended only once its
 * output is durable: inline in the line when small (MAX_JOURNALED_OUTPUT), else in a file under
 * stage-outputs/ written first (temp, fsync, rename: core/output.ts), as items' own outputs are.
 * The file is a journal (checkpoint/journal.ts: safe open, torn tail repaired, group commit); its
 * index (key -> where its line is) costs 24 bytes per record off the JS heap.
 */
export class StageStore {
  private constructor(private readonly dir: string, private readonly journal: Journal, private readonly index: OffsetTable) {}

  static async open(stateDir: string, opts: Partial<JournalOptions>): Promise<StageStore> {
    const index = new OffsetTable();
    const journal = await Journal.open(stateDir, { ...opts, name: STAGES_FILE, onLoadedLine: (key, offset, length) => index.set(key, offset, length) });
    return new StageStore(stateDir, journal, index);
  }

  /** Read-only, no lock (a run may be appending): which records there are, for `sluice plan`. */
  static async read(stateDir: string): Promise<{ has(key: string): boolean }> {
    const index = new OffsetTable();
    await Journal.read(stateDir, { name: STAGES_FILE, onLoadedLine: (key, offset, length) => index.set(key, offset, length) });
    return { has: (key) => index.get(key) !== undefined };
  }

  /** Is there a record under this key (from an earlier run)? */
  has(key: string): boolean {
    return this.index.get(key) !== undefined;
  }

  /** The output recorded under `key`; null when none, or when it cannot be read back (the stage runs again). */
  async output(key: string): Promise<Record<string, unknown> | null> {
    const at = this.index.get(key);
    if (!at) return null;
    const e = await this.journal.entryAt(at[0], at[1]).catch(() => null);
    if (!e || e.key !== key) return null;
    if (e.output) return e.output;
    if (!e.output_omitted) return {};
    try {
      return JSON.parse(await fsp.readFile(this.fileOf(key), 'utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
  }

  /** Record that the item `of` went through `stage` with `output`, under `key`. */
  async record(key: string, r: { of: string; path: string; path_b64?: string; stage: string; ms: number; output: Record<string, unknown> }): Promise<void> {
    const json = JSON.stringify(r.output);
    const inline = json.length <= MAX_JOURNALED_OUTPUT;
    if (!inline) await writeOutputFile(path.join(this.dir, STAGE_OUTPUTS_DIR), path.relative(path.join(this.dir, STAGE_OUTPUTS_DIR), this.fileOf(key)), json, (p) => p);
    await this.journal.append({
      key, status: 'ok', path: r.path, ...(r.path_b64 ? { path_b64: r.path_b64 } : {}), at: new Date().toISOString(), ms: r.ms,
      stage: r.stage, of: r.of, ...(inline ? { output: r.output } : { output_omitted: true }),
    });
  }

  close(): Promise<void> {
    return this.journal.close();
  }

  /**
   * Drop the records no run can start from any more (`live` says which can: the record's stage,
   * and every stage before it, as the pipeline has them now), and their output files, when they
   * are half of the file or more: after a change to a stage's options, its old records (and
   * those after it) are never matched again, and would otherwise stay for good. Atomic as the
   * item journal's compaction; what it keeps in memory is a table of the live records that have
   * an output file. Call after close().
   */
  async compact(live: (e: JournalEntry) => boolean, signal?: AbortSignal): Promise<{ before: number; after: number; files: number } | null> {
    const file = path.join(this.dir, STAGES_FILE);
    let total = 0;
    let stale = 0;
    for await (const l of latestLines(file)) {
      if (signal?.aborted) return null;
      total++;
      const e = l.entry;
      if (!e || !live(e)) stale++;
    }
    if (!stale || stale * 2 < total) return null;
    const withFile = new KeySet();
    const r = await this.journal.rewrite(signal, (l) => {
      const e = l.entry;
      if (!e || !live(e)) return false;
      if (e.output_omitted) withFile.set(e.key, 1);
      return true;
    });
    if (!r) return null;
    // output files of records gone: the lines that named them are, so nothing reads them now
    let files = 0;
    const outputs = path.join(this.dir, STAGE_OUTPUTS_DIR);
    for (const sub of await fsp.readdir(outputs).catch(() => [] as string[])) {
      for (const name of await fsp.readdir(path.join(outputs, sub)).catch(() => [] as string[])) {
        const key = name.slice(0, -'.json'.length);
        if (!name.endsWith('.json') || !KeySet.isKey(key) || withFile.has(key)) continue;
        await fsp.rm(path.join(outputs, sub, name), { force: true });
        files++;
      }
    }
    return { ...r, files };
  }

  private fileOf(key: string): string {
    return path.join(this.dir, STAGE_OUTPUTS_DIR, key.slice(0, 2), `${key}.json`);
  }
}

/** key (32 hex digits) -> [offset, length], open addressing on typed arrays: no object per key. */
class OffsetTable {
  private keys = new Uint32Array(4 * 1024);
  private at = new Float64Array(2 * 1024);
  private used = 0;

  private get capacity(): number {
    return this.at.length / 2;
  }

  set(key: string, offset: number, length: number): void {
    if ((this.used + 1) * 10 > this.capacity * 7) this.grow();
    const w = words(key);
    const i = this.slot(w);
    if (!this.at[i * 2 + 1]) this.used++;
    this.keys.set(w, i * 4);
    this.at[i * 2] = offset;
    this.at[i * 2 + 1] = length;
  }

  get(key: string): [number, number] | undefined {
    const i = this.slot(words(key));
    return this.at[i * 2 + 1] ? [this.at[i * 2]!, this.at[i * 2 + 1]!] : undefined;
  }

  /** The slot holding `w`, or the empty slot where it would go (a used slot has a length > 0). */
  private slot(w: Uint32Array): number {
    const mask = this.capacity - 1;
    for (let i = w[0]! & mask; ; i = (i + 1) & mask) {
      if (!this.at[i * 2 + 1]) return i;
      if (this.keys[i * 4] === w[0] && this.keys[i * 4 + 1] === w[1] && this.keys[i * 4 + 2] === w[2] && this.keys[i * 4 + 3] === w[3]) return i;
    }
  }

  private grow(): void {
    const { keys, at } = this;
    const n = at.length / 2;
    this.keys = new Uint32Array(keys.length * 2);
    this.at = new Float64Array(at.length * 2);
    for (let i = 0; i < n; i++) {
      if (!at[i * 2 + 1]) continue;
      const w = keys.subarray(i * 4, i * 4 + 4);
      const j = this.slot(w);
      this.keys.set(w, j * 4);
      this.at[j * 2] = at[i * 2]!;
      this.at[j * 2 + 1] = at[i * 2 + 1]!;
    }
  }
}

function words(key: string): Uint32Array {
  return Uint32Array.from(wordsOf(key));
}
