import t from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as tick } from 'node:timers/promises';
import { Dedupe } from '../../lib/stages/dedupe.js';
import { ParallelMap } from '../../lib/stages/map.js';
import type { Item } from '../../lib/core/item.js';

// 100k items from a lazy source through dedupe and the parallel map into a sink that is slow
// (it yields to the event loop between items and stalls every 1000). The number of items the
// source has produced but the sink has not yet written must stay small and bounded throughout.
t.test('100k items into a slow sink: items read but not written stay bounded', async (t) => {
  const N = 100_000;
  let produced = 0;
  let written = 0;
  let maxGap = 0;
  function* source(): Generator<Item> {
    for (let i = 0; i < N; i++) {
      produced++;
      maxGap = Math.max(maxGap, produced - written);
      yield { path: `f${i}`, file: `f${i}`, root: '.', rel: `f${i}`, size: i, mtime_ms: 1 };
    }
  }
  const done = new Set<string>();
  const dedupe = new Dedupe({ isDone: (k) => done.has(k) }, 'path+size+mtime');
  const map = new ParallelMap<Item, Item>(async (x) => { await tick(); return x; }, 4);
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 16,
    write(_x: Item, _e, cb) {
      written++;
      if (written % 1000 === 0) setTimeout(cb, 5);
      else setImmediate(cb);
    },
  });
  await pipeline(Readable.from(source(), { highWaterMark: 16 }), dedupe, map, sink);
  t.equal(written, N, 'every item arrives');
  // source buffer, dedupe (write + read side), map (write + read side), sink: six buffers of
  // highWaterMark 16, plus 4 in flight, plus one in the sink's hands and the generator's own step
  const BOUND = 6 * 16 + 4 + 2;
  t.ok(maxGap <= BOUND, `read-but-not-written peaked at ${maxGap} (bound ${BOUND})`);
  t.ok(maxGap > 4, 'the sink really was slower than the source');
});
