import t from 'tap';
import { createRequire } from 'node:module';
import type yargsType from 'yargs';
import { noHelpCache } from '../../lib/cli/index.js';

// the build sluice uses (lib/cli/index.ts loads yargs' CommonJS build)
const yargs = createRequire(import.meta.url)('yargs') as typeof yargsType;

interface Usage { hasCachedHelpMessage(): boolean }
const usageOf = (p: unknown) => (p as { getInternalMethods(): { getUsageInstance(): Usage } }).getInternalMethods().getUsageInstance();

/** A parser with one command whose handler reports whether yargs has rendered its help by then. */
async function cachedAfterHandler(withoutCache: boolean): Promise<boolean> {
  let seen: boolean | undefined;
  const parser = yargs(['go', '--n', '1'])
    .command('go', 'a command', (y) => y.option('n', { type: 'number' }), async () => {
      await new Promise((resolve) => setImmediate(resolve));
      seen = usageOf(parser).hasCachedHelpMessage();
    })
    .exitProcess(false);
  if (withoutCache) noHelpCache(parser);
  await parser.parseAsync();
  return seen!;
}

t.test('yargs renders the help text when a command handler starts, unless told not to: a run does not pay for a help text it never prints', async (t) => {
  t.equal(await cachedAfterHandler(false), true, 'left alone, yargs has rendered and kept the help text once the handler yields');
  t.equal(await cachedAfterHandler(true), false, 'with noHelpCache, no help text is rendered');
});

t.test('help is still printed in full with the cache turned off', async (t) => {
  let out = '';
  const parser = yargs(['go', '--help'])
    .command('go', 'a command', (y) => y.option('n', { type: 'number', describe: 'how many' }), () => {})
    .exitProcess(false);
  noHelpCache(parser);
  await parser.parseAsync(['go', '--help'], {}, (_err, _argv, output) => { out = output; });
  t.match(out, /how many/, "the command's own help, options included");
});
