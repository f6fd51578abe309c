// Fan-out: a processor hands child items to the rest of the chain (ctx.emit); each child has its
// own key, result line and record; its parent is recorded after all of them; memory holds a
// bounded number of children however many one item has.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ofType, readJournal, sluice, tmpDir } from '../helpers.js';

const FAN = path.join(FIXTURES, 'processors/fan.mjs');
const CHILD = path.join(FIXTURES, 'processors/child.mjs');

function setup(files: string[], fan: string, child: string): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (const f of files) fs.writeFileSync(path.join(dir, 'in', f), f);
  fs.writeFileSync(path.join(dir, 'p.yaml'), `version: 1\nname: p\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { name: fan, processor: ${FAN}, concurrency: 1, options: ${fan} }\n  - map: { name: child, processor: ${CHILD}, concurrency: 1, options: ${child} }\n`);
  return dir;
}

t.test('each child has its own result line with parent and index, a stable key, and its parent\'s line comes after all of them', async (t) => {
  const dir = setup(['a.txt', 'b.txt'], '{ n: 5 }', '{}');
  const run = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  const results = ofType(run.lines, 'result');
  const parents = results.filter((r) => r.parent === undefined);
  t.same(parents.map((p) => [path.basename(p.path as string), p.children, p.stage]).sort(), [['a.txt', 5, 'fan'], ['b.txt', 5, 'fan']]);
  for (const p of parents) {
    const kids = results.filter((r) => r.parent === p.key);
    t.same(kids.map((k) => k.index).sort(), [0, 1, 2, 3, 4], `${p.path}: children 0..4`);
    t.ok(kids.every((k) => k.path === p.path && k.stage === 'child' && (k.output as { of: string }).of === path.basename(p.path as string)));
    t.ok(kids.every((k) => results.indexOf(k) < results.indexOf(p)), 'the parent\'s line after its children\'s');
    t.equal(new Set(kids.map((k) => k.key)).size, 5, 'keys differ');
  }
  t.match(run.lines.at(-1), { ok: 2, failed: 0, children: { ok: 10, failed: 0, skipped: 0 } });
  const journal = readJournal(path.join(dir, '.sluice/p'));
  t.equal(journal.length, 12, 'every child and parent recorded once');
  const again = await sluice(['run', 'p.yaml', '--progress', 'none', '--fresh'], { cwd: dir });
  t.same(ofType(again.lines, 'result').map((r) => r.key).sort(), results.map((r) => r.key).sort(), 'the same keys on another run');
});

t.test('a failed child fails its parent with SLUICE_E_CHILD_FAILED; --retry-failed runs the parent again and only that child', async (t) => {
  const dir = setup(['a.txt'], `{ n: 4, log: log }`, `{ fail: [2], log: log }`);
  const run = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 1);
  const results = ofType(run.lines, 'result');
  t.match(results.find((r) => r.index === 2), { status: 'failed', stage: 'child', error: { code: 'SLUICE_E_PROCESSOR', message: /child 2 of a\.txt refused/ } });
  t.match(results.at(-1), { parent: undefined, status: 'failed', error: { code: 'SLUICE_E_CHILD_FAILED', message: /1 of its 4 children failed \(the first: child 2: SLUICE_E_PROCESSOR/ } });
  t.match(run.lines.at(-1), { ok: 0, failed: 1, children: { ok: 3, failed: 1 } });
  fs.writeFileSync(path.join(dir, 'log'), '');
  fs.writeFileSync(path.join(dir, 'p.yaml'), fs.readFileSync(path.join(dir, 'p.yaml'), 'utf8').replace('fail: [2], ', ''));
  const retry = await sluice(['run', 'p.yaml', '--progress', 'none', '--retry-failed', '--keep-done'], { cwd: dir });
  t.equal(retry.code, 0, retry.stderr);
  t.same(fs.readFileSync(path.join(dir, 'log'), 'utf8').trim().split('\n'), ['parent a.txt', 'child a.txt 2'], 'the parent emits again; only the failed child runs');
  t.match(retry.lines.at(-1), { ok: 1, failed: 0, children: { ok: 1, skipped: 3 } });
});

t.test('one item with 100,000 children through a slower stage holds a bounded number of them at once', async (t) => {
  const dir = setup(['big.txt'], '{ n: 100000 }', '{}');
  fs.appendFileSync(path.join(dir, 'p.yaml'), 'checkpoint: { fsync: never }\n');
  const run = await sluice(['run', 'p.yaml', '--progress', 'none', '-j', '1'], { cwd: dir, deadlineMs: 240_000 });
  t.equal(run.code, 0, run.stderr);
  const summary = run.lines.at(-1)!;
  t.match(summary, { ok: 1, children: { ok: 100_000, failed: 0 } });
  const peak = (summary.children as { peak_in_flight: number }).peak_in_flight;
  t.ok(peak > 0 && peak <= 1_000, `children handed on and not yet recorded: at most ${peak} at once (bound 1,000 of 100,000)`);
  t.equal(ofType(run.lines, 'result').length, 100_001);
});

t.test('a processor that fans out and emits nothing ends its item at its stage (chunk of a text with no words)', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in/blank.txt'), '   \n\n  ');
  fs.writeFileSync(path.join(dir, 'in/words.txt'), 'one two three. four five six.');
  fs.writeFileSync(path.join(dir, 'p.yaml'), `version: 1\nname: p\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { processor: chunk, options: { size: 20, overlap: 0 } }\n  - map: { processor: ${CHILD} }\n`);
  const run = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  const results = ofType(run.lines, 'result');
  t.match(results.find((r) => (r.path as string).endsWith('blank.txt')), { status: 'ok', children: 0, stage: 'map0', output: { chunks: 0 } });
  t.ok(results.filter((r) => r.parent !== undefined).length >= 2, 'the text with words has chunks, each through the next stage');
});

t.test('a processor that fails after emitting some children: the item fails with its own error, the children it emitted are recorded', async (t) => {
  const dir = setup(['a.txt'], '{ n: 5, fail_after: 2 }', '{}');
  const run = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(run.code, 1);
  const results = ofType(run.lines, 'result');
  t.same(results.filter((r) => r.parent !== undefined).map((r) => r.index).sort(), [0, 1], 'the two children emitted before the failure');
  t.match(results.find((r) => r.parent === undefined), { status: 'failed', error: { code: 'SLUICE_E_PROCESSOR', message: /gave up on a\.txt after 2 children/ } });
  t.equal(readJournal(path.join(dir, '.sluice/p')).length, 3);
});

t.test('chunk alone (sluice run --processor chunk) prints each chunk as a result line of its own, recorded once: a rerun does nothing', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in', 'a.txt'), 'First paragraph, a sentence or two long.\n\nSecond paragraph, which is about as long.\n\nThird one.\n');
  fs.writeFileSync(path.join(dir, 'in', 'b.txt'), 'short\n');
  const run = await sluice(['run', '--input', 'in', '--processor', 'chunk', '--progress', 'none', '--state', 'st'], { cwd: dir });
  t.equal(run.code, 0, run.stderr);
  const results = ofType(run.lines, 'result');
  const a = results.find((r) => r.parent === undefined && (r.path as string).endsWith('a.txt'))!;
  t.match(a, { status: 'ok', children: 1, output: { chunks: 1 } }, 'the item\'s own line says how many chunks');
  const kids = results.filter((r) => r.parent !== undefined);
  t.equal(kids.length, 2, 'one chunk each');
  t.ok(kids.every((k) => typeof (k.output as { text: string }).text === 'string' && k.stage === undefined), 'a chunk\'s line carries its text, and no stage field (one stage)');
  t.match(run.lines.at(-1), { ok: 2, failed: 0, children: { ok: 2, failed: 0 } });
  const again = await sluice(['run', '--input', 'in', '--processor', 'chunk', '--progress', 'none', '--state', 'st'], { cwd: dir });
  t.equal(again.code, 0, again.stderr);
  t.same(ofType(again.lines, 'result'), [], 'nothing runs again');
  t.match(again.lines.at(-1), { ok: 0, skipped: 2 });
});
