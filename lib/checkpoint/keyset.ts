/**
 * Status by item key, for millions of keys. A key is 32 hex digits (128 bits of a hash); it is
 * stored as four 32-bit words in a typed array with open addressing, so each key costs 17 bytes
 * (up to 1/MAX_LOAD ... 2/MAX_LOAD times that, by how full the table is) outside the JS heap: no per-key object, no GC work,
 * and a Map's doubling rehash spikes are gone. A Map<string, number> took ~80 bytes of heap per key.
 */
const EMPTY = 0;
/** the table grows past this load: linear probing stays short (~2 probes a hit) and a million keys fit 2^21 slots */
export const MAX_LOAD = 0.7;

const KEY_RE = /^[0-9a-f]{32}$/;

export class KeySet {
  private words: Uint32Array;
  private status: Uint8Array;
  private capacity: number;
  private count = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = pow2(Math.max(16, initialCapacity));
    this.words = sharedU32(this.capacity * 4);
    this.status = sharedU8(this.capacity);
  }

  /**
   * The table's memory, shared (SharedArrayBuffer): another thread can look keys up in it
   * without a copy. Valid until the set grows or is filtered (both replace the arrays).
   */
  snapshot(): KeySetSnapshot {
    return { words: this.words, status: this.status, capacity: this.capacity };
  }

  /** Has the table been replaced since this snapshot was taken? */
  isCurrent(snap: KeySetSnapshot): boolean {
    return snap.words === this.words;
  }

  get size(): number {
    return this.count;
  }

  static isKey(key: string): boolean {
    return KEY_RE.test(key);
  }

  get(key: string): number {
    const slot = this.find(key);
    return slot < 0 ? EMPTY : this.status[slot]!;
  }

  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  /** The key as four 32-bit words (its 32 hex digits read big-endian): no string needed. */
  getWords(a: number, b: number, c: number, d: number): number {
    const slot = this.findWords(a, b, c, d);
    return slot < 0 ? EMPTY : this.status[slot]!;
  }

  setWords(a: number, b: number, c: number, d: number, value: number): void {
    if (this.count + 1 > this.capacity * MAX_LOAD) this.grow();
    this.insert(a, b, c, d, value);
  }

  /**
   * Set the key to `value` (1..255) if it is not in the set yet: true when it was added, false
   * when it was there (left as it was). One parse and one probe, where has() then set() take two.
   */
  add(key: string, value: number): boolean {
    if (this.count + 1 > this.capacity * MAX_LOAD) this.grow();
    const w = wordsOf(key);
    const i = this.probe(w[0]!, w[1]!, w[2]!, w[3]!);
    if (this.status[i] !== EMPTY) return false;
    this.put(i, w[0]!, w[1]!, w[2]!, w[3]!, value);
    this.count++;
    return true;
  }

  /** Set the status (1..255) of a key. */
  set(key: string, value: number): void {
    if (this.count + 1 > this.capacity * MAX_LOAD) this.grow();
    const w = wordsOf(key);
    this.insert(w[0]!, w[1]!, w[2]!, w[3]!, value);
  }

  private insert(a: number, b: number, c: number, d: number, value: number): void {
    const i = this.probe(a, b, c, d);
    if (this.status[i] === EMPTY) this.count++;
    this.put(i, a, b, c, d, value);
  }

  /** The key's slot, or the empty slot where it would go (linear probing from its first word). */
  private probe(a: number, b: number, c: number, d: number): number {
    const mask = this.capacity - 1;
    let i = a & mask;
    for (;;) {
      if (this.status[i] === EMPTY) return i;
      const w = i * 4;
      if (this.words[w] === a && this.words[w + 1] === b && this.words[w + 2] === c && this.words[w + 3] === d) return i;
      i = (i + 1) & mask;
    }
  }

  private put(i: number, a: number, b: number, c: number, d: number, value: number): void {
    const w = i * 4;
    this.words[w] = a;
    this.words[w + 1] = b;
    this.words[w + 2] = c;
    this.words[w + 3] = d;
    this.status[i] = value;
  }

  private find(key: string): number {
    const w = wordsOf(key);
    return this.findWords(w[0]!, w[1]!, w[2]!, w[3]!);
  }

  /** Slot of the key in a snapshot's table, or -1: lookups from another thread, read only. */
  static slotIn(snap: KeySetSnapshot, a: number, b: number, c: number, d: number): number {
    const { words, status } = snap;
    const mask = snap.capacity - 1;
    let i = a & mask;
    for (;;) {
      if (status[i] === EMPTY) return -1;
      const w = i * 4;
      if (words[w] === a && words[w + 1] === b && words[w + 2] === c && words[w + 3] === d) return i;
      i = (i + 1) & mask;
    }
  }

  /**
   * Take the arrays as filled from a saved table (checkpoint/key-snapshot.ts) of `count` keys:
   * false, the set left unusable, unless exactly `count` slots are used, each with a status
   * `valid` accepts, and the table is no fuller than MAX_LOAD (so every probe ends).
   */
  adopt(count: number, valid: (status: number) => boolean): boolean {
    let used = 0;
    for (let i = 0; i < this.capacity; i++) {
      const st = this.status[i]!;
      if (st === EMPTY) continue;
      if (!valid(st)) return false;
      used++;
    }
    if (used !== count || count > this.capacity * MAX_LOAD) return false;
    this.count = count;
    return true;
  }

  /** Status of a slot (for a snapshot taken while the set is current). */
  statusAt(slot: number): number {
    return this.status[slot]!;
  }

  setStatusAt(slot: number, value: number): void {
    this.status[slot] = value;
  }

  private findWords(a: number, b: number, c: number, d: number): number {
    const i = this.probe(a, b, c, d);
    return this.status[i] === EMPTY ? -1 : i;
  }

  private grow(): void {
    this.rebuild(this.capacity * 2, () => true);
  }

  /** Drop every key whose status fails `keep`; returns how many went. */
  filter(keep: (status: number) => boolean): number {
    const before = this.count;
    this.rebuild(this.capacity, keep);
    return before - this.count;
  }

  private rebuild(capacity: number, keep: (status: number) => boolean): void {
    const { words, status, capacity: old } = this;
    this.capacity = capacity;
    this.words = sharedU32(capacity * 4);
    this.status = sharedU8(capacity);
    this.count = 0;
    for (let i = 0; i < old; i++) {
      const st = status[i]!;
      if (st === EMPTY || !keep(st)) continue;
      const w = i * 4;
      this.insert(words[w]!, words[w + 1]!, words[w + 2]!, words[w + 3]!, st);
    }
  }

  /** Count of keys per status value. */
  tally(): Map<number, number> {
    const m = new Map<number, number>();
    for (let i = 0; i < this.capacity; i++) {
      const st = this.status[i]!;
      if (st !== EMPTY) m.set(st, (m.get(st) ?? 0) + 1);
    }
    return m;
  }
}

export interface KeySetSnapshot { words: Uint32Array; status: Uint8Array; capacity: number }

function sharedU32(n: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(n * 4));
}

function sharedU8(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

const WORDS = new Uint32Array(4);

/** A key's 32 hex digits as four 32-bit words (big-endian), in one reused array (no allocation per lookup: copy it to keep it). */
export function wordsOf(key: string): Uint32Array {
  WORDS[0] = parseInt(key.slice(0, 8), 16);
  WORDS[1] = parseInt(key.slice(8, 16), 16);
  WORDS[2] = parseInt(key.slice(16, 24), 16);
  WORDS[3] = parseInt(key.slice(24, 32), 16);
  return WORDS;
}

function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
