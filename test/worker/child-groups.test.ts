// The shared table of command process groups: how the main thread reaches a command whose worker
// it stops or loses (lib/core/child-groups.ts).
import t from 'tap';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { bindChildTable, ChildGroups, killByToken, setChildSlot, SlotFenced, spawnInGroup, TOKEN_VAR } from '../../lib/core/child-groups.js';
import { tmpDir } from '../helpers.js';
import { alive, gone, killAll, pidFrom } from '../support/procs.js';

/** Start `sh` that puts a `sleep 1000` in the background and waits; resolves with both pids. */
async function withGrandchild(start: (script: string[]) => { pid?: number }): Promise<{ child: number; grandchild: number }> {
  const dir = tmpDir();
  const pidFile = path.join(dir, 'gc.pid');
  const c = start(['-c', 'sleep 1000 & echo $! > "$1"; wait', 'sh', pidFile]);
  killLater.push(c.pid!);
  return { child: c.pid!, grandchild: await pidFrom(pidFile) };
}

const killLater: number[] = [];
t.teardown(() => {
  killAll(killLater);
  bindChildTable(undefined);
  setChildSlot(-1);
});

t.test('fencing a slot kills the whole group of the command recorded there, and no command starts for it until the slot is reset', async (t) => {
  const groups = new ChildGroups(2);
  bindChildTable(groups.table);
  setChildSlot(1);
  const { child, grandchild } = await withGrandchild((args) => spawnInGroup('sh', args, { stdio: 'ignore' }));
  killLater.push(child, grandchild);
  t.ok(alive(child) && alive(grandchild), 'command and grandchild run');
  t.ok(groups.busy(1) && !groups.busy(0), 'the slot records it');
  groups.fence(1);
  t.ok(await gone(grandchild), 'the grandchild is gone');
  t.ok(await gone(child), 'the command is gone');
  t.throws(() => spawnInGroup('true', [], { stdio: 'ignore' }), SlotFenced, 'a fenced slot starts nothing');
  groups.reset(1);
  const again = spawnInGroup('true', [], { stdio: 'ignore' });
  await new Promise((r) => again.once('exit', r));
  await new Promise((r) => setImmediate(r));
  t.notOk(groups.busy(1), 'an exited command clears its entry');
});

t.test('when a command exits, what it left running in its group is killed', async (t) => {
  const groups = new ChildGroups(1);
  bindChildTable(groups.table);
  setChildSlot(0);
  const dir = tmpDir();
  const pidFile = path.join(dir, 'bg.pid');
  const c = spawnInGroup('sh', ['-c', 'sleep 1000 & echo $! > "$1"', 'sh', pidFile], { stdio: 'ignore' });
  await new Promise((r) => c.once('exit', r));
  const bg = await pidFrom(pidFile);
  killLater.push(bg);
  t.ok(await gone(bg), 'the background sleep is gone');
});

t.test('a command whose worker died between spawn and recording its pid is found by its token and killed', async (t) => {
  const groups = new ChildGroups(4);
  // as the worker leaves it: counter bumped, entry SPAWNING, pid never stored
  Atomics.store(groups.table, 4 + 2, 7);
  Atomics.store(groups.table, 2, -1);
  const { child, grandchild } = await withGrandchild((args) => spawn('sh', args, {
    stdio: 'ignore', detached: true, env: { ...process.env, [TOKEN_VAR]: `${process.pid}.2.7` },
  }));
  killLater.push(child, grandchild);
  t.ok(alive(child) && alive(grandchild));
  groups.fence(2);
  t.ok(await gone(child), 'the command is gone');
  t.ok(await gone(grandchild), 'its grandchild is gone');
  t.ok(groups.busy(2), 'the slot stays fenced');
  t.equal(killByToken(`${process.pid}.2.8`), 0, 'another token finds nothing');
});
