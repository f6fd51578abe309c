// Fault isolation as a user meets it: memory bombs, poison items, too many failures.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, FIXTURES, NO_DAC_OVERRIDE, exitWithin, ofType, readJournal, sluice, tmpDir, track, node } from '../helpers.js';

const byName = (lines: Record<string, any>[]) => Object.fromEntries(ofType(lines, 'result').map((r) => [path.basename(r.path), r]));

t.test('a decompression bomb PDF read by pdfjs (whose memory no heap limit holds): its worker is stopped by the RSS watchdog, quarantined after 2 kills, the run goes on', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (const f of ['bomb.pdf', 'good.pdf']) fs.copyFileSync(path.join(FIXTURES, 'pdf', f), path.join(dir, 'in', f));
  fs.writeFileSync(path.join(dir, 'p.yaml'), [
    'version: 1', 'name: bomb', 'source: { walk: { roots: [in] } }', 'stages:', '  - dedupe: {}',
    '  - map: { processor: pdf-text, concurrency: 2, timeout: 120s, max_rss_mb: 800, retries: { max: 3 }, quarantine_after: 2, options: { engine: pdfjs } }', '',
  ].join('\n'));
  const r = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  const by = byName(r.lines);
  t.equal(by['good.pdf'].status, 'ok');
  t.match(by['bomb.pdf'], { status: 'failed', attempts: 2, error: { code: 'SLUICE_E_QUARANTINED', message: /killed its worker 2 time\(s\), last: SLUICE_E_WORKER_OOM: process RSS \d+ MB passed max_rss_mb 800 MB/ } });
  const report = JSON.parse(fs.readFileSync(path.join(dir, '.sluice/bomb/report.json'), 'utf8'));
  t.ok(report.peak_rss_mb < 1800, `peak RSS ${report.peak_rss_mb} MB, where the PDF would take over 2 GB`);
  const again = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.same(ofType(again.lines, 'result'), [], 'a quarantined item is not tried again');
  t.equal(again.code, 1, 'and the job still has a failed item: exit 1');
});

t.test('a processor that kills its worker every time is quarantined; retries stop there', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (const f of ['crash-1.txt', 'ok-1.txt', 'ok-2.txt']) fs.writeFileSync(path.join(dir, 'in', f), f);
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/exit.mjs'), '--state', 'st', '--progress', 'none',
    '--set', 'stages[1].map.retries.max=5'], { cwd: dir });
  t.equal(r.code, 1);
  const by = byName(r.lines);
  t.match(by['crash-1.txt'], { status: 'failed', attempts: 2, error: { code: 'SLUICE_E_QUARANTINED' } });
  t.equal(by['ok-1.txt'].status, 'ok');
  t.equal(by['ok-2.txt'].status, 'ok');
  const retry = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/exit.mjs'), '--state', 'st', '--progress', 'none', '--retry-failed'], { cwd: dir });
  t.same(ofType(retry.lines, 'result').map((x) => path.basename(x.path)), ['crash-1.txt'], '--retry-failed tries it again');
});

t.test('--max-failures N stops the run after N failures, exit 1, and says why', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, 'in', `bad-${String(i).padStart(2, '0')}.txt`), 'x');
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/throws.mjs'), '--state', 'st', '--progress', 'none', '-j', '1', '--max-failures', '3'], { cwd: dir });
  t.equal(r.code, 1);
  const summary = r.lines.at(-1)!;
  t.match(summary, { type: 'summary', stopped: '--max-failures 3 reached', exit_code: 1 });
  t.ok(summary.failed >= 3 && summary.failed < 40, `stopped early (${summary.failed} failed)`);
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'st/report.json'), 'utf8'));
  t.equal(report.stopped, '--max-failures 3 reached');
  t.equal(readJournal(path.join(dir, 'st')).length, summary.failed, 'every reported failure is recorded');
  const bad = await sluice(['run', '--input', 'in', '--processor', 'noop', '--max-failures', '0'], { cwd: dir });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--max-failures: expected a whole number >= 1, got 0/);
});

t.test('--max-failures N with fast items in batches records exactly N failures and starts nothing after', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(dir, 'in', `bad-${String(i).padStart(3, '0')}.txt`), 'x');
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/throws.mjs'), '--state', 'st', '--progress', 'none', '-j', '2', '--max-failures', '50'], { cwd: dir });
  t.equal(r.code, 1);
  t.match(r.lines.at(-1), { type: 'summary', failed: 50, stopped: '--max-failures 50 reached' });
  t.equal(ofType(r.lines, 'result').length, 50, 'fifty result lines');
  t.equal(readJournal(path.join(dir, 'st')).length, 50, 'fifty failures recorded');
});

t.test('a timed-out item reports the time since it started, not its wait in the queue', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, 'in', `hang-${i}.txt`), 'x');
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/hang.mjs'), '--state', 'st', '--progress', 'none', '-j', '1', '--timeout', '1s'], { cwd: dir });
  const results = ofType(r.lines, 'result');
  t.equal(results.length, 4);
  for (const x of results) {
    t.equal(x.error.code, 'SLUICE_E_TIMEOUT');
    // one worker: the fourth item waited three timeouts in the queue; its own time is at most one
    // timeout plus the sweep's step (0 if it never started: a worker not replaced in time)
    t.ok(x.ms < 1900, `${path.basename(x.path)}: ms ${x.ms} is not its wait in the queue`);
  }
  t.ok(results.some((x) => x.ms >= 1000), 'an item that ran is charged its timeout');
});

t.test('SIGINT with items that outlast the grace period: they are stopped, not recorded, and run next time', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
  const args = ['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/slow.mjs'), '--state', 'st', '-j', '2', '--grace', '500ms'];
  const child = track(spawn(...node([BIN, ...args, '--progress', 'ndjson', '--progress-interval', '100ms', '--set', 'stages[1].map.options.ms=60000']), { cwd: dir }));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  // once a progress line shows both workers on an item (items not started yet would just be dropped)
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => {
    out += d;
    if (/"in_flight":2/.test(out)) resolve();
  }));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('close', r));
  t.equal(code, 130);
  t.match(err, /grace period over: stopping 2 item\(s\) still running; the next run does them/);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  t.same(ofType(lines, 'result'), [], 'no result for the stopped items');
  t.match(lines.at(-1), { type: 'summary', stopped: 'SIGINT', exit_code: 130 });
  t.same(readJournal(path.join(dir, 'st')), [], 'nothing recorded');
  t.equal(JSON.parse(fs.readFileSync(path.join(dir, 'st/report.json'), 'utf8')).interrupted, true);
  const next = await sluice([...args, '--progress', 'none', '--set', 'stages[1].map.options.ms=1'], { cwd: dir });
  t.equal(next.code, 0);
  t.equal(ofType(next.lines, 'result').length, 4, 'the next run does all four');
});

t.test('a file deleted between walk and processing fails with SLUICE_E_VANISHED; the run goes on', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  // a-first is the smallest: with -j 1 the pool starts with the smallest item (then largest first)
  for (const f of ['a-first.txt', 'b.txt', 'c.txt']) fs.writeFileSync(path.join(dir, 'in', f), f === 'a-first.txt' ? 'a' : f.repeat(10));
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/deleter.mjs'), '--state', 'st', '--progress', 'none', '-j', '1'], { cwd: dir });
  t.equal(r.code, 1);
  const by = byName(r.lines);
  t.equal(by['a-first.txt'].status, 'ok');
  t.match(by['b.txt'], { status: 'failed', error: { code: 'SLUICE_E_VANISHED', message: /ENOENT.*b\.txt/ } });
  t.match(by['c.txt'], { status: 'failed', error: { code: 'SLUICE_E_VANISHED' } });
});

t.test('a tree 1,000 levels deep is walked without a stack overflow', async (t) => {
  const dir = tmpDir();
  let deep = path.join(dir, 'in');
  for (let i = 0; i < 1000; i++) deep = path.join(deep, 'd');
  fs.mkdirSync(deep, { recursive: true });
  fs.writeFileSync(path.join(deep, 'bottom.txt'), 'x');
  fs.writeFileSync(path.join(dir, 'in', 'top.txt'), 'y');
  const r = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const results = ofType(r.lines, 'result');
  t.equal(results.length, 2);
  t.ok(results.some((x) => x.path.endsWith('/d/bottom.txt') && x.path.split('/').length === 1002));
});

t.test('an unreadable file fails with SLUICE_E_IO (not retried); an unreadable directory is a warning; the walk goes on', async (t) => {
  // root reads everything: NO_DAC_OVERRIDE makes mode 000 mean no access
  const asUser = NO_DAC_OVERRIDE;
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in/locked'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'in/open.txt'), 'o');
  fs.writeFileSync(path.join(dir, 'in/secret.txt'), 's');
  fs.writeFileSync(path.join(dir, 'in/locked/hidden.txt'), 'h');
  fs.chmodSync(path.join(dir, 'in/secret.txt'), 0o000);
  fs.chmodSync(path.join(dir, 'in/locked'), 0o000);
  fs.chmodSync(path.join(dir, 'in'), 0o755);
  t.teardown(() => fs.chmodSync(path.join(dir, 'in/locked'), 0o755));
  const cmd = [...asUser, process.execPath, BIN, 'run', '--input', 'in', '--processor', 'sha256', '--state', path.join(dir, 'st'), '--progress', 'none', '--set', 'stages[1].map.retries.max=2'];
  const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    // without tap's coverage hooks: this process does not need to report to tap
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^NODE_OPTIONS$|TAP/i.test(k)));
    const c = track(spawn(cmd[0]!, cmd.slice(1), { cwd: dir, env }));
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, out, err }));
  });
  t.equal(r.code, 1, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  const by = byName(lines);
  t.equal(by['open.txt'].status, 'ok');
  t.match(by['secret.txt'], { status: 'failed', attempts: 1, error: { code: 'SLUICE_E_IO', retryable: false, message: /EACCES/ } });
  t.match(ofType(lines, 'warning'), [{ code: 'EACCES', path: 'in/locked' }]);
});

for (const engine of ['pdfium', 'pdfjs']) t.test(`PDFs whose xref or page tree loops back on itself: one result each, no hang (engine ${engine})`, async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (const f of ['xref-loop.pdf', 'pages-loop.pdf']) fs.copyFileSync(path.join(FIXTURES, 'pdf', f), path.join(dir, 'in', f));
  // if the engine ever looped on them, the 20 s item timeout would end it with SLUICE_E_TIMEOUT
  const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '-O', `engine=${engine}`, '--state', 'st', '--progress', 'none', '--timeout', '20s'], { cwd: dir });
  const by = byName(r.lines);
  t.same(Object.keys(by).sort(), ['pages-loop.pdf', 'xref-loop.pdf']);
  t.match(by['xref-loop.pdf'], { status: 'ok', output: { pages: 2, text: /Hello fixture page one/ } }, 'the looping /Prev is ignored');
  t.not(by['pages-loop.pdf'].error?.code, 'SLUICE_E_TIMEOUT', 'the self-listing page tree does not hang the parser');
  t.ok(r.code === 0 || r.code === 1);
});

t.test('a second SIGINT quits at once; the journal stays valid', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(dir, 'in', `f${String(i).padStart(2, '0')}.txt`), String(i));
  // items of 1.5 s: after the first SIGINT the run waits for the two in flight, so the second
  // one, sent as soon as the first is acknowledged on stderr, lands while it waits
  const child = track(spawn(...node([BIN, 'run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/slow.mjs'), '--state', 'st', '--progress', 'none', '-j', '2',
    '--set', 'stages[1].map.options.ms=1500']), { cwd: dir }));
  const exited = exitWithin(child, 120_000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', () => out.includes('"result"') && resolve());
    child.on('exit', () => resolve());
  });
  child.kill('SIGINT');
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d) => (err += d, /finishing items in flight/.test(err) && resolve()));
    child.on('exit', () => resolve());
  });
  child.kill('SIGINT');
  // the second signal ends the process by that signal (a shell shows 130), not through process.exit
  t.equal(await exited, 130, 'ended by SIGINT');
  t.notMatch(out, /"type":"summary"/, 'no orderly ending: it quit');
  const status = await sluice(['status', '--state', 'st', '--json'], { cwd: dir });
  t.equal(status.code, 0, status.stderr);
  const rest = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/slow.mjs'), '--state', 'st', '--progress', 'none', '--set', 'stages[1].map.options.ms=1'], { cwd: dir });
  t.equal(rest.code, 0, rest.stderr);
  t.equal(new Set(readJournal(path.join(dir, 'st')).map((e) => e.key)).size, 30, 'every item done once the next run ends');
});
