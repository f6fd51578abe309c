// Following a run from another process: the run's progress timeline in its state dir, and
// `sluice status --follow` reading it until the run ends, whatever the run's own stdout is.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURES, makeTree, ofType, sluice, sluiceChild, tmpDir } from '../helpers.js';

const slow = path.join(FIXTURES, 'processors/slow.mjs');

/** Wait until the run has written its timeline (a bound, not a timing: the test fails past it). */
async function timelineOf(dir: string): Promise<void> {
  for (let i = 0; i < 200 && !fs.existsSync(path.join(dir, 'st', 'progress.ndjson')); i++) await sleep(50);
}

t.test('status --follow --json prints the running run\'s progress as it advances, then its summary, and exits when the run ends', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 40, 40);
  // the run's stdout is a pipe only the test reads
  const run = sluiceChild(t, ['run', '--input', 'in', '--processor', slow, '-O', 'ms=100', '-j', '1', '--state', 'st', '--progress', 'none', '--progress-interval', '200ms'], { cwd: dir });
  await timelineOf(dir);
  const followed = sluice(['status', '--follow', '--json', '--state', 'st'], { cwd: dir, t, deadlineMs: 60_000 });
  const ran = await run.done;
  const ranAt = Date.now();
  const f = await followed;
  t.equal(ran.code, 0, ran.stderr);
  t.equal(f.code, 0, f.stderr);
  t.ok(Date.now() - ranAt < 5000, 'the follower ended with the run (it reads the state dir twice a second)');
  const progress = ofType(f.lines, 'progress');
  t.ok(progress.length >= 3, `progress lines: ${progress.length}`);
  t.ok(progress.at(-1)!.done > progress[0]!.done, `it saw the run advance: done ${progress[0]!.done} -> ${progress.at(-1)!.done}`);
  t.ok(progress.every((p, i) => i === 0 || p.t > progress[i - 1]!.t), 'each sample once, in order');
  t.match(f.lines.at(-1), { type: 'summary', ok: 40, exit_code: 0 }, 'the run\'s own summary last');
});

t.test('status --follow of a run killed with SIGKILL says it stopped without a summary and exits 1', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 100, 100);
  const run = sluiceChild(t, ['run', '--input', 'in', '--processor', slow, '-O', 'ms=100', '-j', '1', '--state', 'st', '--progress', 'none', '--progress-interval', '200ms'], { cwd: dir });
  await timelineOf(dir);
  const followed = sluice(['status', '--follow', '--state', 'st'], { cwd: dir, t, deadlineMs: 60_000 });
  await sleep(800);
  run.proc.kill('SIGKILL');
  await run.done;
  const f = await followed;
  t.equal(f.code, 1, f.stderr);
  t.match(f.stdout, /^following run \S+ \(pid \d+/, 'a human header');
  t.match(f.stdout, /done \d+\/100 \(\d+%\): \d+ ok, 0 failed/, 'human progress lines');
  t.match(f.stdout, /stopped without a summary \(killed\?\)/);
});

t.test('a failing item shows up in the follower\'s lines with its path and code', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 30, 30);
  fs.writeFileSync(path.join(dir, 'in', 'zz-bad.txt'), 'x');
  // slow items, and one that throws (sorted last in the walk: the follower is on by then)
  fs.writeFileSync(path.join(dir, 'proc.mjs'), 'export default async (item) => { await new Promise((r) => setTimeout(r, 100)); if (item.path.includes("zz-bad")) throw new Error("bad on purpose"); return {}; };\n');
  const run = sluiceChild(t, ['run', '--input', 'in', '--processor', './proc.mjs', '-j', '1', '--state', 'st', '--progress', 'none'], { cwd: dir });
  await timelineOf(dir);
  const f = await sluice(['status', '--follow', '--state', 'st'], { cwd: dir, t, deadlineMs: 60_000 });
  const ran = await run.done;
  t.equal(ran.code, 1, 'the run: one failed item');
  t.equal(f.code, 0, f.stderr);
  t.match(f.stdout, /failed \S*zz-bad\.txt: SLUICE_E_PROCESSOR (Error: )?bad on purpose/, 'the failure, as it was journaled');
  t.match(f.stdout, /ended: 30 ok, 1 failed, 0 skipped .* exit 1/);
});
