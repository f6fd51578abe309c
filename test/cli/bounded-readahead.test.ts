// "Memory stays flat whatever the item count" rests on one property of the whole run: the walk
// never gets more than a bounded number of items ahead of the processor. Its figures in MB are a
// benchmark's (bench/memory.ts); this test checks the property itself, through the CLI's progress
// lines, where a walk that ran ahead would show `found` racing to the tree's size.
import t from 'tap';
import path from 'node:path';
import { FIXTURES, makeTree, ofType, sluice, tmpDir } from '../helpers.js';

// ahead of the work at most: the chunk of files the walk stats at once (1024), the walker's
// messages in transit (4 of 64), the stream buffers between the stages (16 each), the items in flight
const BOUND = 1024 + 4 * 64 + 8 * 16 + 2;

t.test('memory stays flat: over a 20,000-file tree and a slow processor, the walk stays a bounded number of items ahead of the work', async (t) => {
  const dir = tmpDir();
  const N = 20_000;
  makeTree(path.join(dir, 'in'), N, 2000);
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/slow.mjs'), '-O', 'ms=10', '-j', '2',
    '--max-items', '200', '--progress', 'ndjson', '--progress-interval', '50ms', '--state', 'st'], { cwd: dir, t });
  t.equal(r.code, 0, r.stderr);
  const progress = ofType(r.lines, 'progress');
  t.ok(progress.length >= 3, `progress lines to read (${progress.length})`);
  const ahead = Math.max(...progress.map((p) => p.found - p.done));
  t.ok(ahead <= BOUND, `found ran at most ${ahead} items ahead of done (bound ${BOUND})`);
  const summary = r.lines.at(-1)!;
  t.match(summary, { type: 'summary', ok: 200, total: null }, 'the walk was held back: it never reached the end of the tree');
  t.ok(progress.at(-1)!.found <= 200 + BOUND, `and found ${progress.at(-1)!.found} of ${N} files in all`);
});
