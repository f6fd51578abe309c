import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';

interface LockInfo { pid: number; host: string; started: string }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One run per state dir. The lock file is created with O_EXCL; a lock whose holder is no longer
 * alive on this host (kill -9, power cut) is stale and taken over with a note on stderr.
 */
export class Lock {
  private constructor(readonly file: string, private readonly token: string) {}

  static acquire(stateDir: string, warn: (msg: string) => void = () => {}): Lock {
    const file = path.join(stateDir, 'lock');
    const info: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
    const token = JSON.stringify(info);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.writeFileSync(file, token + '\n', { flag: 'wx' });
        return new Lock(file, token);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new SluiceError('SLUICE_E_STATE', `cannot create lock ${file}: ${(err as Error).message}`, { cause: err });
        }
      }
      let holder: LockInfo | undefined;
      try {
        holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
      } catch {
        holder = undefined; // torn or being written: treat as stale only if it stays that way
      }
      if (holder && typeof holder.pid === 'number' && (holder.host !== os.hostname() || alive(holder.pid))) {
        throw new SluiceError('SLUICE_E_LOCKED',
          `state dir ${stateDir} is locked by another run: pid ${holder.pid} on ${holder.host}, started ${holder.started}`);
      }
      warn(`sluice: taking over a stale lock in ${stateDir}${holder ? ` (pid ${holder.pid} is gone)` : ' (unreadable lock file)'}`);
      fs.rmSync(file, { force: true });
    }
    throw new SluiceError('SLUICE_E_LOCKED', `could not take the lock on ${stateDir}`);
  }

  release(): void {
    try {
      if (fs.readFileSync(this.file, 'utf8').trim() === this.token) fs.rmSync(this.file, { force: true });
    } catch {
      // already gone
    }
  }
}
