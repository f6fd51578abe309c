// The output names an item's reply carries to the journal: each once, relative, bounded.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ItemContext, OutputNames } from '../../lib/worker/context.js';
import { MAX_OUTPUT_NAME_CHARS, isReply } from '../../lib/worker/protocol.js';
import { tmpDir } from '../helpers.js';

t.test('writeOutput records each name an item wrote once, relative to the output dir with / separators', async (t) => {
  const out = tmpDir();
  const ctx = new ItemContext({}, out, (p: string) => p);
  t.equal(ctx.written, null, 'nothing written yet');
  await ctx.writeOutput('a.txt', 'a');
  await ctx.writeOutput('sub/dir/b.txt', 'b');
  await ctx.writeOutput('a.txt', 'again');
  t.same(ctx.written!.fields(), { outputs: ['a.txt', 'sub/dir/b.txt'] });
  t.equal(fs.readFileSync(path.join(out, 'sub/dir/b.txt'), 'utf8'), 'b');
  t.same(new OutputNames().fields(), {}, 'an item that wrote nothing carries no field');
});

t.test('an item that writes more names than the bound records the first of them and counts the rest', async (t) => {
  const names = new OutputNames();
  const name = (i: number) => `${'x'.repeat(90)}-${String(i).padStart(5, '0')}.txt`;
  for (let i = 0; i < 1000; i++) names.add(name(i));
  const f = names.fields();
  t.ok(f.outputs!.join('').length <= MAX_OUTPUT_NAME_CHARS, 'at most the bound in names');
  t.ok(f.outputs!.length > 10, 'as many as fit');
  t.equal(f.outputs!.length + f.outputs_more!, 1000, 'the rest counted');
  t.same(f.outputs!.slice(0, 2), [name(0), name(1)], 'the first ones, in the order written');
  t.ok(isReply({ type: 'ok', output: {}, ...f }), 'a reply with them is well formed');
  t.notOk(isReply({ type: 'ok', output: {}, outputs: [1] }), 'names are strings');
});
