// core/zod.ts loads zod's message locales lazily: none is read until used, and each still works.
import t from 'tap';
import path from 'node:path';
import { createRequire } from 'node:module';
import { z } from '../../lib/core/zod.js';

const require = createRequire(import.meta.url);
const localesDir = path.dirname(require.resolve('zod/v4/locales'));
const loadedLocales = () => Object.keys(require.cache).filter((f) => path.dirname(f) === localesDir && !/[/\\](index|en)\.cjs$/.test(f));

t.test('no locale but English is loaded with zod; z.locales names them all and each loads when first used', async (t) => {
  t.same(loadedLocales(), [], 'only zod\'s English messages are loaded');
  const names = Object.keys(z.locales);
  t.ok(names.length >= 40, `z.locales names ${names.length} locales`);
  t.ok(names.includes('fr') && names.includes('ptBR') && names.includes('zhCN'), 'fr, ptBR and zhCN among them');
  const fr = z.locales.fr();
  t.equal(loadedLocales().length, 1, 'using fr loads fr alone');
  z.config(fr);
  try {
    const r = z.string().safeParse(1);
    t.match(r.error?.issues[0]?.message, /attendu/, 'messages come out in French');
  } finally {
    z.config(z.locales.en());
  }
  t.match(z.string().safeParse(1).error?.issues[0]?.message, /expected string/, 'and in English again');
  t.type(z.locales.ptBR().localeError, 'function', 'a locale with a region in its file name (pt-BR) loads too');
});
