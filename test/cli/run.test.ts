import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { BIN, FIXTURES, ROOT, SAMPLES, makeTree, ofType, readJournal, sluice, tmpDir, track, node } from '../helpers.js';

const slow = path.join(FIXTURES, 'processors/slow.mjs');

function checkLines(t: { fail(msg: string): unknown; pass(msg: string): unknown }, lines: Record<string, any>[]) {
  const bad = lines.filter((l) => l.v !== 1 || typeof l.type !== 'string');
  if (bad.length) t.fail(`lines without v:1 and a type: ${JSON.stringify(bad[0])}`);
  else t.pass(`all ${lines.length} lines are JSON with v:1 and a type`);
}

/** A copy of pipelines/ with its samples in a temp dir, so runs don't touch the repo or each other. */
function samplesCopy(): { dir: string; pipeline: string; pdfs: string[] } {
  const dir = tmpDir();
  fs.cpSync(path.join(ROOT, 'pipelines/pdf-text.yaml'), path.join(dir, 'pdf-text.yaml'));
  fs.cpSync(SAMPLES, path.join(dir, 'samples'), { recursive: true, preserveTimestamps: true });
  const pdfs = fs.readdirSync(path.join(dir, 'samples'), { recursive: true }).map(String).filter((f) => f.endsWith('.pdf')).sort();
  return { dir, pipeline: path.join(dir, 'pdf-text.yaml'), pdfs };
}

t.test('pdf-text over the samples: one result each, text files written; a second run skips all', async (t) => {
  const { dir, pipeline, pdfs } = samplesCopy();
  t.ok(pdfs.length >= 12, `${pdfs.length} sample PDFs`);
  const r = await sluice(['run', pipeline], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '', 'nothing on stderr');
  checkLines(t, r.lines);
  t.equal(r.lines[0]!.type, 'start');
  t.equal(r.lines.at(-1)!.type, 'summary');
  const results = ofType(r.lines, 'result');
  t.same(results.map((x) => x.path).sort(), pdfs.map((p) => `samples/${p}`), 'exactly one result per sample');
  t.ok(results.every((x) => x.status === 'ok' && x.attempts === 1 && typeof x.key === 'string'), 'all ok');
  for (const x of results) {
    t.ok(fs.existsSync(path.join(dir, x.output.text_path)), `text written for ${x.path}`);
    t.equal(fs.readFileSync(path.join(dir, x.output.text_path), 'utf8').length, x.output.chars);
  }
  const scanned = results.filter((x) => x.output.chars === 0 || x.output.pages_without_text);
  t.ok(scanned.length >= 1, 'the scanned-like sample has a page with no text layer');
  const lastProgress = ofType(r.lines, 'progress').at(-1)!;
  t.match(lastProgress, { done: pdfs.length, total: pdfs.length, walking: false, ok: pdfs.length, failed: 0, in_flight: 0, eta_s: 0 });
  const summary = r.lines.at(-1)!;
  t.match(summary, { total: pdfs.length, ok: pdfs.length, failed: 0, skipped: 0, exit_code: 0, report: 'out/report.json' });
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'out/report.json'), 'utf8'));
  t.match(report, { total: pdfs.length, ok: pdfs.length, failed: 0, success_rate: 1, interrupted: false });
  t.ok(report.peak_rss_mb > 0 && report.items_per_s > 0);
  t.ok(fs.existsSync(path.join(dir, 'out/report.md')), 'markdown report on request');

  const again = await sluice(['run', pipeline], { cwd: dir });
  t.equal(again.code, 0);
  t.equal(ofType(again.lines, 'result').length, 0, 'no item runs twice');
  t.match(again.lines.at(-1), { type: 'summary', skipped: pdfs.length, ok: 0, failed: 0, exit_code: 0 });
  t.equal(again.lines[0]!.already_done, pdfs.length);
});

t.test('bad PDFs fail with distinct codes, the run goes on, exit 1', async (t) => {
  const dir = tmpDir();
  for (const f of ['good.pdf', 'encrypted.pdf', 'truncated.pdf', 'random-bytes.pdf', 'html.pdf', 'empty.pdf']) {
    fs.copyFileSync(path.join(FIXTURES, 'pdf', f), path.join(dir, f));
  }
  const r = await sluice(['run', '--input', dir, '--processor', 'pdf-text', '--state', path.join(dir, '.state'), '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  checkLines(t, r.lines);
  const by = Object.fromEntries(ofType(r.lines, 'result').map((x) => [path.basename(x.path), x]));
  t.equal(Object.keys(by).length, 6);
  t.equal(by['good.pdf'].status, 'ok');
  t.match(by['good.pdf'].output.text, /Hello fixture page one[\s\S]*\f[\s\S]*Second page text/);
  t.equal(by['encrypted.pdf'].error.code, 'SLUICE_E_PDF_ENCRYPTED');
  t.equal(by['empty.pdf'].error.code, 'SLUICE_E_PDF_EMPTY');
  t.equal(by['random-bytes.pdf'].error.code, 'SLUICE_E_PDF_INVALID');
  t.equal(by['html.pdf'].error.code, 'SLUICE_E_PDF_INVALID');
  t.match(by['html.pdf'].error.message, /looks like HTML/);
  t.match(by['truncated.pdf'].status, 'failed');
  t.equal(by['truncated.pdf'].error.code, 'SLUICE_E_PDF_INVALID');
  for (const x of Object.values(by)) if (x.status === 'failed') t.equal(x.error.retryable, false, `${x.path} not retryable`);
  t.equal(ofType(r.lines, 'progress').length, 0, '--progress none: results only');
  const report = JSON.parse(fs.readFileSync(path.join(dir, '.state/report.json'), 'utf8'));
  t.equal(report.failed, 5);
  t.ok(report.failures.find((g: any) => g.code === 'SLUICE_E_PDF_INVALID' && g.count === 3 && g.examples.length === 3));
  t.match(r.lines.at(-1), { type: 'summary', exit_code: 1, failed: 5, ok: 1 });
  const again = await sluice(['run', '--input', dir, '--processor', 'pdf-text', '--state', path.join(dir, '.state')], { cwd: dir });
  t.same(ofType(again.lines, 'result'), [], 'a rerun skips the failures too (use --retry-failed to redo them)');
  t.equal(again.code, 1, 'and exits 1: the job still holds 5 failed items');
  t.match(again.lines.at(-1), { type: 'summary', failed: 0, carried_failed: 5 });
  const retry = await sluice(['run', '--input', dir, '--processor', 'pdf-text', '--state', path.join(dir, '.state'), '--retry-failed'], { cwd: dir });
  t.equal(ofType(retry.lines, 'result').length, 5, '--retry-failed redoes only the 5 failures');
  t.equal(retry.code, 1);
});

t.test('a broken pipeline file exits 2 naming the key; nothing on stdout', async (t) => {
  const dir = tmpDir();
  const f = path.join(dir, 'broken.yaml');
  fs.writeFileSync(f, fs.readFileSync(path.join(ROOT, 'pipelines/pdf-text.yaml'), 'utf8').replace('timeout: 60s', 'timeout: fast'));
  for (const cmd of [['run', f], ['validate', f]]) {
    const r = await sluice(cmd, { cwd: dir });
    t.equal(r.code, 2, cmd[0]);
    t.equal(r.stdout, '');
    t.match(r.stderr, /stages\[1\]\.map\.timeout: expected a duration like "30s", "500ms", "2m" or a number of seconds, got "fast" \(line \d+\)/);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const ok = await sluice(['validate', path.join(ROOT, 'pipelines/pdf-text.yaml')]);
  t.equal(ok.code, 0);
  t.match(ok.stdout, /valid pipeline "pdf-text"/);
});

t.test('usage errors exit 2 with a hint', async (t) => {
  const dir = tmpDir();
  for (const args of [['run', '--bogus'], ['run', '--input', dir, '--processor', 'noop', '-j', '0'], ['run', '--input', dir, '--processor', 'noop', '--progress', 'loud'],
    ['run', '--input', path.join(dir, 'missing'), '--processor', 'noop'], ['run'], ['run', '--input', dir, '--processor', 'ocr'], ['run', '--input', dir, '--processor', 'noop', '--timeout', 'soon'],
    ['run', '--input', dir, '--processor', 'noop', '--fresh', '--retry-failed'], ['frobnicate'], []]) {
    const r = await sluice(args, { cwd: dir });
    t.equal(r.code, 2, `${args.join(' ')} -> 2 (${r.stderr.split('\n')[0]})`);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const help = await sluice(['run', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Examples:/);
  const v = await sluice(['--version']);
  t.equal(v.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
});

t.test('stop part way (--max-items), run again: every item recorded done exactly once', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 60, 25);
  const args = ['run', '--input', 'in', '--processor', slow, '--set', 'stages[1].map.options.ms=5', '-j', '2', '--state', 'st'];
  const first = await sluice([...args, '--max-items', '25'], { cwd: dir });
  t.equal(first.code, 0, first.stderr);
  t.equal(ofType(first.lines, 'result').length, 25);
  t.match(first.lines.at(-1), { stopped: '--max-items 25 reached', total: null });
  t.equal(readJournal(path.join(dir, 'st')).length, 25);
  const second = await sluice(args, { cwd: dir });
  t.equal(second.code, 0);
  t.equal(ofType(second.lines, 'result').length, 35, 'only the rest runs');
  t.match(second.lines.at(-1), { skipped: 25, ok: 35, total: 60 });
  const journal = readJournal(path.join(dir, 'st'));
  const keys = journal.map((e) => e.key);
  t.equal(keys.length, 60);
  t.equal(new Set(keys).size, 60, 'no key recorded twice');
  t.same(new Set(journal.map((e) => e.path)).size, 60);
});

t.test('| head -1 ends the run quietly; the checkpoint stays consistent and the rest runs later', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 200, 50);
  const cmd = `"${process.execPath}" "${BIN}" run --input in --processor "${slow}" --set stages[1].map.options.ms=10 -j 2 --state st 2>err.txt | head -1; echo "\${PIPESTATUS[0]}" > status.txt`;
  const r = spawnSync('bash', ['-c', cmd], { cwd: dir, encoding: 'utf8' });
  t.equal(JSON.parse(r.stdout.trim()).type, 'start', 'head got the first line');
  t.equal(fs.readFileSync(path.join(dir, 'err.txt'), 'utf8'), '', 'nothing on stderr: no stack trace');
  t.equal(fs.readFileSync(path.join(dir, 'status.txt'), 'utf8').trim(), '141', 'exit code 141: stdout was closed');
  const journal = readJournal(path.join(dir, 'st'));
  t.ok(journal.length <= 4, `stopped at once: only items in flight finished (${journal.length} done)`);
  t.equal(new Set(journal.map((e) => e.key)).size, journal.length);
  t.notOk(fs.existsSync(path.join(dir, 'st/lock')), 'lock released');
  const rest = await sluice(['run', '--input', 'in', '--processor', slow, '--set', 'stages[1].map.options.ms=10', '--state', 'st'], { cwd: dir });
  t.equal(ofType(rest.lines, 'result').length, 200 - journal.length);
  t.equal(readJournal(path.join(dir, 'st')).length, 200, 'each item recorded exactly once across both runs');
});

t.test('SIGINT: in-flight items finish, checkpoint and report are saved, exit 130', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 300, 100);
  const child = track(spawn(...node([BIN, 'run', '--input', 'in', '--processor', slow, '--set', 'stages[1].map.options.ms=20', '-j', '2', '--state', 'st']), { cwd: dir }));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve) => child.stdout.on('data', (d) => {
    out += d;
    if (out.split('\n').filter((l) => l.includes('"result"')).length >= 5) resolve();
  }));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('close', r));
  t.equal(code, 130);
  t.match(err, /SIGINT: finishing items in flight/);
  const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const results = ofType(lines, 'result');
  t.match(lines.at(-1), { type: 'summary', stopped: 'SIGINT', exit_code: 130 });
  const journal = readJournal(path.join(dir, 'st'));
  t.equal(journal.length, results.length, 'every result shown is in the journal, and nothing else');
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'st/report.json'), 'utf8'));
  t.equal(report.interrupted, true);
});

t.test('a second run on a locked state dir exits 3 naming the holder', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 5, 5);
  const holder = track(spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']));
  t.teardown(() => holder.kill());
  fs.mkdirSync(path.join(dir, 'st'));
  fs.writeFileSync(path.join(dir, 'st/lock'), JSON.stringify({ pid: holder.pid, host: (await import('node:os')).hostname(), started: 'now' }));
  const r = await sluice(['run', '--input', 'in', '--processor', 'noop', '--state', 'st'], { cwd: dir });
  t.equal(r.code, 3);
  t.match(r.stderr, new RegExp(`locked by another run: pid ${holder.pid}`));
  t.equal(r.stdout, '');
});

t.test('processor noise never reaches stdout; odd file names survive as path_b64', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in/a.txt'), 'a');
  fs.writeFileSync(path.join(dir, 'in/new\nline.txt'), 'b');
  fs.writeFileSync(Buffer.concat([Buffer.from(path.join(dir, 'in/raw-')), Buffer.from([0xc3, 0x28]), Buffer.from('.txt')]), 'c');
  const r = await sluice(['run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/noisy.mjs'), '--state', 'st'], { cwd: dir });
  t.equal(r.code, 0);
  checkLines(t, r.lines); // every line parsed as JSON or sluice() would have thrown
  t.notMatch(r.stdout, /NOISE/);
  t.match(r.stderr, /NOISE/, 'it went to stderr instead');
  const results = ofType(r.lines, 'result');
  t.equal(results.length, 3);
  const raw = results.find((x) => x.path_b64);
  t.ok(raw && Buffer.from(raw.path_b64, 'base64').includes(Buffer.from([0xc3, 0x28])));
  t.ok(results.find((x) => x.path === 'in/new\nline.txt'));
});

t.test('--fresh starts over and keeps the old journal', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 10, 10);
  const args = ['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'];
  await sluice(args, { cwd: dir });
  const r = await sluice([...args, '--fresh'], { cwd: dir });
  t.equal(ofType(r.lines, 'result').length, 10);
  t.match(r.stderr, /previous journal kept as/);
  t.equal(fs.readdirSync(path.join(dir, 'st')).filter((f) => f.endsWith('.bak.ndjson')).length, 1);
  t.equal(readJournal(path.join(dir, 'st')).length, 10);
});

t.test('node flags a worker may not take (V8 heap sizes, --stack-trace-limit) are left to the process, not refused', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 20);
  const r = spawnSync(process.execPath, ['--max-old-space-size=2048', '--stack-trace-limit=20', '--max-semi-space-size=8', BIN, 'run', '--input', 'in', '--processor', 'noop', '--state', 'st', '--progress', 'none', '-j', '2'], { cwd: dir, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.notMatch(r.stderr, /ERR_WORKER_INVALID_EXEC_ARGV|internal error/);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  t.equal(ofType(lines, 'result').length, 20, 'every item ran in the workers');
  t.match(lines.at(-1), { type: 'summary', ok: 20 });
});
