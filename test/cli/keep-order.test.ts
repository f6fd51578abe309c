// --keep-order: results in input order, through a bounded window.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ofType, readJournal, sluice, tmpDir } from '../helpers.js';

const jitter = path.join(FIXTURES, 'processors/jitter.mjs');

function tree(n: number): { dir: string; names: string[] } {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  const names = Array.from({ length: n }, (_, i) => `f${String(i).padStart(4, '0')}${i === 3 ? '-slow' : ''}.txt`);
  for (const n of names) fs.writeFileSync(path.join(dir, 'in', n), n);
  return { dir, names };
}

t.test('--keep-order prints results in input order though items finish out of order', async (t) => {
  const { dir, names } = tree(300);
  const unordered = await sluice(['run', '--input', 'in', '--processor', jitter, '--state', 'st1', '--progress', 'none', '-j', '2'], { cwd: dir });
  const seen = ofType(unordered.lines, 'result').map((l) => path.basename(l.path));
  t.notSame(seen, names, 'without it, results come as they finish (the slow fourth item last of its neighbours)');
  const ordered = await sluice(['run', '--input', 'in', '--processor', jitter, '--state', 'st2', '--progress', 'none', '-j', '2', '--keep-order'], { cwd: dir });
  t.equal(ordered.code, 0, ordered.stderr);
  t.same(ofType(ordered.lines, 'result').map((l) => path.basename(l.path)), names, 'with it, in the order of the walk');
  t.equal(readJournal(path.join(dir, 'st2')).length, 300, 'every item recorded');
});

t.test('--keep-order with a stop keeps the printed results in order and records what finished', async (t) => {
  const { dir, names } = tree(300);
  const r = await sluice(['run', '--input', 'in', '--processor', jitter, '--state', 'st', '--progress', 'none', '-j', '2', '--keep-order', '--max-items', '40'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const printed = ofType(r.lines, 'result').map((l) => path.basename(l.path));
  t.same(printed, names.slice(0, 40), 'the first forty, in order');
  const rest = await sluice(['run', '--input', 'in', '--processor', jitter, '--state', 'st', '--progress', 'none', '-j', '2', '--keep-order'], { cwd: dir });
  t.same(ofType(rest.lines, 'result').map((l) => path.basename(l.path)), names.slice(40), 'the next run does the rest, in order');
});
