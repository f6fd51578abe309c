import { keyOfWords, metaWords } from '../../checkpoint/keys.js';
import { KeySet, type KeySetSnapshot } from '../../checkpoint/keyset.js';
import type { Deferred } from './walk.js';
import { SizeTally } from '../../core/size-class.js';

export interface KeyTable { table: KeySetSnapshot | null; seen: Uint8Array | null }

const NO_TABLE: KeyTable = { table: null, seen: null };

/**
 * The walk's admit hook off the main thread: count the file, key it (default key), and drop it
 * when the checkpoint's table (a shared snapshot) has the key, marking it seen. While the table
 * is not there yet, the key's digest is returned for a later `resolve` (the walk walks on
 * meanwhile). Used by the walker thread and its helper, each with its own counts.
 */
export class Keyer {
  found = 0;
  skipped = 0;
  /** with countOnly: bytes in the files not done, and those files by size class */
  readonly todo = new SizeTally();
  get bytes(): number {
    return this.todo.bytes;
  }
  private keys: KeyTable | undefined;

  /**
   * `poll(wait)` returns the table once it has arrived (blocking when `wait`), else undefined.
   * `countOnly` (a plan): files are counted, never kept (their bytes added up), and with no
   * table no key is computed.
   */
  constructor(dedupe: boolean, private readonly poll: (wait: boolean) => KeyTable | undefined, private readonly countOnly = false) {
    if (!dedupe) this.keys = NO_TABLE;
  }

  setTable(keys: KeyTable): void {
    this.keys = keys;
  }

  admit = (rel: string, size: number, mtimeMs: number): string | boolean | Deferred => {
    this.found++;
    if (this.countOnly && this.keys && !this.keys.table) {
      this.todo.add(size);
      return false;
    }
    const w = metaWords({ rel, size, mtime_ms: mtimeMs });
    const keys = (this.keys ??= this.poll(false));
    const a = w[0]!;
    const b = w[1]!;
    const c = w[2]!;
    const d = w[3]!;
    if (!keys) return { words: [a, b, c, d] }; // a deferred file that is kept comes out as an item: counted there
    if (this.lookup(keys, a, b, c, d)) return false;
    if (this.countOnly) {
      this.todo.add(size);
      return false;
    }
    return keyOfWords(w);
  };

  resolve = (deferred: Deferred, wait: boolean): string | false | null => {
    const keys = (this.keys ??= this.poll(wait));
    if (!keys) return null;
    const [a, b, c, d] = deferred.words;
    return this.lookup(keys, a, b, c, d) ? false : keyOfWords(deferred.words);
  };

  /** Done already? Marks it seen (when the table comes with seen marks). */
  private lookup(keys: KeyTable, a: number, b: number, c: number, d: number): boolean {
    if (!keys.table) return false;
    const slot = KeySet.slotIn(keys.table, a, b, c, d);
    if (slot < 0) return false;
    if (keys.seen) keys.seen[slot] = 1;
    this.skipped++;
    return true;
  }
}
