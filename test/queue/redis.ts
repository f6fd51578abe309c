// A real redis-server for the queue tests (Debian's, installed by .ci/run): on a unix socket in a
// short temp path, no persistence, killed when the test ends whatever happens.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Teardown } from '../helpers.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

export function hasRedis(): boolean {
  return fs.existsSync(REDIS_SERVER);
}

export interface TestRedis {
  url: string;
  /** redis-cli against it, one command: its stdout */
  cli(...args: string[]): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRedis(t: Teardown): Promise<TestRedis> {
  const dir = fs.mkdtempSync('/tmp/rq-');
  const sock = path.join(dir, 'r.sock');
  let proc: ChildProcess | null = null;
  const start = async () => {
    proc = spawn(REDIS_SERVER, ['--port', '0', '--unixsocket', sock, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await sleep(25);
    if (!fs.existsSync(sock)) throw new Error('redis-server did not open its socket');
  };
  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
    fs.rmSync(sock, { force: true });
  };
  t.teardown(async () => {
    await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return { url: `unix://${sock}`, cli: (...args) => spawnSync('redis-cli', ['-s', sock, ...args], { encoding: 'utf8' }).stdout, stop, start };
}
