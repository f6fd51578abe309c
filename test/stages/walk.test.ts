import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { walk, type WalkOptions } from '../../lib/stages/walk/walk.js';
import type { Item } from '../../lib/core/item.js';
import { makeTree, tmpDir } from '../helpers.js';

const opts = (roots: string[], more: Partial<WalkOptions> = {}): WalkOptions => ({ roots, include: ['**/*'], exclude: [], follow_symlinks: false, ...more });

async function collect(o: WalkOptions, hooks = {}): Promise<Item[]> {
  const out: Item[] = [];
  for await (const it of walk(o, hooks)) out.push(it);
  return out;
}

t.test('walks 10k files in a stable order, every file once, with size and mtime', async (t) => {
  const dir = tmpDir();
  makeTree(dir, 10_000, 400);
  const cwd = process.cwd();
  process.chdir(path.dirname(dir));
  t.teardown(() => process.chdir(cwd));
  const items = await collect(opts([dir]));
  t.equal(items.length, 10_000);
  t.equal(new Set(items.map((i) => i.rel)).size, 10_000, 'no duplicates');
  const rels = items.map((i) => i.rel);
  t.same(rels, [...rels].sort(), 'zero-padded names come out sorted');
  const first = items[0]!;
  t.equal(first.rel, 'd0000/f0000000.txt');
  t.equal(first.path, `${path.basename(dir)}/d0000/f0000000.txt`, 'path is relative to the cwd');
  t.equal(first.size, 'item 0\n'.length);
  t.ok(first.mtime_ms > 0);
  const again = (await collect(opts([dir]))).map((i) => i.rel);
  t.same(again, rels, 'same order every time');
});

t.test('is lazy: stopping early reads only what was asked for', async (t) => {
  const dir = tmpDir();
  makeTree(dir, 2000, 100);
  const ctl = new AbortController();
  let n = 0;
  for await (const _ of walk(opts([dir]), { signal: ctl.signal })) {
    if (++n === 5) ctl.abort();
  }
  t.equal(n, 5, 'nothing yielded after abort');
});

t.test('include and exclude globs; excluded directories are pruned', async (t) => {
  const dir = tmpDir();
  for (const f of ['a.pdf', 'b.txt', 'sub/c.pdf', 'sub/.git/d.pdf', '.hidden/e.pdf', 'skip/f.pdf']) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), 'x');
  }
  const items = await collect(opts([dir], { include: ['**/*.pdf'], exclude: ['**/.git/**', 'skip'] }));
  t.same(items.map((i) => i.rel), ['a.pdf', '.hidden/e.pdf', 'sub/c.pdf']);
});

t.test('the run\'s own state dir, output dir and report are never walked', async (t) => {
  const dir = tmpDir();
  for (const f of ['a.pdf', '.sluice/journal.ndjson', 'out/a.pdf.txt', 'report.json', 'report.md', 'sub/b.pdf']) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), 'x');
  }
  const skip = new Set(['.sluice', 'out', 'report.json', 'report.md'].map((f) => path.join(dir, f)));
  const items = await collect(opts([dir]), { skip });
  t.same(items.map((i) => i.rel), ['a.pdf', 'sub/b.pdf']);
});

t.test('symlinks are not followed by default; followed ones never loop', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'real'));
  fs.writeFileSync(path.join(dir, 'real/x.txt'), 'x');
  fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
  fs.symlinkSync(dir, path.join(dir, 'real/loop'));
  fs.symlinkSync(path.join(dir, 'real/x.txt'), path.join(dir, 'file-link.txt'));
  t.same((await collect(opts([dir]))).map((i) => i.rel), ['real/x.txt']);
  const warnings: string[] = [];
  const followed = await collect(opts([dir], { follow_symlinks: true }), { onWarning: (w: { code: string }) => warnings.push(w.code) });
  t.same(followed.map((i) => i.rel).sort(), ['file-link.txt', 'link/x.txt', 'real/x.txt'].sort());
  t.ok(warnings.includes('ELOOP'), 'the loop back to the root is reported, not walked');
});

t.test('a symlink pointing outside the root is not followed by default; followed, it never loops', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'root'));
  fs.mkdirSync(path.join(dir, 'outside'));
  fs.writeFileSync(path.join(dir, 'root/in.txt'), 'i');
  fs.writeFileSync(path.join(dir, 'outside/out.txt'), 'o');
  fs.symlinkSync(path.join(dir, 'outside'), path.join(dir, 'root/escape'));
  fs.symlinkSync(path.join(dir, 'root'), path.join(dir, 'outside/back')); // outside leads back in
  t.same((await collect(opts([path.join(dir, 'root')]))).map((i) => i.rel), ['in.txt']);
  const warnings: string[] = [];
  const followed = await collect(opts([path.join(dir, 'root')], { follow_symlinks: true }), { onWarning: (w: { code: string }) => warnings.push(w.code) });
  t.same(followed.map((i) => i.rel), ['in.txt', 'escape/out.txt']);
  t.same(warnings, ['ELOOP'], 'the way back into the root is reported, not walked again');
});

t.test('a single file as root, and a missing root', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'one.pdf'), 'x');
  const items = await collect(opts([path.join(dir, 'one.pdf')]));
  t.equal(items.length, 1);
  t.equal(items[0]!.rel, 'one.pdf');
  await t.rejects(collect(opts([path.join(dir, 'nope')])), { code: 'SLUICE_E_USAGE', message: /input not found/ });
});

t.test('names that are not UTF-8 keep their raw bytes; odd names are fine', async (t) => {
  const dir = tmpDir();
  const raw = Buffer.concat([Buffer.from(dir + '/bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('.pdf')]);
  fs.writeFileSync(raw, 'x');
  fs.writeFileSync(path.join(dir, 'new\nline.pdf'), 'x');
  fs.writeFileSync(path.join(dir, '-leading dash.pdf'), 'x');
  const items = await collect(opts([dir]));
  t.equal(items.length, 3);
  const bad = items.find((i) => i.path_b64)!;
  t.ok(bad, 'one item carries path_b64');
  const decoded = Buffer.from(bad.path_b64!, 'base64');
  t.ok(decoded.includes(Buffer.from([0xff, 0xfe])), 'raw bytes preserved');
  t.ok(fs.statSync(bad.file as Buffer).isFile(), 'the raw path opens the file');
  t.ok(items.some((i) => i.rel === 'new\nline.pdf' && !i.path_b64));
});

t.test('names only: as many files as a walk that stats (globs, the run\'s own files, links followed or not, names that are not UTF-8), none handed out', async (t) => {
  const dir = tmpDir();
  for (const f of ['a.pdf', 'b.txt', 'sub/c.pdf', 'sub/.git/d.pdf', 'skip/f.pdf', '.sluice/journal.ndjson', 'real/x.pdf']) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), 'xyz');
  }
  fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/bad-'), Buffer.from([0xff]), Buffer.from('.pdf')]), 'x');
  fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
  fs.symlinkSync(path.join(dir, 'real/x.pdf'), path.join(dir, 'file-link.pdf'));
  const skip = new Set([path.join(dir, '.sluice')]);
  for (const follow of [false, true]) {
    const o = opts([dir], { include: ['**/*.pdf'], exclude: ['**/.git/**', 'skip'], follow_symlinks: follow });
    const stated = await collect(o, { skip });
    let names = 0;
    const handed = await collect(o, { skip, onNames: (n: number) => { names += n; } });
    t.equal(names, stated.length, `follow_symlinks ${follow}: ${stated.length} files either way`);
    t.equal(handed.length, 0, 'names only: none handed out');
  }
});
