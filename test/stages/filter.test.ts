// stages/filter.ts: sizes, `where` conditions parsed (never evaluated), and the compiled filter.
import t from 'tap';
import { compileFilter, filterOptions, parseCondition, parseSize } from '../../lib/stages/filter.js';
import type { Item } from '../../lib/core/item.js';

t.test('sizes read as du reads them: k, M, G are powers of 1024, kB, MB, GB of 1000', async (t) => {
  t.equal(parseSize(1234), 1234);
  t.equal(parseSize('200k'), 200 * 1024);
  t.equal(parseSize('50MB'), 50_000_000);
  t.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
  t.equal(parseSize('7'), 7);
  t.equal(parseSize('lots'), undefined);
  t.equal(parseSize(-1), undefined);
});

t.test('a condition is a field, an operator and a literal; anything else is refused with the forms', async (t) => {
  t.same(parseCondition('output.pages > 0'), { root: 'output', field: ['pages'], op: '>', value: 0 });
  t.same(parseCondition('output.meta.langs[0] == "el"'), { root: 'output', field: ['meta', 'langs', 0], op: '==', value: 'el' });
  t.same(parseCondition("item.rel != 'x.pdf'"), { root: 'item', field: ['rel'], op: '!=', value: 'x.pdf' });
  t.same(parseCondition('output.error == null'), { root: 'output', field: ['error'], op: '==', value: null });
  for (const bad of ['output.pages > "1"', 'process.exit() == 1', 'output.pages', 'output.pages >= x', 'item.file == "a"', 'output.a == 1; rm -rf /', 'constructor.name == "x"']) {
    t.type(parseCondition(bad), 'string', `refused: ${bad}`);
  }
});

t.test('the compiled filter keeps an item only when every condition holds; a missing field holds only for != and == null', async (t) => {
  const item = { path: 'in/a.pdf', file: '/nonexistent/a.pdf', root: 'in', rel: 'sub/A.PDF', size: 2000, mtime_ms: 0 } as Item;
  const f = (o: unknown) => compileFilter(filterOptions.parse(o));
  t.equal(await f({ ext: ['pdf'] })(item, undefined), true, 'extensions ignore case');
  t.equal(await f({ ext: ['.txt'] })(item, undefined), false);
  t.equal(await f({ glob: ['sub/**'] })(item, undefined), true);
  t.equal(await f({ size: { max: '1k' } })(item, undefined), false);
  t.equal(await f({ size: { min: 1000, max: '2k' } })(item, undefined), true);
  t.equal(await f({ where: ['output.pages > 0'] })(item, { pages: 3 }), true);
  t.equal(await f({ where: ['output.pages > 0'] })(item, { pages: 0 }), false);
  t.equal(await f({ where: ['output.pages > 0'] })(item, {}), false, 'missing: a comparison does not hold');
  t.equal(await f({ where: ['output.pages != 1'] })(item, {}), true);
  t.equal(await f({ where: ['output.x == null'] })(item, {}), true);
  t.equal(await f({ where: ['output.toString == null'] })(item, {}), true, 'inherited properties are not fields');
  t.equal(await f({ where: ['item.size >= 2000', 'output.ok == true'] })(item, { ok: true }), true);
  await t.rejects(f({ type: ['pdf'] })(item, undefined), 'the type of a file that is not there cannot be read: the item fails with the cause');
});
