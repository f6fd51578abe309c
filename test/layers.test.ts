import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

/**
 * The layers of lib/, and what each may import: `bin → cli → run → stages → {worker, checkpoint}
 * → core`, `worker → processors → core`, and `run → queue → worker` (a queue's coordinator and
 * worker processes run items on worker pools). An edge may skip layers downwards; none points up or
 * across (worker ⇄ checkpoint). Type-only imports count: a type is part of the layer it lives in.
 */
const MAY_IMPORT: Record<string, string[]> = {
  core: [],
  processors: ['core'],
  checkpoint: ['core'],
  worker: ['processors', 'core'],
  queue: ['worker', 'processors', 'core'],
  stages: ['worker', 'checkpoint', 'processors', 'core'],
  run: ['stages', 'queue', 'worker', 'checkpoint', 'processors', 'core'],
  cli: ['run', 'stages', 'queue', 'worker', 'checkpoint', 'processors', 'core'],
};

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const lib = path.join(repo, 'lib');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative module a file names: static and dynamic imports, re-exports, `new URL(..., import.meta.url)`. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)(['"])(\.\.?\/[^'"]+)\1/g;
  for (const m of text.matchAll(re)) out.push(m[2]!);
  return out;
}

function layerOf(file: string): string | null {
  const rel = path.relative(lib, file);
  if (rel.startsWith('..')) return null;
  const top = rel.split(path.sep)[0]!;
  return top.endsWith('.ts') ? 'index' : top;
}

t.test('every import in lib/ points down the layers, never up or across', async (t) => {
  const bad: string[] = [];
  let edges = 0;
  for (const file of sources(lib)) {
    const from = layerOf(file)!;
    for (const spec of importsOf(fs.readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      const to = layerOf(target);
      if (to === null) {
        if (spec.endsWith('/package.json')) continue; // the package's own version, read by core/version.ts
        bad.push(`${path.relative(repo, file)} imports ${spec}, outside lib/`);
        continue;
      }
      if (to === from) continue;
      edges++;
      // lib/index.ts is the package's front door: it may name every layer, and nothing names it
      if (from === 'index') continue;
      if (to === 'index' || !(MAY_IMPORT[from] ?? []).includes(to)) bad.push(`${path.relative(repo, file)} (${from}) imports ${spec} (${to})`);
    }
  }
  t.ok(edges > 50, `the test saw the imports (${edges} edges between layers)`);
  t.same(bad, [], 'no edge points up or across');
  t.same(Object.keys(MAY_IMPORT).sort(), fs.readdirSync(lib, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort(), 'every folder of lib/ is a layer the rule names');
});

t.test('the import parser sees every form of import the code uses', async (t) => {
  const text = [
    "import { a } from '../core/a.js';",
    "import type { B } from '../stages/b.js';",
    "export { c } from './c.js';",
    "const m = await import('../worker/m.js');",
    "new Worker(new URL('./walk/worker.js', import.meta.url));",
    "import '../processors/side-effect.js';",
  ].join('\n');
  t.same(importsOf(text), ['../core/a.js', '../stages/b.js', './c.js', '../worker/m.js', './walk/worker.js', '../processors/side-effect.js']);
});
