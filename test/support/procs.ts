// Is a process still running? For the tests that check that no command outlives its item.
import fs from 'node:fs';

/** Running, and not a zombie (Linux /proc). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Wait (up to 20 s: the machine may be loaded) for `pid` to stop running; true when it has. Not a timing assertion. */
export async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 2000 && alive(pid); i++) await new Promise((r) => setTimeout(r, 10));
  return !alive(pid);
}

/** Wait (up to 60 s) until `file` exists and ends with a newline (a pid written by `echo $! > file`); its number. */
export async function pidFrom(file: string): Promise<number> {
  for (let i = 0; i < 6000; i++) {
    try {
      const s = fs.readFileSync(file, 'utf8');
      if (s.endsWith('\n')) return Number(s);
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no pid in ${file}`);
}

/** SIGKILL each pid, ignoring the ones already gone (test teardown). */
export function killAll(pids: Iterable<number>): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}
