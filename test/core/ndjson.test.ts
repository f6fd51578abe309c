import t from 'tap';
import { PassThrough, Writable } from 'node:stream';
import { NdjsonWriter } from '../../lib/core/ndjson.js';

t.test('a paused consumer makes write() wait; nothing is lost and memory stays at highWaterMark', async (t) => {
  const out = new PassThrough({ highWaterMark: 1024 });
  const w = new NdjsonWriter(out);
  let resolved = 0;
  let pending: Promise<void> | undefined;
  // write until the stream pushes back
  for (let i = 0; i < 1000; i++) {
    const p = w.write({ v: 1, type: 'result', i, pad: 'x'.repeat(50) });
    let settled = false;
    p.then(() => { settled = true; resolved++; });
    await Promise.resolve();
    await Promise.resolve();
    if (!settled) { pending = p; break; }
  }
  t.ok(pending, 'write() waits once the consumer stops reading');
  t.ok(w.busy, 'busy tells periodic writers to skip a beat');
  const buffered = out.writableLength + out.readableLength;
  t.ok(buffered < 4096, `buffered bytes stay near the highWaterMark (${buffered})`);
  // now read everything: the pending write resolves
  const chunks: string[] = [];
  out.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  await pending;
  const lines = chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { i: number });
  t.same(lines.map((l) => l.i), Array.from({ length: lines.length }, (_, i) => i), 'lines arrive complete and in order');
});

t.test('a reader that goes away (EPIPE) closes the writer quietly', async (t) => {
  const out = new Writable({ write(_c, _e, cb) { const e = new Error('write EPIPE') as NodeJS.ErrnoException; e.code = 'EPIPE'; cb(e); } });
  const w = new NdjsonWriter(out);
  let closed = 0;
  w.onClosed(() => closed++);
  await w.write({ v: 1, type: 'result' });
  await new Promise((r) => setImmediate(r));
  t.equal(w.closed, true);
  t.equal(closed, 1);
  await w.write({ v: 1, type: 'result' }); // dropped, no throw
  t.equal(closed, 1, 'onClosed fires once');
});
