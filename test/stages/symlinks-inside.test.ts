// follow_symlinks: inside follows only the links whose real target lies under a root.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { walk, type WalkOptions, type WalkWarning } from '../../lib/stages/walk/walk.js';
import { WalkerThread } from '../../lib/stages/walk/thread.js';
import { parsePipeline } from '../../lib/run/config.js';
import type { Item } from '../../lib/core/item.js';
import { ofType, sluice, tmpDir } from '../helpers.js';

/** root/ with a file, a link to a file inside, a link to a folder inside, and links to a file and a folder outside. */
function tree() {
  const dir = tmpDir();
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'sub'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'outside'));
  fs.writeFileSync(path.join(root, 'a.txt'), 'a');
  fs.writeFileSync(path.join(root, 'sub/b.txt'), 'b');
  fs.writeFileSync(path.join(dir, 'outside/secret.txt'), 'secret');
  fs.symlinkSync(path.join(root, 'sub/b.txt'), path.join(root, 'in-file.txt'));
  fs.symlinkSync(path.join(root, 'sub'), path.join(root, 'in-dir'));
  fs.symlinkSync(path.join(dir, 'outside/secret.txt'), path.join(root, 'out-file.txt'));
  fs.symlinkSync(path.join(dir, 'outside'), path.join(root, 'out-dir'));
  // a link through a relative hop that ends back inside the root is inside
  fs.symlinkSync('../../root/a.txt', path.join(root, 'sub/hop.txt'));
  return { dir, root };
}

const opts = (roots: string[], follow: WalkOptions['follow_symlinks']): WalkOptions => ({ roots, include: ['**/*'], exclude: [], follow_symlinks: follow });

async function rels(o: WalkOptions): Promise<{ rels: string[]; warnings: WalkWarning[] }> {
  const warnings: WalkWarning[] = [];
  const out: Item[] = [];
  for await (const it of walk(o, { onWarning: (w) => warnings.push(w) })) out.push(it);
  return { rels: out.map((i) => i.rel).sort(), warnings };
}

t.test('follow_symlinks: inside follows links that stay under a root and leaves the others out with a warning', async (t) => {
  const { root } = tree();
  const inside = await rels(opts([root], 'inside'));
  t.same(inside.rels, ['a.txt', 'in-dir/b.txt', 'in-dir/hop.txt', 'in-file.txt', 'sub/b.txt', 'sub/hop.txt']);
  t.notOk(inside.rels.some((r) => r.startsWith('out-')), 'nothing outside the root is read');
  t.same(inside.warnings.map((w) => [path.basename(w.path), w.code]).sort(), [['out-dir', 'ELINKOUTSIDE'], ['out-file.txt', 'ELINKOUTSIDE']]);

  const anywhere = await rels(opts([root], true));
  t.ok(anywhere.rels.includes('out-file.txt') && anywhere.rels.includes('out-dir/secret.txt'), 'true follows links anywhere (documented)');
  const never = await rels(opts([root], false));
  t.same(never.rels, ['a.txt', 'sub/b.txt'], 'false follows none');
});

t.test('follow_symlinks: inside in the walker thread and from a pipeline file; other values are config errors', async (t) => {
  const { dir, root } = tree();
  const w = new WalkerThread({ opts: opts([root], 'inside'), skip: [], dedupe: false, helper: false });
  const seen: string[] = [];
  const warnings: string[] = [];
  for await (const it of w.items({ onWarning: (x) => warnings.push(x.code) })) seen.push(it.rel);
  t.notOk(seen.some((r) => r.startsWith('out-')), 'the walker thread contains links too');
  t.same(warnings, ['ELINKOUTSIDE', 'ELINKOUTSIDE']);

  const yaml = (v: string) => `version: 1\nname: s\nsource: { walk: { roots: [root], follow_symlinks: ${v} } }\nstages: [{ map: { processor: noop } }]\n`;
  t.equal(parsePipeline(yaml('inside'), 'p.yaml', dir).walk.follow_symlinks, 'inside');
  t.throws(() => parsePipeline(yaml('outside'), 'p.yaml', dir), /source\.walk\.follow_symlinks/);

  fs.writeFileSync(path.join(dir, 'p.yaml'), yaml('inside'));
  const r = await sluice(['run', path.join(dir, 'p.yaml'), '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.notOk(ofType(r.lines, 'result').some((x) => x.path.includes('out-')), 'a run reads nothing outside the root');
  t.equal(ofType(r.lines, 'warning').filter((x) => x.code === 'ELINKOUTSIDE').length, 2);
});
