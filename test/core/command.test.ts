// One command per item (lib/core/command.ts), both ways it can start one: posix_spawn, waited for
// in the calling thread (the default on Linux), and child_process (elsewhere, or when the item's
// signal has no known deadline). Every case runs both ways and must give the same outcome.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { runCommand } from '../../lib/core/command.js';
import { fastSpawn } from '../../lib/core/posix-spawn.js';
import { ItemTimeout } from '../../lib/core/processor.js';
import { ItemDeadline } from '../../lib/worker/deadline.js';
import { tmpDir } from '../helpers.js';
import { alive, gone, killAll, pidFrom } from '../support/procs.js';

const pids: number[] = [];
t.teardown(() => killAll(pids));

const ways = ['posix_spawn', 'child_process'] as const;
const run = (via: (typeof ways)[number], program: string, args: string[], o: Partial<Parameters<typeof runCommand>[2]> = {}) =>
  runCommand(program, args, { maxStdout: 1 << 20, overflow: 'kill', ...o, via: via === 'posix_spawn' ? 'auto' : 'child_process' });
/** A signal whose deadline is known, as a pool worker's item has (worker/deadline.ts). */
const deadlineIn = (ms: number) => new ItemDeadline(Date.now() + ms, ms, () => {}).signal;

t.test('on Linux the posix_spawn way is available (so the cases below do test it)', async (t) => {
  t.not(fastSpawn(), null);
});

for (const via of ways) {
  t.test(`${via}: stdout is collected, the tail of stderr kept, the exit code reported`, async (t) => {
    const r = await run(via, 'sh', ['-c', 'printf hello; echo oops >&2; exit 3']);
    t.equal(r.stdout.toString(), 'hello');
    t.equal(r.stdoutBytes, 5);
    t.equal(r.stderrTail, 'oops');
    t.equal(r.code, 3);
    t.equal(r.sig, null);
  });

  t.test(`${via}: each argument arrives as it was given, never read by a shell`, async (t) => {
    const args = ['a b', `it's "q"`, '$(touch pwned)', 'x; ls', '-n', 'new\nline', ''];
    const r = await run(via, 'printf', ['[%s]', ...args]);
    t.equal(r.stdout.toString(), args.map((a) => `[${a}]`).join(''));
    t.equal(r.code, 0);
  });

  t.test(`${via}: argv[0] is what the caller names it`, async (t) => {
    const r = await run(via, '/bin/sh', ['-c', 'echo "$0"'], { argv0: 'my-sh' });
    t.equal(r.stdout.toString(), 'my-sh\n');
  });

  t.test(`${via}: a signal is reported by name`, async (t) => {
    const r = await run(via, 'sh', ['-c', 'kill -TERM $$']);
    t.equal(r.code, null);
    t.equal(r.sig, 'SIGTERM');
  });

  t.test(`${via}: a program that cannot start is a start error with its errno code`, async (t) => {
    const dir = tmpDir();
    t.equal((await run(via, path.join(dir, 'gone'), [])).startError?.code, 'ENOENT');
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, 'not a program');
    t.equal((await run(via, plain, [])).startError?.code, 'EACCES');
  });

  t.test(`${via}: the command leads a process group of its own, stdin is /dev/null, no standard signal is ignored or blocked`, async (t) => {
    // each read by the spawned program itself (a shell blocks every signal around its own forks)
    const ids = (await run(via, 'cut', ['-d', ' ', '-f', '1,5', '/proc/self/stat'])).stdout.toString().trim().split(' ');
    t.equal(ids[0], ids[1], 'pid = pgid');
    const status = (await run(via, 'grep', ['-E', '^Sig(Blk|Ign)', '/proc/self/status'])).stdout.toString();
    // bit n-1 stands for signal n; 32 and 33 are glibc's own (no program can use them)
    const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s+([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? 'f'}`) & 0x7fffffffn;
    t.equal(mask('SigBlk'), 0n, 'nothing blocked');
    t.equal(mask('SigIgn'), 0n, 'SIGPIPE and the others at their defaults');
    const stdin = await run(via, 'cat', []);
    t.equal(stdin.code, 0);
    t.equal(stdin.stdout.length, 0, 'stdin was at its end at once');
  });

  t.test(`${via}: past maxStdout the command is stopped (overflow 'kill') or its output cut (overflow 'truncate')`, async (t) => {
    const killed = await run(via, 'sh', ['-c', 'while :; do echo xxxxxxxxxxxxxxxxxxxxxx; done'], { maxStdout: 1000, overflow: 'kill' });
    t.equal(killed.overflow, true);
    t.equal(killed.stdout.length, 0, 'nothing kept');
    t.equal(killed.sig, 'SIGKILL');
    const cut = await run(via, 'head', ['-c', '100000', '/dev/zero'], { maxStdout: 10, overflow: 'truncate' });
    t.equal(cut.overflow, false);
    t.equal(cut.stdout.length, 10);
    t.equal(cut.stdoutBytes, 100_000, 'every byte counted');
    t.equal(cut.code, 0);
  });

  t.test(`${via}: extra descriptors arrive as 3, 4, ...`, async (t) => {
    const dir = tmpDir();
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.writeFileSync(a, 'first');
    fs.writeFileSync(b, 'second');
    const fa = fs.openSync(a, 'r');
    const fb = fs.openSync(b, 'r');
    try {
      const r = await run(via, 'sh', ['-c', 'cat /dev/fd/3; cat /dev/fd/4'], { extraFds: [fa, fb] });
      t.equal(r.stdout.toString(), 'firstsecond');
    } finally {
      fs.closeSync(fa);
      fs.closeSync(fb);
    }
  });

  t.test(`${via}: what the command left running in its group is killed when it exits`, async (t) => {
    const pidFile = path.join(tmpDir(), 'gc.pid');
    const r = await run(via, 'sh', ['-c', 'sleep 1000 >/dev/null 2>&1 & echo $! > "$1"', 'sh', pidFile]);
    t.equal(r.code, 0);
    const gc = await pidFrom(pidFile);
    pids.push(gc);
    t.ok(await gone(gc), `background sleep ${gc} is gone`);
  });

  t.test(`${via}: a process that left the group and holds stdout open does not hold the item`, async (t) => {
    const pidFile = path.join(tmpDir(), 'gc.pid');
    const r = await run(via, 'sh', ['-c', 'setsid sleep 1000 & echo $! > "$1"; echo done', 'sh', pidFile]);
    pids.push(await pidFrom(pidFile));
    t.equal(r.code, 0);
    t.equal(r.stdout.toString(), 'done\n');
  });

  t.test(`${via}: at the item's deadline the whole group gets SIGTERM, and the outcome says it was stopped, with the stderr tail`, async (t) => {
    const pidFile = path.join(tmpDir(), 'gc.pid');
    const r = await run(via, 'sh', ['-c', 'sleep 1000 & echo $! > "$1"; echo started >&2; wait', 'sh', pidFile], { signal: deadlineIn(300) });
    const gc = await pidFrom(pidFile);
    pids.push(gc);
    t.type(r.stopped, ItemTimeout);
    t.equal(r.sig, 'SIGTERM');
    t.equal(r.stderrTail, 'started');
    t.ok(await gone(gc), `grandchild ${gc} is gone`);
  });

  t.test(`${via}: a command that ignores SIGTERM gets SIGKILL a moment after the deadline`, async (t) => {
    const r = await run(via, 'sh', ['-c', 'trap "" TERM; echo ready >&2; while :; do sleep 0.05; done'], { signal: deadlineIn(300) });
    t.type(r.stopped, ItemTimeout);
    t.equal(r.sig, 'SIGKILL');
  });
}

t.test('a signal whose deadline is not known (it may abort at any moment) takes the child_process way, and its abort stops the group', async (t) => {
  const pidFile = path.join(tmpDir(), 'gc.pid');
  const ac = new AbortController();
  const running = runCommand('sh', ['-c', 'sleep 1000 & echo $! > "$1"; wait', 'sh', pidFile], { maxStdout: 100, overflow: 'kill', signal: ac.signal });
  const gc = await pidFrom(pidFile); // only possible while this thread's loop runs
  pids.push(gc);
  t.ok(alive(gc));
  ac.abort('stop');
  const r = await running;
  t.equal(r.stopped, 'stop');
  t.ok(await gone(gc));
});
