import t from 'tap';
import { createHash } from 'node:crypto';
import { KeySet } from '../../lib/checkpoint/keyset.js';

const k = (i: number) => createHash('sha256').update(String(i)).digest('hex').slice(0, 32);

t.test('agrees with a Map over 100k keys, through growth, updates and filter', async (t) => {
  const set = new KeySet(16);
  const ref = new Map<string, number>();
  for (let i = 0; i < 100_000; i++) {
    const st = (i % 3) + 1;
    set.set(k(i), st);
    ref.set(k(i), st);
  }
  for (let i = 0; i < 100_000; i += 7) { set.set(k(i), 1); ref.set(k(i), 1); }
  t.equal(set.size, ref.size);
  let wrong = 0;
  for (const [key, st] of ref) if (set.get(key) !== st) wrong++;
  for (let i = 100_000; i < 110_000; i++) if (set.has(k(i))) wrong++;
  t.equal(wrong, 0, 'every lookup matches, absent keys are absent');
  const dropped = set.filter((st) => st !== 2);
  t.equal(dropped, [...ref.values()].filter((v) => v === 2).length);
  t.equal(set.get(k(1)), 0, 'a dropped key is gone');
  t.equal(set.get(k(0)), 1, 'kept keys stay');
  t.same(Object.fromEntries(set.tally()), { 1: [...ref.values()].filter((v) => v === 1).length, 3: [...ref.values()].filter((v) => v === 3).length });
});

t.test('only 32-hex-digit keys are keys', async (t) => {
  t.ok(KeySet.isKey(k(1)));
  t.notOk(KeySet.isKey('k1'));
  t.notOk(KeySet.isKey(k(1).toUpperCase()));
});

t.test('add puts a key once: true the first time, false after, its status left as it was; 100,000 keys across growths', async (t) => {
  const s = new KeySet(16);
  let added = 0;
  for (let i = 0; i < 100_000; i++) if (s.add(k(i), 1 + (i % 3))) added++;
  t.equal(added, 100_000);
  let again = 0;
  for (let i = 0; i < 100_000; i += 7) if (s.add(k(i), 9)) again++;
  t.equal(again, 0, 'none added twice');
  t.equal(s.size, 100_000);
  t.equal(s.get(k(7)), 1 + (7 % 3), 'the first status kept');
  t.equal(s.get(k(100_001)), 0, 'an absent key');
});
