import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Lock } from '../../lib/checkpoint/lock.js';
import { tmpDir } from '../helpers.js';

t.test('a second holder is refused with the first one\'s pid', async (t) => {
  const dir = tmpDir();
  const a = Lock.acquire(dir);
  t.throws(() => Lock.acquire(dir), { code: 'SLUICE_E_LOCKED', message: new RegExp(`locked by another run: pid ${process.pid}`) });
  a.release();
  const b = Lock.acquire(dir);
  t.ok(fs.existsSync(path.join(dir, 'lock')));
  b.release();
  t.notOk(fs.existsSync(path.join(dir, 'lock')), 'release removes the lock');
});

t.test('a stale lock (holder gone) is taken over with a note', async (t) => {
  const dir = tmpDir();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: Number(dead), host: os.hostname(), started: 'then' }));
  const notes: string[] = [];
  const l = Lock.acquire(dir, (m) => notes.push(m));
  t.match(notes[0], new RegExp(`stale lock .*pid ${dead} is gone`));
  l.release();
});
