// A processor asking ctx.writeOutput for a hostile name gets SLUICE_E_OUTPUT_PATH; nothing lands outside the output dir.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, sluice, tmpDir } from '../helpers.js';

t.test('hostile output names (.., absolute, NUL, empty, the dir itself, not a string) fail the item only, and write nothing anywhere', async (t) => {
  const dir = tmpDir();
  const abs = path.join(dir, 'abs-target.txt');
  const names: unknown[] = ['../escape.txt', '../../escape2.txt', abs, 'a/../../b.txt', 'nul\0byte.txt', '', '.', '..', 'sub/..', 'a/../..', 42, null];
  fs.mkdirSync(path.join(dir, 'in'));
  names.forEach((n, i) => fs.writeFileSync(path.join(dir, 'in', `evil-${String(i).padStart(2, '0')}.json`), JSON.stringify(n)));
  fs.writeFileSync(path.join(dir, 'in', 'fine.json'), JSON.stringify('ok/fine.txt'));
  fs.writeFileSync(path.join(dir, 'writer.mjs'), [
    "import fs from 'node:fs';",
    'export default async (item, ctx) => ({ wrote: await ctx.writeOutput(JSON.parse(fs.readFileSync(item.file, "utf8")), "data") });',
  ].join('\n'));
  const before = fs.readdirSync(dir).sort();
  const r = await sluice(['run', '--input', 'in', '--processor', './writer.mjs', '--out', 'out', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  const results = ofType(r.lines, 'result');
  t.equal(results.length, names.length + 1, 'one result per item: the run went on');
  for (const x of results.filter((x) => x.path.includes('evil-'))) {
    t.match(x, { status: 'failed', error: { code: 'SLUICE_E_OUTPUT_PATH' } }, `${x.path}: refused`);
  }
  t.match(results.find((x) => x.path.endsWith('fine.json')), { status: 'ok', output: { wrote: 'out/ok/fine.txt' } });
  t.same(fs.readdirSync(dir).sort(), [...before, 'out', 'st'].sort(), 'nothing written next to the output dir');
  t.notOk(fs.existsSync(abs), 'nothing written at the absolute path');
  const outFiles = fs.readdirSync(path.join(dir, 'out'), { recursive: true }).map(String).filter((f) => fs.statSync(path.join(dir, 'out', f)).isFile());
  t.same(outFiles.filter((f) => !f.startsWith('.sluice-tmp')), ['ok/fine.txt'], 'only the fine output in the output dir');
});
