// A processor module that cannot load is one error at start-up (exit 2), never a failure per item.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, sluice, tmpDir } from '../helpers.js';

const BROKEN: Record<string, [string, RegExp]> = {
  'syntax.mjs': ['export default async () => {\n  return { a: 1,, };\n};\n', /processor syntax\.mjs: syntax error at line 2: Unexpected token/],
  'missing.mjs': ["import x from 'no-such-package-sluice';\nexport default async () => x;\n", /processor missing\.mjs cannot load a module it imports: Cannot find package 'no-such-package-sluice'/],
  'nodefault.mjs': ['export const run = async () => ({});\n', /processor nodefault\.mjs has no default export function/],
  'throws.mjs': ["throw new Error('cannot start');\nexport default async () => ({});\n", /processor throws\.mjs failed while loading: cannot start/],
};

for (const [name, [body, message]] of Object.entries(BROKEN)) {
  t.test(`a processor that cannot load (${name}) stops the run at start with SLUICE_E_PROCESSOR_LOAD, exit 2, recording nothing; fixed, every item runs`, async (t) => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'in'));
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
    fs.writeFileSync(path.join(dir, name), body);
    const go = () => sluice(['run', '--input', 'in', '--processor', `./${name}`, '--state', 'st', '--progress', 'none'], { cwd: dir });
    const r = await go();
    t.equal(r.code, 2);
    t.match(r.stderr, message);
    t.equal(r.stderr.trim().split('\n').length, 1, 'one message');
    t.same(ofType(r.lines, 'result'), [], 'no result');
    t.notOk(fs.existsSync(path.join(dir, 'st/journal.ndjson')), 'nothing recorded');
    fs.writeFileSync(path.join(dir, 'p.yaml'), `version: 1\nname: p\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { processor: ./${name} }\n`);
    const v = await sluice(['validate', 'p.yaml'], { cwd: dir });
    t.equal(v.code, 2, 'validate says so too');
    t.match(v.stderr, message);
    fs.writeFileSync(path.join(dir, name), 'export default async (item) => ({ rel: item.rel });\n');
    const fixed = await go();
    t.equal(fixed.code, 0, fixed.stderr);
    t.equal(ofType(fixed.lines, 'result').length, 20, 'after the fix, all twenty run');
  });
}
