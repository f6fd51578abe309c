// An input that is no longer what the walk saw, and a read that never returns, as a user meets them.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, FIXTURES, SAMPLES, ofType, readJournal, sluice, tmpDir, node } from '../helpers.js';

const SWAP = path.join(FIXTURES, 'processors/swap-in.mjs');

/** Run sluice, killed (SIGKILL) if it has not ended after `boundMs`: a bound the test waits for, not a speed. */
function bounded(args: string[], cwd: string, boundMs: number) {
  return new Promise<{ code: number | null; ended: boolean; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(...node([BIN, ...args]), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let ended = true;
    const timer = setTimeout(() => { ended = false; child.kill('SIGKILL'); }, boundMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, ended, stdout, stderr }); });
  });
}

const lines = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
const byName = (ls: Record<string, any>[]) => Object.fromEntries(ofType(ls, 'result').map((r) => [path.basename(r.path), r]));

for (const then of ['sha256', 'pdf-text', 'pdf-info']) {
  t.test(`${then}: a FIFO swapped in after the walk fails its item with SLUICE_E_NOT_REGULAR and the run ends within its timeouts`, async (t) => {
    const dir = tmpDir();
    fs.mkdirSync(path.join(dir, 'in'));
    for (const f of ['a.pdf', 'swap-b.pdf', 'c.pdf']) fs.copyFileSync(path.join(SAMPLES, 'press-release.pdf'), path.join(dir, 'in', f));
    // without the fix the read holds a thread of the pool for good: the item times out, and the run never exits
    const r = await bounded(['run', '--input', 'in', '--processor', SWAP, '--set', `stages[1].map.options={"then":"${then}","swap":"fifo"}`,
      '--state', 'st', '--progress', 'none', '-j', '1', '--timeout', '30s'], dir, 150_000);
    t.ok(r.ended, `the run ended (stderr: ${r.stderr.slice(0, 300)})`);
    t.equal(r.code, 1);
    const by = byName(lines(r.stdout));
    t.match(by['swap-b.pdf'], { status: 'failed', error: { code: 'SLUICE_E_NOT_REGULAR', message: 'in/swap-b.pdf is a FIFO now, not a regular file: not read' } });
    t.equal(by['a.pdf']?.status, 'ok', JSON.stringify(by['a.pdf']?.error));
    t.equal(by['c.pdf']?.status, 'ok', JSON.stringify(by['c.pdf']?.error));
    t.match(readJournal(path.join(dir, 'st')).find((e) => e.path === 'in/swap-b.pdf'), { status: 'failed', error: { code: 'SLUICE_E_NOT_REGULAR' } });
  });
}

t.test('a symlink swapped in after the walk is not followed: the file it points at is not read', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'the secret');
  for (const f of ['a.txt', 'swap-b.txt']) fs.writeFileSync(path.join(dir, 'in', f), f);
  const r = await sluice(['run', '--input', 'in', '--processor', SWAP, '--set', `stages[1].map.options={"then":"sha256","swap":${JSON.stringify(path.join(dir, 'secret.txt'))}}`,
    '--state', 'st', '--progress', 'none', '-j', '1'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  const by = byName(r.lines);
  t.match(by['swap-b.txt'], { status: 'failed', error: { code: 'SLUICE_E_NOT_REGULAR', message: /symbolic link/ } });
  t.equal(by['a.txt'].status, 'ok');
});

t.test('a link the user named, or asked the walk to follow, is still read', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'target.txt'), 'abc');
  fs.symlinkSync(path.join(dir, 'target.txt'), path.join(dir, 'in', 'link.txt'));
  const named = await sluice(['run', '--input', 'in/link.txt', '--processor', 'sha256', '--state', 'st1', '--progress', 'none'], { cwd: dir });
  t.equal(named.code, 0, named.stderr);
  t.match(ofType(named.lines, 'result')[0], { status: 'ok', output: { bytes: 3 } });
  fs.writeFileSync(path.join(dir, 'p.yaml'), ['version: 1', 'name: links', 'source: { walk: { roots: [in], follow_symlinks: true } }',
    'stages:', '  - dedupe: {}', '  - map: { processor: sha256 }', ''].join('\n'));
  const walked = await sluice(['run', 'p.yaml', '--progress', 'none'], { cwd: dir });
  t.equal(walked.code, 0, walked.stderr);
  t.match(ofType(walked.lines, 'result')[0], { status: 'ok', output: { bytes: 3 } });
});

t.test('two SIGINTs exit at once even with a worker stuck in a read that never returns', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (const f of ['a-stuck.txt', 'b.txt']) fs.writeFileSync(path.join(dir, 'in', f), f);
  const child: ChildProcess = spawn(...node([BIN, 'run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/stuck-read.mjs'),
    '--state', 'st', '--progress', 'none', '-j', '1', '--grace', '60s']), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let err = '';
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const seen = (re: RegExp) => new Promise<void>((resolve) => {
    const check = () => { if (re.test(err)) resolve(); };
    child.stderr!.on('data', (d) => { err += d; check(); });
    check();
  });
  child.stdout!.resume();
  await seen(/stuck-read: blocked/);
  child.kill('SIGINT');
  await seen(/SIGINT: finishing items in flight/);
  child.kill('SIGINT');
  // the bound this test waits for: without the fix, exit waits for the stuck thread for ever
  const bound = new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000).unref());
  const end = await Promise.race([closed, bound]);
  t.not(end, 'still running', 'the process ended after the second SIGINT');
  if (end !== 'still running') t.ok(end.signal === 'SIGINT' || end.code === 130, `ended by SIGINT (code ${end.code}, signal ${end.signal})`);
  const status = await sluice(['status', '--state', 'st', '--json'], { cwd: dir });
  t.equal(status.code, 0, 'the checkpoint is still readable');
});
