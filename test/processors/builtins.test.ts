// The built-in processors' two sides: the main thread's table (spec and loader per name) and the
// options a worker gets (parsed by the spec: defaults filled in; a queued job's checked here).
import t from 'tap';
import { BUILTIN_PROCESSORS, workerOptions } from '../../lib/processors/index.js';
import { BUILTIN_LOADERS } from '../../lib/processors/builtins.js';

t.test('every built-in has a spec and a loader under the same name, and the spec names itself', async (t) => {
  t.same(Object.keys(BUILTIN_PROCESSORS).sort(), Object.keys(BUILTIN_LOADERS).sort());
  for (const [name, p] of Object.entries(BUILTIN_PROCESSORS)) t.equal(p.spec.name, name);
  t.equal(BUILTIN_PROCESSORS.chunk!.spec.fanOut, true, 'chunk fans out, as its loader says');
});

t.test('workerOptions fills in a built-in\'s defaults, refuses a bad option with SLUICE_E_CONFIG naming it, and leaves a module\'s options as they are', async (t) => {
  t.same(workerOptions('exec', { cmd: 'true' }), { cmd: 'true', shell: false, suffix: '.out', max_inline: 65_536, max_output: 64 * 2 ** 20 });
  t.same(workerOptions('exec', workerOptions('exec', { cmd: 'true' })), workerOptions('exec', { cmd: 'true' }), 'parsing parsed options changes nothing');
  t.throws(() => workerOptions('exec', { cmd: 'true', max_inline: -1 }), { code: 'SLUICE_E_CONFIG', message: /processor exec: .*max_inline/ });
  t.throws(() => workerOptions('chunk', { size: 10, overlap: 10 }), { code: 'SLUICE_E_CONFIG', message: /overlap/ });
  const mine = { anything: [1, 2] };
  t.equal(workerOptions('/abs/my-processor.mjs', mine), mine);
});
