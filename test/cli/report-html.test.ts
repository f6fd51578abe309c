// sluice report: the report rebuilt from the state dir (journal + progress timeline), for a run
// killed with SIGKILL too; the HTML is self-contained and file names and messages are data.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readJournal, sluice, sluiceChild } from '../helpers.js';
import { readTimeline, samplesOf } from '../../lib/run/timeline.js';
import { HOSTILE_MESSAGE, HOSTILE_NAME, job, ranJob } from './report-job.js';

t.test('the HTML report of a run killed with SIGKILL: built from the state dir, counts as the journal has them, no script, no request, names and messages as text', async (t) => {
  const dir = job();
  const run = sluiceChild(t, ['run', '--input', 'in', '--processor', './proc.mjs', '-j', '1', '--state', 'st', '--progress', 'none', '--progress-interval', '200ms', '--include', '**/*'], { cwd: dir });
  // until the two bad ones are recorded, with a few others, and the timeline holds two samples with
  // items done (the run takes ~3 s; the bound is not a timing: a loaded machine may take longer)
  const recorded = () => (fs.existsSync(path.join(dir, 'st', 'journal.ndjson')) ? readJournal(path.join(dir, 'st')) : []);
  const sampled = () => samplesOf(readTimeline(path.join(dir, 'st')) ?? []).length;
  for (let i = 0; i < 400; i++) {
    const j = recorded();
    if (j.filter((e) => e.status === 'failed').length === 2 && j.length >= 5 && sampled() >= 2) break;
    await sleep(25);
  }
  run.proc.kill('SIGKILL');
  await run.done;
  const journal = readJournal(path.join(dir, 'st'));
  const ok = journal.filter((e) => e.status === 'ok').length;
  const failed = journal.filter((e) => e.status === 'failed').length;
  t.ok(ok >= 1 && failed === 2, `recorded before the kill: ${ok} ok, ${failed} failed`);

  const r = await sluice(['report', '--state', 'st', '-o', 'report.html'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  t.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">/, 'a policy that allows no request');
  t.notMatch(html, /<script/i, 'no script element at all');
  t.notMatch(html, /<[^>]*\s(src|href|action|srcset)\s*=/i, 'no element with an attribute that loads anything');
  t.notMatch(html, /https?:\/\//, 'no URL');
  t.equal(Number(/data-total="ok">ok<b>(\d+)<\/b>/.exec(html)?.[1]), ok, 'ok as the journal has it');
  t.equal(Number(/data-total="failed">failed<b>(\d+)<\/b>/.exec(html)?.[1]), failed, 'failed as the journal has it');
  t.match(html, /<tr class="failure" data-code="SLUICE_E_PROCESSOR" data-count="2">/, 'the failures by code, with their count');
  t.match(html, /the processor threw an error for this item/, 'and the meaning from the error-code table');
  t.match(html, /no summary: it is still running, or it was killed/, 'it says the run did not end');
  t.match(html, /Command: <code id="command">sluice run --input in --processor \.\/proc\.mjs -j 1 --state st /, 'the command of the killed run, from its timeline');
  t.match(html, /class="series" data-series="items\/s" data-points="\d+"/, 'throughput over time from the timeline');
  t.ok(html.includes(HOSTILE_NAME.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')), 'the hostile name as text');
  t.notOk(html.includes(HOSTILE_NAME), 'never as markup');
  t.ok(html.includes('&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt; &amp; &quot;quotes&quot;'), 'the hostile message as text');
});

t.test('sluice report --format json and md, to stdout', async (t) => {
  const { dir, run: done } = await ranJob();
  t.equal(done.code, 1, done.stderr);
  const json = await sluice(['report', '--state', 'st', '--format', 'json'], { cwd: dir });
  t.equal(json.code, 0, json.stderr);
  const rep = JSON.parse(json.stdout);
  t.match(rep, { ok: 60, failed: 2, ended_cleanly: true, exit_code: 1 });
  t.equal(rep.durations.reduce((a: number, b: number) => a + b, 0), 62, 'every item in the duration histogram');
  const md = await sluice(['report', '--state', 'st', '--format', 'md'], { cwd: dir });
  t.match(md.stdout, /^# sluice report: /);
  t.match(md.stdout, /### SLUICE_E_PROCESSOR \(2\)/);
});
