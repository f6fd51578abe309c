// The walk as a resume runs it: synchronous stat, half of each chunk offloaded, keys looked up
// in the checkpoint's table from another thread, files held while that table is still loading.
import t from 'tap';
import path from 'node:path';
import fs from 'node:fs';
import { walk, type Deferred, type FileEntry, type Offloaded, type WalkOptions, checkFileSync } from '../../lib/stages/walk/walk.js';
import { WalkerThread, type AheadMessage } from '../../lib/stages/walk/thread.js';
import { Journal } from '../../lib/checkpoint/journal.js';
import { metaKey } from '../../lib/checkpoint/keys.js';
import type { Item } from '../../lib/core/item.js';
import { makeTree, tmpDir } from '../helpers.js';

const opts = (roots: string[]): WalkOptions => ({ roots, include: ['**/*'], exclude: [], follow_symlinks: false });

async function collect(it: AsyncIterable<Item>): Promise<Item[]> {
  const out: Item[] = [];
  for await (const x of it) out.push(x);
  return out;
}
const shape = (items: Item[]) => items.map((i) => `${i.path}|${i.rel}|${i.size}|${i.mtime_ms}|${String(i.file)}`);

/** A tree of 3,000 files in directories of 700, and a state dir whose journal has every `nth` file done. */
async function treeWithDone(nth: number): Promise<{ dir: string; state: string; all: Item[]; done: Item[] }> {
  const dir = tmpDir();
  makeTree(dir, 3000, 700);
  const state = tmpDir();
  const all = await collect(walk(opts([dir])));
  const first = await Journal.open(state, { fsync: 'never' });
  const done = all.filter((_, i) => i % nth === 0);
  for (const it of done) await first.append({ key: metaKey(it), status: 'ok', path: it.path, at: '', ms: 0 });
  await first.close();
  return { dir, state, all, done };
}

t.test('synchronous stat with offloaded halves gives the same items, in the same order', async (t) => {
  const dir = tmpDir();
  makeTree(dir, 5000, 1500); // directories of more than one chunk, and a last short one
  const cwd = process.cwd();
  process.chdir(path.dirname(dir)); // stat through paths relative to the cwd
  t.teardown(() => process.chdir(cwd));
  const plain = await collect(walk(opts([dir])));
  t.equal(plain.length, 5000);
  let offloaded = 0;
  let lastEnd = 0;
  const offload = async (files: FileEntry[]): Promise<Offloaded> => {
    offloaded += files.length;
    const idle = lastEnd ? performance.now() - lastEnd : 0;
    t.ok(files.every((f) => f.near && !path.isAbsolute(f.near)), 'offloaded files carry a relative path');
    const t0 = performance.now();
    const results = files.map((f) => checkFileSync(f, undefined));
    const ms = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1));
    lastEnd = performance.now();
    return { results, ms, idle };
  };
  const threaded = await collect(walk(opts([dir]), { syncStat: true, offload }));
  t.same(shape(threaded), shape(plain));
  t.ok(offloaded > 1000 && offloaded < 4000, `a share of the files was offloaded (${offloaded})`);
});

for (const offloading of [false, true]) {
t.test(`deferred keys${offloading ? ', part of each chunk offloaded' : ''}: files are held in order while the table is missing, never more than maxHeld${offloading ? ' and two chunks' : ''}`, async (t) => {
  const dir = tmpDir();
  makeTree(dir, 1000, 100);
  let ready = false;
  let forced = 0;
  let maxPending = 0;
  let pending = 0;
  const admit = (rel: string): Deferred => {
    pending++;
    maxPending = Math.max(maxPending, pending);
    return { words: [Number(rel.match(/\d+/g)!.at(-1)), 0, 0, 0] };
  };
  // every third file is already done; the table arrives once 250 files have been found
  const resolve = (d: Deferred, wait: boolean): string | false | null => {
    if (!ready && !wait) return null;
    if (!ready) forced++;
    ready = true;
    pending--;
    return d.words[0] % 3 === 0 ? false : `k${d.words[0]}`;
  };
  // an offloaded part is stat'ed and admitted at once, as the helper does, its results taken later
  const offload = offloading ? async (files: FileEntry[]): Promise<Offloaded> => {
    const results = files.map((f) => checkFileSync(f, admit));
    await new Promise((r) => setTimeout(r, 1));
    return { results, ms: 1, idle: 0 };
  } : undefined;
  const items = await collect(walk(opts([dir]), { syncStat: true, admit, resolve, maxHeld: 250, offload }));
  t.equal(forced, 1, 'the walk waited for the table once, when its backlog was full');
  // beyond maxHeld: the chunk being stat'ed (100 files here), and with a helper the one before it
  t.ok(maxPending <= 250 + (offloading ? 2 : 1) * 100, `held files stay bounded (${maxPending})`);
  t.equal(items.length, 1000 - 334);
  t.ok(items.every((i) => i.key === `k${Number(i.rel.match(/\d+/g)!.at(-1))}`), 'each item has its own key');
  const rels = items.map((i) => i.rel);
  t.same(rels, [...rels].sort(), 'walk order kept');
});
}

for (const helper of [false, true]) {
  t.test(`walker thread ${helper ? 'with' : 'without'} a helper: done files dropped and marked seen, the rest keyed`, async (t) => {
    const { dir, state, all, done } = await treeWithDone(2);
    // one done file is gone before the walk
    fs.rmSync(done[7]!.file as string);
    const journal = await Journal.open(state, { fsync: 'never' });
    const w = new WalkerThread({ opts: opts([dir]), skip: [], dedupe: true, helper });
    // the table arrives late: the walk holds files meanwhile
    setTimeout(() => w.setTable(journal.snapshot()), 150);
    let counts = [0, 0];
    const items = await collect(w.items({ onCounts: (f, s) => { counts = [f, s]; } }));
    t.same(shape(items), shape(all.filter((_, i) => i % 2 === 1)), 'exactly the files not done, in walk order');
    t.ok(items.every((i) => i.key === metaKey(i)), 'keyed like the main thread keys them');
    t.same(counts, [2999, 1499], 'found and skipped counted');
    t.ok(w.completed);
    t.equal(w.seen!.reduce((a, b) => a + b, 0), 1499, 'each done key found is marked seen');
    journal.markSeen(w.table!, w.seen!);
    t.same(await journal.vanished(5), { count: 1, examples: [done[7]!.path] }, 'the one gone file vanished');
    await journal.close();
  });
}

t.test('walker thread: a missing root is a usage error, a stop ends it', async (t) => {
  const w = new WalkerThread({ opts: opts(['/nonexistent/x']), skip: [], dedupe: false, helper: false });
  w.setTable(null);
  await t.rejects(collect(w.items()), { code: 'SLUICE_E_USAGE' });
  const dir = tmpDir();
  makeTree(dir, 2000, 100);
  const stop = new AbortController();
  const w2 = new WalkerThread({ opts: opts([dir]), skip: [], dedupe: false, helper: true });
  w2.setTable(null);
  let n = 0;
  for await (const _ of w2.items({ signal: stop.signal })) if (++n === 10) stop.abort();
  t.equal(n, 10, 'nothing after the stop');
  t.notOk(w2.completed);
  t.ok(fs.existsSync(dir));
});

t.test('the count ahead runs in the walker thread beside the walk: names first, then found, done and size classes, the seen marks left to the walk', async (t) => {
  const { dir, state } = await treeWithDone(3);
  const journal = await Journal.open(state, { fsync: 'never' });
  const w = new WalkerThread({ opts: opts([dir]), skip: [], dedupe: true, helper: false });
  t.teardown(() => w.close());
  w.setTable(journal.snapshot());
  const got: AheadMessage[] = [];
  const complete = new Promise<void>((resolve) => w.countAhead(true, (m) => { got.push(m); if (m.t === 'ahead-done') resolve(); }));
  // the bounded walk stops after a few items: the count goes on to its end
  const stop = new AbortController();
  let items = 0;
  for await (const _ of w.items({ signal: stop.signal })) if (++items === 10) stop.abort();
  await complete;
  t.equal(items, 10);
  t.same(got.map((m) => m.t), ['ahead-names', 'ahead-done'], 'names first, then the complete count');
  t.equal((got[0] as { names: number }).names, 3000, 'every file, by name');
  const c = got[1] as Extract<AheadMessage, { t: 'ahead-done' }>;
  t.same([c.found, c.skipped], [3000, 1000], 'found and done counted, past where the walk stopped');
  t.equal([...c.sizes].reduce((a, b) => a + b, 0), 2000, 'the files to do by size class');
  const seen = w.seen!.reduce((a, b) => a + b, 0);
  t.ok(seen > 0 && seen < 1000, `only the files the walk reached are marked seen, none by the count (${seen})`);
  await journal.close();

  // without lookup (nothing done): every file found is to do, none keyed
  const w2 = new WalkerThread({ opts: opts([dir]), skip: [], dedupe: true, helper: false });
  t.teardown(() => w2.close());
  w2.setTable(null);
  const done2 = new Promise<Extract<AheadMessage, { t: 'ahead-done' }>>((resolve) => w2.countAhead(false, (m) => { if (m.t === 'ahead-done') resolve(m); }));
  const c2 = await done2;
  t.same([c2.found, c2.skipped, [...c2.sizes].reduce((a, b) => a + b, 0)], [3000, 0, 3000]);
});
