// A pipeline's `processor: ./mod.mjs` names the module next to the pipeline file, from any cwd.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, sluice, tmpDir } from '../helpers.js';

/** A pipeline folder with its own module, and a folder elsewhere holding a decoy of the same name. */
function setup() {
  const dir = tmpDir();
  const pipe = path.join(dir, 'project');
  const elsewhere = path.join(dir, 'elsewhere');
  fs.mkdirSync(path.join(pipe, 'docs'), { recursive: true });
  fs.mkdirSync(elsewhere);
  fs.writeFileSync(path.join(pipe, 'docs/a.txt'), 'a\n');
  fs.writeFileSync(path.join(pipe, 'docs/b.txt'), 'b\n');
  fs.writeFileSync(path.join(pipe, 'mod.mjs'), 'export default async () => ({ who: "real" });\n');
  const marker = path.join(dir, 'DECOY-RAN');
  fs.writeFileSync(path.join(elsewhere, 'mod.mjs'),
    `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(marker)}, 'x');\nexport default async () => ({ who: "decoy" });\n`);
  const pipeline = path.join(pipe, 'p.yaml');
  fs.writeFileSync(pipeline, [
    'version: 1', 'name: p', 'source: { walk: { roots: [docs] } }', 'stages:', '  - dedupe: {}', '  - map: { processor: ./mod.mjs }', '',
  ].join('\n'));
  return { dir, pipe, elsewhere, marker, pipeline };
}

t.test('a relative processor in a pipeline file runs the module next to the file, never a same-named one in the cwd', async (t) => {
  const { dir, elsewhere, marker, pipeline } = setup();
  const r = await sluice(['run', pipeline, '--progress', 'none'], { cwd: elsewhere });
  t.equal(r.code, 0, r.stderr);
  const results = ofType(r.lines, 'result');
  t.equal(results.length, 2);
  t.ok(results.every((x) => x.status === 'ok' && x.output.who === 'real'), 'every item ran the pipeline\'s own module');
  t.notOk(fs.existsSync(marker), 'the decoy in the cwd was never loaded');

  // from a folder with no mod.mjs at all (the repository root case): the same module, items ok
  const fresh = await sluice(['run', pipeline, '--fresh', '--progress', 'none'], { cwd: dir });
  t.equal(fresh.code, 0, fresh.stderr);
  t.ok(ofType(fresh.lines, 'result').every((x) => x.status === 'ok' && x.output.who === 'real'));
  t.equal(r.lines[0]!.processor, path.join(path.dirname(pipeline), 'mod.mjs'), 'the start event names the absolute module path');
});

t.test('the config fingerprint digests the pipeline\'s own module: editing it changes the hash, editing a decoy in the cwd does not', async (t) => {
  const { pipe, elsewhere, pipeline } = setup();
  const plan = async () => {
    const r = await sluice(['plan', pipeline, '--json'], { cwd: elsewhere });
    t.equal(r.code, 0, r.stderr);
    return r.lines[0]!.config_hash as string;
  };
  const first = await sluice(['run', pipeline, '--progress', 'none'], { cwd: elsewhere });
  t.equal(first.code, 0, first.stderr);
  const h0 = first.lines[0]!.config_hash as string;
  t.equal(await plan(), h0, 'plan and run agree');
  fs.appendFileSync(path.join(elsewhere, 'mod.mjs'), '// decoy edited\n');
  t.equal(await plan(), h0, 'a decoy in the cwd is not part of the fingerprint');
  fs.appendFileSync(path.join(pipe, 'mod.mjs'), '// real module edited\n');
  const h1 = await plan();
  t.not(h1, h0, 'editing the real module changes the fingerprint');
  const again = await sluice(['run', pipeline, '--progress', 'none'], { cwd: elsewhere });
  t.match(again.lines[0], { config_hash: h1, config_changed: true });
  t.equal(ofType(again.lines, 'result').length, 2, 'both items redone with the edited module');
});

t.test('a processor path that is a directory is a config error naming the key', async (t) => {
  const { pipe, pipeline } = setup();
  fs.mkdirSync(path.join(pipe, 'dir.mjs'));
  fs.writeFileSync(pipeline, fs.readFileSync(pipeline, 'utf8').replace('./mod.mjs', './dir.mjs'));
  const r = await sluice(['validate', pipeline]);
  t.equal(r.code, 2);
  t.match(r.stderr, /stages\[1\]\.map\.processor: processor module is not a regular file: .*dir\.mjs/);
});
