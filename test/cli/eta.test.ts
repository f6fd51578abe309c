// The ETA in progress lines: a total from the start (the count ahead), and the time left weighed
// by what the items to do are (sizes), not by how many there are.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ofType, sluice, tmpDir } from '../helpers.js';

const bySize = path.join(FIXTURES, 'processors/by-size.mjs');

/** 400 small files of 0.5 to 4 KB, 50 in a/ and 350 in z/, and 6 of 60 KB in m/ (not first in the walk): the 6 are ~30% of the work. */
function skewed(): string {
  const dir = tmpDir();
  for (const sub of ['a', 'm', 'z']) fs.mkdirSync(path.join(dir, 'in', sub), { recursive: true });
  for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(dir, 'in', i < 50 ? 'a' : 'z', `s${i}.txt`), 'x'.repeat(512 + ((i * 397) % 3584)));
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(dir, 'in', 'm', `big${i}.txt`), 'x'.repeat(60 * 1024));
  return dir;
}

t.test('at 25%, 50% and 75% of a run whose cost is in a few large files, the ETA is within 25% of the time actually left; an ETA counting items is not', async (t) => {
  const dir = skewed();
  const r = await sluice(['run', '--input', 'in', '--processor', bySize, '--state', 'st', '--progress', 'ndjson', '--progress-interval', '250ms', '-j', '2'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const progress = ofType(r.lines, 'progress');
  const end = ofType(r.lines, 'summary')[0]!.elapsed_s as number;
  t.ok(progress.length >= 12, `progress lines: ${progress.length} over ${end} s`);
  t.equal(progress.find((p) => p.elapsed_s >= 1)?.total, 406, 'the total is known within the first second');
  t.ok(progress.some((p) => p.walking === true && p.total === 406), 'while the bounded walk is still going: the count ahead gave it');
  const nearest = (f: number) => progress.reduce((a, b) => (Math.abs(b.elapsed_s - f * end) < Math.abs(a.elapsed_s - f * end) ? b : a));
  let countingMissed = 0;
  for (const f of [0.25, 0.5, 0.75]) {
    const p = nearest(f);
    const left = end - p.elapsed_s;
    t.ok(p.eta_s !== null && Math.abs(p.eta_s - left) <= 0.25 * left, `at ${f * 100}% (${p.elapsed_s} s, ${p.done} done): eta ${p.eta_s} s, ${left.toFixed(1)} s actually left`);
    // what an ETA from the item count and the average rate says at the same moment
    const counting = (p.total - p.done) / (p.done / p.elapsed_s);
    if (Math.abs(counting - left) > 0.25 * left) countingMissed++;
  }
  t.ok(countingMissed > 0, 'the test tells the two apart: an ETA counting items misses at least one of the three');
});

t.test('with paths on stdin (no count ahead) the total and the ETA stay unknown until the input ends, and say so with null', async (t) => {
  const dir = skewed();
  const list = fs.readdirSync(path.join(dir, 'in', 'a')).slice(0, 40).map((f) => path.join('in', 'a', f)).join('\n') + '\n';
  const r = await sluice(['run', '-', '--lines', '--processor', bySize, '--state', 'st', '--progress', 'ndjson', '--progress-interval', '100ms', '-j', '2'], { cwd: dir, input: list });
  t.equal(r.code, 0, r.stderr);
  const progress = ofType(r.lines, 'progress');
  t.ok(progress.every((p) => p.total !== null || !p.walking), 'no total while the input is being read');
  t.ok(progress.every((p) => p.eta_s === null || p.total !== null), 'no ETA without a total');
  t.equal(progress.at(-1)!.eta_s, 0, 'the last line: nothing left');
});
