// The progress timeline stays bounded however long the run: the older half is thinned.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Timeline, TIMELINE_MAX, readTimeline } from '../../lib/run/timeline.js';
import type { ProgressEvent } from '../../lib/core/events.js';
import { tmpDir } from '../helpers.js';

const sample = (done: number): ProgressEvent => ({ v: 1, type: 'progress', done, total: null, found: done, walking: true, ok: done, failed: 0, skipped: 0, in_flight: 0, rate: 1, eta_s: null, elapsed_s: done, rss_mb: 1 });

t.test('a timeline of 10,000 samples keeps at most TIMELINE_MAX, in order, the newest ones all there and the oldest thinned', async (t) => {
  const dir = tmpDir();
  const tl = new Timeline(dir, 'r1', new Date(0).toISOString());
  for (let i = 0; i < 10_000; i++) tl.add(sample(i), i * 100, 1000 + i);
  tl.end({ v: 1, type: 'summary', total: 10_000, ok: 10_000, failed: 0, skipped: 0, elapsed_s: 10, rate: 1, report: null, exit_code: 0 });
  t.equal(tl.problem, null);
  const lines = readTimeline(dir)!;
  const samples = lines.filter((l) => l.type === 'progress') as (ProgressEvent & { t: number })[];
  t.match(lines[0], { type: 'timeline', run: 'r1' }, 'the head stays first');
  t.ok(samples.length <= TIMELINE_MAX, `${samples.length} samples kept`);
  t.ok(samples.length >= TIMELINE_MAX / 2, 'not thinned to nothing');
  t.ok(samples.every((s, i) => i === 0 || s.t > samples[i - 1]!.t), 'in order');
  t.equal(samples.at(-1)!.done, 9999, 'the newest sample is there');
  t.equal(samples[0]!.done, 0, 'the first sample is kept (the older half keeps every other one)');
  t.match(lines.at(-1), { type: 'summary' }, 'the summary last');
  t.ok(fs.statSync(path.join(dir, 'progress.ndjson')).size < 2 * TIMELINE_MAX * 300, 'the file is bounded too');
});

t.test('a timeline never writes through a link planted in the state dir; the run goes on without it', async (t) => {
  const dir = tmpDir();
  const target = path.join(tmpDir(), 'victim');
  fs.writeFileSync(target, 'keep');
  fs.symlinkSync(target, path.join(dir, 'progress.ndjson'));
  const tl = new Timeline(dir, 'r1', new Date(0).toISOString());
  tl.add(sample(1), 0);
  t.equal(fs.readFileSync(target, 'utf8'), 'keep', "the link's target is untouched");
  t.ok(tl.problem === null || /progress timeline/.test(tl.problem), String(tl.problem));
});
