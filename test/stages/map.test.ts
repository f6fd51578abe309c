import t from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ParallelMap, processWithRetries, type RETRY_CAUSES } from '../../lib/stages/map.js';
import type { Item } from '../../lib/core/item.js';
import type { ReplyMessage } from '../../lib/worker/protocol.js';

const item = (i: number): Item => ({ path: `f${i}`, file: `f${i}`, root: '.', rel: `f${i}`, size: 1, mtime_ms: 1 });
const all = (max: number) => ({ max, on: ['timeout', 'worker_crash', 'io'] as (typeof RETRY_CAUSES)[number][] });

t.test('ParallelMap keeps at most `concurrency` calls in flight and returns every item once', async (t) => {
  let active = 0;
  let peak = 0;
  const seen: number[] = [];
  const map = new ParallelMap<number, number>(async (x) => {
    active++;
    peak = Math.max(peak, active);
    await sleep(x % 3);
    active--;
    return x;
  }, 4);
  await pipeline(Readable.from(Array.from({ length: 300 }, (_, i) => i)), map, new Writable({
    objectMode: true,
    write(x: number, _e, cb) { seen.push(x); cb(); },
  }));
  t.equal(peak, 4);
  t.same([...seen].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));
});

t.test('a rejected call fails the stream (processors never reject: failures are results)', async (t) => {
  const map = new ParallelMap<number, number>(async (x) => { if (x === 3) throw new Error('boom'); return x; }, 2);
  await t.rejects(pipeline(Readable.from([1, 2, 3, 4]), map, new Writable({ objectMode: true, write(_x, _e, cb) { cb(); } })), /boom/);
});

t.test('retries: retryable causes are retried up to max, permanent ones are not', async (t) => {
  let calls = 0;
  const crashTwice = async (): Promise<ReplyMessage> => {
    calls++;
    return calls <= 2 ? { type: 'failed', error: { code: 'SLUICE_E_WORKER_CRASH', message: 'died', retryable: true } } : { type: 'ok', output: { n: calls } };
  };
  const r = await processWithRetries(item(1), crashTwice, all(2), 1);
  t.equal(r.status, 'ok');
  t.equal(r.attempts, 3);

  calls = 0;
  const r2 = await processWithRetries(item(1), crashTwice, all(1), 1);
  t.equal(r2.status, 'failed');
  t.equal(r2.attempts, 2, 'gives up after max retries');
  t.equal(r2.error?.code, 'SLUICE_E_WORKER_CRASH');

  calls = 0;
  const invalid = async (): Promise<ReplyMessage> => { calls++; return { type: 'failed', error: { code: 'SLUICE_E_PDF_INVALID', message: 'bad', retryable: false } }; };
  const r3 = await processWithRetries(item(1), invalid, all(5), 1);
  t.equal(r3.attempts, 1);
  t.equal(calls, 1, 'a permanent failure is not retried');

  calls = 0;
  const r4 = await processWithRetries(item(1), crashTwice, { max: 5, on: ['timeout'] }, 1);
  t.equal(r4.attempts, 1, 'a cause not listed in retries.on is not retried');
});
