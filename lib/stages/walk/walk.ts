import fs, { promises as fsp, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import { isUtf8 } from 'node:buffer';
import type { Item } from '../../core/item.js';
import { fdLimitError, SluiceError } from '../../core/errors.js';
import type { WalkOptions } from './spec.js';
import { rootPrefixes } from './roots.js';
import { globMatcher } from './glob.js';
import { SIZE_MTIME, statFile } from './stat.js';
import { canonicalPath, defaultDisplay } from '../../core/fsx.js';

export type { WalkOptions } from './spec.js';

export interface WalkWarning {
  path: string;
  code: string;
  message: string;
}

export interface WalkHooks {
  signal?: AbortSignal;
  onWarning?: (w: WalkWarning) => void;
  /** Display path for an absolute path: relative to the cwd when under it. */
  display?: (abs: string) => string;
  /** Absolute paths (directories or files) never walked: the run's own state and output. */
  skip?: ReadonlySet<string>;
  /**
   * Called for every file found, synchronously, before an item is even built: false drops it
   * here, a string becomes the item's key, true keeps it unkeyed. Lets the pipeline count, key
   * and dedupe items at the cost of one hash and one lookup, not a trip through the stream
   * stages (a resume over millions of done items is all drops).
   */
  admit?: Admit;
  /**
   * stat files synchronously: right in a thread of its own (the walker thread), where a callback
   * through the libuv pool per file costs more than the system call.
   */
  syncStat?: boolean;
  /** With syncStat: stat and admit these files elsewhere (a helper thread), results in order. */
  offload?: (files: FileEntry[]) => Promise<Offloaded> | null;
  /**
   * The key of a deferred file, false when it is done, or null when the answer is not there
   * yet and `wait` is false. With wait, blocks until it can answer.
   */
  resolve?: (d: Deferred, wait: boolean) => string | false | null;
  /** most files held waiting for `resolve` before the walk waits for it (default MAX_HELD) */
  maxHeld?: number;
  /**
   * Names only: no file found in a directory is stat'ed nor handed out; each directory's files
   * (those the walk would stat: globs, skips and links applied alike) are counted here, as the
   * directory is listed. A file given as a root is handed out as always. What a count of the
   * files the walk will find needs, in a quarter of the time. Directories are then listed
   * synchronously, NAMES_SLICE_MS of work at a time between turns of the event loop: a turn per
   * directory would leave the count waiting behind whatever else its thread does.
   */
  onNames?: (files: number) => void;
  /**
   * A walk in the background of its thread (the count ahead, beside the bounded walk): with
   * syncStat, the event loop turns once this many ms of synchronous stat calls have passed, so
   * that the thread's other work (the bounded walk, its credit) is not held up behind a large
   * directory. Without it, a chunk of stat calls runs to its end.
   */
  sliceMs?: number;
}

type P = string | Buffer;
const SEP = Buffer.from('/');
const STAT_BATCH = 512;
/** files stat'ed per round with syncStat: half here, half offloaded */
const STAT_CHUNK = 1024;
const MIN_OFFLOAD = 64;
/** names only: ms of synchronous listing before the walk lets the event loop turn */
const NAMES_SLICE_MS = 8;
/** files held, walked but not yet looked up, while the checkpoint loads: the bound on that backlog */
const MAX_HELD = 65_536;

/** What the helper made of offloaded files, how long it took and how long it waited for them (ms): to balance the shares. */
export interface Offloaded { results: CheckResult[]; ms: number; idle: number }

/** A chunk stat'ed here, its first `cut` files by the helper (`remote`), not yet handed out. */
interface Pending { chunk: FileEntry[]; cut: number; remote: Promise<Offloaded> | null; local: CheckResult[]; localMs: number; info: RootInfo }

export interface FileEntry {
  abs: P;
  /** the item's rel: the key and output name (with several roots, the root's prefix first) */
  rel: string;
  link: boolean;
  /** the same file as a shorter path, relative to the cwd: the kernel resolves fewer components per stat */
  near?: string;
}

function listDir(dir: P): Promise<Dirent[]> {
  return fsp.readdir(dir as string, { withFileTypes: true });
}

/** listDir, the listing read synchronously (names only) */
function listDirNow(dir: P): Promise<Dirent[]> {
  try {
    return Promise.resolve(fs.readdirSync(dir as string, { withFileTypes: true }));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** stat files[from, from+STAT_BATCH) with plain callbacks (a promise each costs more than the call). */
function statBatch(files: FileEntry[], from: number): Promise<(Stats | Error)[]> {
  const n = Math.min(STAT_BATCH, files.length - from);
  return new Promise((resolve) => {
    const out = new Array<Stats | Error>(n);
    let left = n;
    for (let i = 0; i < n; i++) {
      const f = files[from + i]!;
      // a name the directory listed as a file is not a link: lstat spares the kernel a lookup
      (f.link ? fs.stat : fs.lstat)(f.abs, (err, st) => {
        out[i] = err ?? st;
        if (--left === 0) resolve(out);
      });
    }
  });
}

/** What stat and admit made of one file: dropped, an error, or its size, mtime and key. */
export type CheckResult = false | { code: string; message: string } | { size: number; mtimeMs: number; key?: string; deferred?: Deferred };

/**
 * A key whose lookup has to wait (the checkpoint is still loading): the admit hook returns the
 * key's digest words, and the walk holds the file, walking on, until `resolve` can answer.
 */
export interface Deferred { words: [number, number, number, number] }

type Admit = (rel: string, size: number, mtimeMs: number) => string | boolean | Deferred;

/** stat and admit one file, synchronously (the walker thread and its helper both use this). */
export function checkFileSync(f: FileEntry, admit: Admit | undefined): CheckResult {
  try {
    statFile(f.near ?? f.abs, f.link);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { code: e.code ?? 'EIO', message: e.message };
  }
  const size = SIZE_MTIME[0]!;
  const mtimeMs = SIZE_MTIME[1]!;
  const verdict = admit ? admit(f.rel, size, mtimeMs) : true;
  if (verdict === false) return false;
  if (verdict === true) return { size, mtimeMs };
  return typeof verdict === 'string' ? { size, mtimeMs, key: verdict } : { size, mtimeMs, deferred: verdict };
}

interface Held { abs: P; rel: string; size: number; mtimeMs: number; key?: string; deferred?: Deferred; root: RootInfo; follow?: true }

/** What every item of one root shares. */
interface RootInfo { display: string; given: string; prefix: string }

function join(dir: P, name: P): P {
  if (typeof dir === 'string' && typeof name === 'string') return dir + '/' + name;
  return Buffer.concat([typeof dir === 'string' ? Buffer.from(dir) : dir, SEP, typeof name === 'string' ? Buffer.from(name) : name]);
}


interface Frame { dir: P; rel: string }

/**
 * Yield every file under the roots. Only one directory listing is held at a time (plus the
 * stack of directories still to visit), so memory follows the widest directory, not the tree.
 * Names are read as strings (fast); a directory holding a name that is not valid UTF-8 is
 * re-read as bytes so that the raw name can be carried as path_b64 and opened exactly.
 */
export async function* walk(opts: WalkOptions, hooks: WalkHooks = {}): AsyncGenerator<Item> {
  const include = globMatcher(opts.include);
  const exclude = opts.exclude.length ? globMatcher(opts.exclude) : () => false;
  const display = hooks.display ?? ((p: string) => defaultDisplay(p));
  const skip = hooks.skip ?? new Set<string>();
  const admit = hooks.admit;
  // only a directory holding one of them needs its entries checked (a lookup per file cost 3% of a resume)
  const skipIn = new Set([...skip].map((p) => path.dirname(p)));
  const skipped = (abs: P) => typeof abs === 'string' && skip.has(abs);
  const warn = (p: P, err: unknown) => {
    const e = err as NodeJS.ErrnoException;
    // not a problem of this directory or file: going on would skip them as if they were not there
    const fd = fdLimitError(e, `walking ${String(p)}`);
    if (fd) throw fd;
    hooks.onWarning?.({ path: String(p), code: e.code ?? 'EIO', message: e.message });
  };

  // files found and stat'ed, in walk order, waiting to be handed out; only deferred keys (the
  // checkpoint still loading) make it hold more than the current chunk, and never past MAX_HELD
  // (plus, with a helper, the chunk being stat'ed and the one before it, whose helper part may
  // still be out)
  let held: Held[] = [];
  let head = 0;
  const maxHeld = hooks.maxHeld ?? MAX_HELD;
  /** part of each chunk offloaded: adjusted so that neither side waits for the other */
  let share = 0.5;
  const hold = (abs: P, rel: string, size: number, mtimeMs: number, verdict: string | boolean | Deferred, root: RootInfo, follow = false) => {
    if (verdict === false) return;
    const h: Held = { abs, rel, size, mtimeMs, root };
    if (follow) h.follow = true;
    if (typeof verdict === 'string') h.key = verdict;
    else if (verdict !== true) h.deferred = verdict;
    held.push(h);
  };
  function* release(wait: boolean): Generator<Item> {
    while (head < held.length) {
      if (hooks.signal?.aborted) return;
      const h = held[head]!;
      let key = h.key;
      if (h.deferred) {
        const v = hooks.resolve!(h.deferred, wait || held.length - head >= maxHeld);
        if (v === null) return; // not yet: walk on
        if (v === false) { head++; continue; }
        key = v;
      }
      head++;
      const item = makeItem(h.abs, h.rel, h.size, h.mtimeMs, h.root);
      if (key !== undefined) item.key = key;
      if (h.follow) item.follow = true;
      yield item;
    }
    held = [];
    head = 0;
  }

  /** the last chunk stat'ed with syncStat, its helper's part maybe still out: settled after the next is sent */
  let pending: Pending | null = null;
  /** take a chunk's results in order (the helper's part first), balance the shares, hand them out */
  async function* settlePending(): AsyncGenerator<Item> {
    const p = pending;
    pending = null;
    if (p) yield* settle(p);
  }
  async function* settle(p: Pending): AsyncGenerator<Item> {
    let results = p.local;
    if (p.remote) {
      const t0 = performance.now();
      const done = await p.remote;
      const waited = performance.now() - t0;
      results = done.results.concat(p.local);
      // balance: move the time one side spent waiting for the other, at both sides' rates per file
      // (half of it each round: smoothed), so that neither waits
      if (p.local.length && p.cut && done.ms > 0) {
        const here = p.localMs / p.local.length;
        const there = done.ms / p.cut;
        const slack = done.idle - waited; // > 0: the helper waited for work; < 0: this thread waited for it
        const step = (0.5 * slack) / (p.chunk.length * (here + there));
        share = Math.min(0.9, Math.max(0.1, share + Math.min(0.1, Math.max(-0.1, step))));
      }
    }
    for (let j = 0; j < results.length; j++) {
      const r = results[j]!;
      if (r === false) continue;
      const f = p.chunk[j]!;
      if ('code' in r) {
        // gone between readdir and stat: nothing to do, and not an error of the item
        if (r.code !== 'ENOENT') warn(f.abs, r);
        continue;
      }
      hold(f.abs, f.rel, r.size, r.mtimeMs, r.key ?? r.deferred ?? true, p.info, f.link);
    }
    yield* release(false);
  }

  // every root is stat'ed first: whether it is a file or a folder decides the prefixes (roots.ts)
  const roots: { given: string; abs: string; st: Stats }[] = [];
  const given = new Set<string>();
  for (const root of opts.roots) {
    const abs = path.resolve(root);
    if (given.has(abs)) continue; // the same root twice is walked once
    given.add(abs);
    try {
      roots.push({ given: root, abs, st: await fsp.stat(abs) });
    } catch (err) {
      throw new SluiceError('SLUICE_E_USAGE', `input not found: ${root} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { item: root, cause: err });
    }
  }
  const prefixes = rootPrefixes(roots.map((r) => (r.st.isFile() ? path.dirname(r.abs) : r.abs)));
  // follow_symlinks: inside: a link is followed only when its real target is under a root's real path
  const within = opts.follow_symlinks === 'inside' ? containment(roots.filter((r) => !r.st.isFile()).map((r) => r.abs)) : null;

  for (const [n, { given: root, abs: absRoot, st }] of roots.entries()) {
    const prefix = prefixes[n]!;
    const rootDisplay = display(absRoot);
    // a root under the cwd is stat'ed through a relative path (only in the synchronous mode)
    const nearRoot = hooks.syncStat ? path.relative(process.cwd(), absRoot) : '..';
    const near = nearRoot !== '' && !nearRoot.startsWith('..') && !path.isAbsolute(nearRoot) ? nearRoot + '/' : null;
    if (st.isFile()) {
      // a file given as a root is keyed and deduped like any other, shown as given
      yield* settlePending(); // in order: what the roots before it found first
      const rel = prefix + path.basename(absRoot);
      const mtimeMs = Math.trunc(st.mtimeMs);
      // named by the user: a link there is followed, as the stat above did
      hold(absRoot, rel, st.size, mtimeMs, admit ? admit(rel, st.size, mtimeMs) : true, { display: display(path.dirname(absRoot)), given: path.dirname(root), prefix }, true);
      yield* release(false);
      if (hooks.signal?.aborted) return;
      continue;
    }
    const info: RootInfo = { display: rootDisplay, given: root, prefix };
    const visited = new Set<string>([`${st.dev}:${st.ino}`]);
    const stack: Frame[] = [{ dir: absRoot, rel: '' }];
    const list = hooks.onNames ? listDirNow : listDir;
    let slice = performance.now();
    /** a turn of the event loop once `ms` have passed since the last one */
    const turn = async (ms: number) => {
      if (performance.now() - slice <= ms) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      slice = performance.now();
    };
    // the next directory's listing is read while this one's files are stat'ed and handed out
    let prefetch: { dir: P; listing: Promise<Dirent[]> } | null = null;
    while (stack.length) {
      if (hooks.signal?.aborted) return;
      const { dir, rel: dirRel } = stack.pop()!;
      if (hooks.onNames) await turn(NAMES_SLICE_MS);
      const listing = prefetch?.dir === dir ? prefetch.listing : list(dir);
      prefetch = null;
      let entries: Dirent[] | Dirent<Buffer>[];
      try {
        entries = await listing;
        if (entries.some((e) => e.name.includes('\uFFFD'))) {
          entries = await fsp.readdir(dir as any, { withFileTypes: true, encoding: 'buffer' }) as unknown as Dirent<Buffer>[];
        }
      } catch (err) {
        warn(dir, err);
        continue;
      }
      // string names sort as strings (no allocation per comparison), raw byte names as bytes; a
      // count by name needs no order
      if (!hooks.onNames) {
        if (typeof entries[0]?.name === 'string') (entries as Dirent[]).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        else (entries as Dirent<Buffer>[]).sort((a, b) => Buffer.compare(a.name, b.name));
      }

      const files: FileEntry[] = [];
      const subdirs: Frame[] = [];
      const checkSkip = typeof dir === 'string' && skipIn.has(dir);
      for (const e of entries) {
        const name = e.name as P;
        const nameStr = name.toString();
        const rel = dirRel ? dirRel + '/' + nameStr : nameStr;
        const abs = join(dir, name);
        if (checkSkip && skipped(abs)) continue;
        if (e.isDirectory()) {
          if (!exclude(rel) && !exclude(rel + '/')) subdirs.push({ dir: abs, rel });
        } else if (e.isFile()) {
          if (include(rel) && !exclude(rel)) files.push(near && typeof abs === 'string' ? { abs, rel: prefix + rel, link: false, near: near + rel } : { abs, rel: prefix + rel, link: false });
        } else if (e.isSymbolicLink() && opts.follow_symlinks) {
          let target: Stats;
          try {
            target = await fsp.stat(abs as string);
          } catch (err) {
            warn(abs, err);
            continue;
          }
          if (within && (target.isDirectory() || target.isFile()) && !(await within(abs))) {
            hooks.onWarning?.({ path: String(abs), code: 'ELINKOUTSIDE', message: `symlink not followed: ${String(abs)} leads outside the roots (follow_symlinks: inside)` });
            continue;
          }
          if (target.isDirectory()) {
            const id = `${target.dev}:${target.ino}`;
            if (visited.has(id)) {
              hooks.onWarning?.({ path: String(abs), code: 'ELOOP', message: `symlink loop: ${String(abs)} leads to a directory already walked` });
            } else if (!exclude(rel) && !exclude(rel + '/')) {
              visited.add(id);
              subdirs.push({ dir: abs, rel });
            }
          } else if (target.isFile() && include(rel) && !exclude(rel)) {
            files.push({ abs, rel: prefix + rel, link: true });
          }
        }
      }

      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
      const next = stack[stack.length - 1];
      if (next) {
        prefetch = { dir: next.dir, listing: list(next.dir) };
        prefetch.listing.catch(() => {}); // its error is reported when the directory's turn comes
      }

      if (hooks.onNames) {
        hooks.onNames(files.length);
        continue;
      }
      if (hooks.syncStat) {
        // synchronous stat (in the walker thread), part of each chunk handed to a helper thread
        // first (hooks.offload) so that both parts are stat'ed, keyed and looked up at once; a
        // chunk's results are taken after the next chunk is sent, so the helper has work queued
        // while this thread lists, filters and hands out (pipelined, one chunk deep)
        for (let i = 0; i < files.length; i += STAT_CHUNK) {
          const chunk = files.slice(i, i + STAT_CHUNK);
          let cut = hooks.offload && chunk.length >= MIN_OFFLOAD ? Math.round(chunk.length * share) : 0;
          const remote = cut ? hooks.offload!(chunk.slice(0, cut)) : null; // null: not available yet
          if (!remote) cut = 0;
          const t0 = performance.now();
          const local = new Array<CheckResult>(chunk.length - cut);
          for (let k = 0; k < local.length; k++) local[k] = checkFileSync(chunk[cut + k]!, admit);
          const current: Pending = { chunk, cut, remote, local, localMs: performance.now() - t0, info };
          // held back only while its helper part is out: nothing out, no reason to wait
          yield* settlePending();
          if (remote) pending = current;
          else yield* settle(current);
          if (hooks.signal?.aborted) return;
          if (hooks.sliceMs !== undefined) await turn(hooks.sliceMs);
        }
        continue;
      }
      // stat in the thread pool, one batch ahead: while this thread keys and dedupes batch k,
      // the pool stats batch k+1
      let ahead = files.length ? statBatch(files, 0) : null;
      for (let i = 0; i < files.length; i += STAT_BATCH) {
        const stats = await ahead!;
        ahead = i + STAT_BATCH < files.length ? statBatch(files, i + STAT_BATCH) : null;
        for (let j = 0; j < stats.length; j++) {
          if (hooks.signal?.aborted) return;
          const s = stats[j]!;
          const f = files[i + j]!;
          if (s instanceof Error) {
            if ((s as NodeJS.ErrnoException).code !== 'ENOENT') warn(f.abs, s);
            continue;
          }
          const mtimeMs = Math.trunc(s.mtimeMs);
          hold(f.abs, f.rel, s.size, mtimeMs, admit ? admit(f.rel, s.size, mtimeMs) : true, info, f.link);
        }
        yield* release(false);
        if (hooks.signal?.aborted) return;
      }
    }
  }
  yield* settlePending();
  yield* release(true);
}

/**
 * How many files the walk would find, by name alone (the onNames mode: directories listed, globs,
 * skips and links applied, no file stat'ed); a file given as a root counts as one.
 */
export async function countNames(opts: WalkOptions, skip?: ReadonlySet<string>): Promise<number> {
  let names = 0;
  for await (const item of walk(opts, { skip, onNames: (n) => { names += n; } })) {
    void item; // a file given as a root comes out as an item
    names++;
  }
  return names;
}

/** With follow_symlinks: inside, whether a link's real target lies under one of the (directory) roots. */
function containment(dirRoots: string[]): (link: P) => Promise<boolean> {
  const real = dirRoots.map((r) => Buffer.from(canonicalPath(r)));
  return async (link) => {
    let target: Buffer;
    try {
      target = await fsp.realpath(link as string, { encoding: 'buffer' });
    } catch {
      return false; // gone or unreadable meanwhile: not followed
    }
    // compared as bytes: a name that is not UTF-8 is never mistaken for another
    return real.some((r) => target.equals(r) || (target.length > r.length && target[r.length] === SEP[0] && target.subarray(0, r.length).equals(r)) || (r.length === 1 && r[0] === SEP[0]));
  };
}

function makeItem(abs: P, rel: string, size: number, mtimeMs: number, root: RootInfo): Item {
  const below = root.prefix ? rel.slice(root.prefix.length) : rel; // shown below its own root
  const shown = root.display === '.' ? below : root.display + '/' + below;
  const item: Item = { path: shown, file: abs, root: root.given, rel, size, mtime_ms: mtimeMs };
  if (typeof abs !== 'string' && !isUtf8(abs)) item.path_b64 = rawDisplayBytes(abs, root.display, root.given).toString('base64');
  return item;
}

/** Raw bytes of the displayed path for a name that is not UTF-8: display root + bytes below the absolute root. */
function rawDisplayBytes(abs: Buffer, rootDisplay: string, root: string): Buffer {
  const absRoot = Buffer.from(path.resolve(root));
  const below = abs.subarray(absRoot.length + 1);
  return rootDisplay === '.' ? Buffer.from(below) : Buffer.concat([Buffer.from(rootDisplay), SEP, below]);
}
