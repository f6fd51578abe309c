// How a chain's stages run (groupsOf, the one rule): which map stages are fused into one worker
// task, which fan out, and which record their output for resume per stage.
import t from 'tap';
import { Chain, checkProcessors, groupsOf, type ChainStage } from '../../lib/stages/chain.js';
import { mapOptions } from '../../lib/stages/map.js';

const map = (name: string, processor: string, extra: Record<string, unknown> = {}): ChainStage =>
  ({ kind: 'map', name, map: mapOptions.parse({ processor, ...extra }) });
const setup = { concurrency: 2, outDir: null };
/** each group as the names of its stages, fused ones joined with '+' */
const shape = (stages: ChainStage[]) => groupsOf(stages, setup).map((g) => (g.kind === 'filter' ? stages[g.at]!.name : g.fused.map((j) => stages[j]!.name).join('+')));

t.test('a chain of built-in processors needs no load check, so a run starts its workers without yielding; a module is checked in a thread', async (t) => {
  t.equal(checkProcessors([map('a', 'pdf-text'), map('b', 'chunk'), map('c', 'noop')]), null);
  const missing = checkProcessors([map('a', 'noop'), map('m', '/nonexistent/mine.mjs')]);
  t.ok(missing instanceof Promise, 'a module: a promise');
  await t.rejects(missing!, { code: 'SLUICE_E_PROCESSOR_LOAD', message: /mine\.mjs/ });
});

t.test('consecutive built-ins that never fan out, with the same settings, run fused in one task', async (t) => {
  t.same(shape([map('a', 'noop'), map('b', 'noop'), map('c', 'sha256')]), ['a+b+c']);
  const g = groupsOf([map('a', 'noop'), map('b', 'noop')], setup)[0]!;
  t.match(g, { kind: 'map', recorded: false, setup: { then: [{ processor: 'noop' }] } }, 'the second stage goes with the first task; the last map\'s result is the item\'s own record');
});

t.test('a stage with another timeout, retries or concurrency is not fused with the one before', async (t) => {
  t.same(shape([map('a', 'noop'), map('b', 'noop', { timeout: '5s' })]), ['a', 'b']);
  t.same(shape([map('a', 'noop'), map('b', 'noop', { retries: { max: 2 } })]), ['a', 'b']);
  t.same(shape([map('a', 'noop'), map('b', 'noop', { concurrency: 1 })]), ['a', 'b']);
});

t.test('a processor module is never fused: pdf-text then a module records pdf-text, so a change to the module does not redo it', async (t) => {
  const stages = [map('text', 'pdf-text'), map('mine', '/x/mine.mjs')];
  t.same(shape(stages), ['text', 'mine']);
  t.match(groupsOf(stages, setup)[0], { kind: 'map', recorded: true, setup: { fanOut: false } }, 'pdf-text\'s output is recorded');
  t.match(groupsOf(stages, setup)[1], { kind: 'map', recorded: false, setup: { fanOut: false } }, 'the last stage cannot fan out (nothing after it)');
});

t.test('a stage that may fan out (a module with a stage after it, or chunk) is never fused', async (t) => {
  const stages = [map('text', 'pdf-text'), map('chunks', 'chunk'), map('n', 'noop')];
  t.same(shape(stages), ['text', 'chunks', 'n']);
  const [text, chunks] = groupsOf(stages, setup);
  t.match(text, { recorded: true });
  t.match(chunks, { setup: { fanOut: true } }, 'it sends one item per task, its children go on to the next stage');
  t.same(shape([map('m', '/x/m.mjs'), map('n', 'noop')]), ['m', 'n']);
  t.match(groupsOf([map('m', '/x/m.mjs'), map('n', 'noop')], setup)[0], { setup: { fanOut: true } });
});

t.test('a fan-out stage whose children go on to another map stage has a pool of its own; one whose children are the results shares the threads of the stages before it', async (t) => {
  const poolsOf = (stages: ChainStage[]) => {
    const chain = new Chain(stages, setup);
    t.teardown(() => chain.end(true));
    return chain.steps.map((s) => s.stage!.pool);
  };
  const [text, chunks, n] = poolsOf([map('text', 'pdf-text'), map('chunks', 'chunk'), map('n', 'noop')]);
  t.not(chunks, text, 'its tasks wait for noop\'s, which must always find a thread');
  t.equal(n, text, 'noop shares pdf-text\'s pool (the same settings)');
  const [text2, chunks2] = poolsOf([map('text', 'pdf-text'), map('chunks', 'chunk')]);
  t.equal(chunks2, text2, 'chunk last: its tasks wait only for the output, so no threads (nor heaps) of its own');
  const [m, f] = poolsOf([map('m', '/x/m.mjs'), map('f', 'noop')]);
  t.not(m, f, 'a module with a map stage after it: the same');
  const [text3, chunks3] = poolsOf([map('text', 'pdf-text'), map('chunks', 'chunk', { concurrency: 1 })]);
  t.not(chunks3, text3, 'other pool settings: another pool');
});

t.test('a filter runs on its own and splits the maps around it', async (t) => {
  const f: ChainStage = { kind: 'filter', name: 'f', filter: { ext: ['.txt'] } };
  t.same(shape([map('a', 'noop'), f, map('b', 'noop')]), ['a', 'f', 'b']);
});
