// glibc's posix_spawn and the few calls around it, through koffi (a C FFI), for command.ts.
//
// Why: Node 20's libuv forks for every spawn, and a fork copies the page tables of the whole
// process (a sluice run holds 100-250 MB), then faults every page written after it. posix_spawn
// starts the child with vfork semantics: nothing is copied, whatever the caller's size. Two worker
// threads started `/bin/true` this way at ~550/s with or without 150 MB held in the process, where
// child_process managed ~200/s with it (bench/ref/spawn-loop.ts).
//
// Invariant: this module only binds and decodes; it owns no process and no descriptor it does not
// return. Every descriptor it creates is close-on-exec, so a command started by another thread
// never inherits it; a command gets exactly stdin from /dev/null, stdout and stderr, and the
// extra descriptors asked for as 3, 4, ... It is available only on Linux with glibc, koffi's
// prebuilt library and pidfd_open (Linux 5.3): `fastSpawn()` is null otherwise, and callers use
// child_process.
import { createRequire } from 'node:module';
import os from 'node:os';

/** One pollfd entry's size and the offset of revents in it (struct pollfd { int; short; short; }). */
const POLLFD_SIZE = 8;
const POLLIN = 0x1;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const WNOHANG = 1;
const EINTR = 4;
const F_DUPFD_CLOEXEC = 1030;
/** posix_spawnattr flags (glibc) */
const SETSIGDEF = 0x04;
const SETSIGMASK = 0x08;
const SETSID = 0x80;
/** Generous sizes for glibc's opaque types (posix_spawnattr_t is 336 bytes, file actions 80, sigset_t 128). */
const ATTR_BYTES = 512;
const ACTIONS_BYTES = 256;
const SIGSET_BYTES = 128;

export interface Spawned {
  pid: number;
  /** readable (POLLIN) once the process has exited */
  pidfd: number;
}

export interface FastSpawn {
  /**
   * Start `file` with `argv` and `env` as the leader of a new session (its own process group),
   * with signal dispositions reset and an empty signal mask. Returns the pid and a pidfd, or the
   * errno that kept it from starting (ENOENT, EACCES, ...: glibc reports a failed exec here).
   */
  spawn(file: string, argv: string[], env: string[], stdout: number, stderr: number, extra: readonly number[]): Spawned | { errno: number };
  /** A pipe, both ends close-on-exec: [read, write]. Throws on failure (EMFILE...). */
  pipe(): [number, number];
  /** Wait until one of `fds` is readable or hung up, or `timeoutMs` (-1: no limit) passes; which ones are. */
  poll(fds: readonly number[], timeoutMs: number): boolean[];
  /** The exit status of `pid` if it has exited (and reaps it), else null; `block`: wait for it to exit. */
  reap(pid: number, block?: boolean): number | null;
  /** Close a descriptor this module returned (fs.closeSync would warn in a worker: Node did not open it). */
  close(fd: number): void;
  /** kill(2) without an exception when the target is gone (a group is often empty by then). */
  kill(pid: number, signal: NodeJS.Signals): void;
}

let cached: FastSpawn | null | undefined;

/** The posix_spawn path, or null when this machine cannot take it (the reason is not needed: child_process works everywhere). */
export function fastSpawn(): FastSpawn | null {
  if (cached === undefined) {
    try {
      cached = bind();
    } catch {
      cached = null;
    }
  }
  return cached;
}

/** An error shaped as Node's own system errors ("spawn /x ENOENT", code, errno, syscall, path). */
export function errnoError(syscall: string, errno: number, path?: string): NodeJS.ErrnoException {
  const code = errnoName(errno);
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

const errnoNames = new Map(Object.entries(os.constants.errno).map(([k, v]) => [v, k]));
/** `ENOENT` for 2, ... */
function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

const signalNames = new Map(Object.entries(os.constants.signals).map(([k, v]) => [v, k as NodeJS.Signals]));
/** A wait status as child_process reports it: the exit code, or the signal's name. */
export function decodeStatus(status: number): { code: number | null; sig: NodeJS.Signals | null } {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, sig: null };
  return { code: null, sig: signalNames.get(sig) ?? 'SIGKILL' };
}

function bind(): FastSpawn {
  if (process.platform !== 'linux') throw new Error('not Linux');
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const libc = koffi.load('libc.so.6');
  const c = {
    posix_spawn: libc.func('int posix_spawnp(_Out_ int *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)'),
    actionsInit: libc.func('int posix_spawn_file_actions_init(void *actions)'),
    actionsDestroy: libc.func('int posix_spawn_file_actions_destroy(void *actions)'),
    addDup2: libc.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)'),
    addOpen: libc.func('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int oflag, int mode)'),
    attrInit: libc.func('int posix_spawnattr_init(void *attr)'),
    attrFlags: libc.func('int posix_spawnattr_setflags(void *attr, short flags)'),
    attrSigDefault: libc.func('int posix_spawnattr_setsigdefault(void *attr, void *set)'),
    attrSigMask: libc.func('int posix_spawnattr_setsigmask(void *attr, void *set)'),
    sigfillset: libc.func('int sigfillset(void *set)'),
    sigemptyset: libc.func('int sigemptyset(void *set)'),
    pipe2: libc.func('int pipe2(_Out_ int *fds, int flags)'),
    poll: libc.func('int poll(void *fds, unsigned long nfds, int timeout)'),
    waitpid: libc.func('int waitpid(int pid, _Out_ int *status, int options)'),
    close: libc.func('int close(int fd)'),
    kill: libc.func('int kill(int pid, int sig)'),
    fcntl: libc.func('int fcntl(int fd, int cmd, int arg)'),
    pidfdOpen: libc.func('long syscall(long nr, int pid, unsigned int flags)'),
  };
  const SYS_pidfd_open = 434; // the same number on every Linux architecture since 5.3
  const pidfdOpen = (pid: number): number => Number(c.pidfdOpen(SYS_pidfd_open, pid, 0));
  // one attribute object for every spawn: a new session, default dispositions, nothing blocked
  // (Node ignores SIGPIPE and workers block some signals; a command must not inherit either)
  const attr = Buffer.alloc(ATTR_BYTES);
  const all = Buffer.alloc(SIGSET_BYTES);
  const none = Buffer.alloc(SIGSET_BYTES);
  if (c.attrInit(attr) !== 0 || c.sigfillset(all) !== 0 || c.sigemptyset(none) !== 0) throw new Error('posix_spawnattr_init');
  c.attrSigDefault(attr, all);
  c.attrSigMask(attr, none);
  c.attrFlags(attr, SETSID | SETSIGDEF | SETSIGMASK);
  // pidfd_open needs Linux 5.3; find out now, not at the first item
  const self = pidfdOpen(process.pid);
  if (self < 0) throw new Error('pidfd_open');
  c.close(self);

  const pipe = (): [number, number] => {
    const fds = [0, 0];
    if (c.pipe2(fds, O_CLOEXEC) !== 0) throw errnoError('pipe2', koffi.errno());
    return [fds[0]!, fds[1]!];
  };

  return {
    spawn(file, argv, env, stdout, stderr, extra) {
      const actions = Buffer.alloc(ACTIONS_BYTES);
      if (c.actionsInit(actions) !== 0) return { errno: koffi.errno() };
      // an extra descriptor already at its target number would stay close-on-exec: move it first
      const moved: number[] = [];
      try {
        c.addOpen(actions, 0, '/dev/null', O_RDONLY, 0);
        c.addDup2(actions, stdout, 1);
        c.addDup2(actions, stderr, 2);
        extra.forEach((fd, i) => {
          let from = fd;
          if (fd === 3 + i) {
            from = c.fcntl(fd, F_DUPFD_CLOEXEC, 3 + extra.length);
            if (from < 0) throw errnoError('fcntl', koffi.errno());
            moved.push(from);
          }
          c.addDup2(actions, from, 3 + i);
        });
        const pid = [0];
        const rc = c.posix_spawn(pid, file, actions, attr, [...argv, null], [...env, null]);
        if (rc !== 0) return { errno: rc };
        const pidfd = pidfdOpen(pid[0]!);
        if (pidfd < 0) {
          // cannot watch it: stop it rather than lose it (EMFILE is the only likely cause)
          const errno = koffi.errno();
          c.kill(-pid[0]!, os.constants.signals.SIGKILL);
          c.waitpid(pid[0]!, [0], 0);
          return { errno };
        }
        return { pid: pid[0]!, pidfd };
      } finally {
        c.actionsDestroy(actions);
        for (const fd of moved) c.close(fd);
      }
    },
    pipe,
    poll(fds, timeoutMs) {
      const buf = Buffer.alloc(POLLFD_SIZE * fds.length);
      fds.forEach((fd, i) => {
        buf.writeInt32LE(fd, i * POLLFD_SIZE);
        buf.writeInt16LE(POLLIN, i * POLLFD_SIZE + 4);
      });
      const n = c.poll(buf, fds.length, Math.min(timeoutMs, 2 ** 31 - 1));
      if (n < 0) {
        const e = koffi.errno();
        if (e === EINTR) return fds.map(() => false);
        throw errnoError('poll', e);
      }
      return fds.map((_, i) => (buf.readInt16LE(i * POLLFD_SIZE + 6) & (POLLIN | POLLHUP | POLLERR)) !== 0);
    },
    close(fd) {
      c.close(fd);
    },
    kill(pid, signal) {
      c.kill(pid, os.constants.signals[signal]);
    },
    reap(pid, block = false) {
      const status = [0];
      const r = c.waitpid(pid, status, block ? 0 : WNOHANG);
      return r === pid ? status[0]! : null;
    },
  };
}
