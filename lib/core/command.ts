// One command run for an item, for the processors that run programs (exec, pdf-text's pdftotext).
//
// Invariant: the command leads a process group of its own, recorded for the main thread
// (child-groups.ts), so nothing it starts outlives the item; when the item's signal aborts, the
// whole group gets SIGTERM, then SIGKILL KILL_AFTER_MS later; at most `maxStdout` bytes of stdout
// are held in memory, and the last STDERR_TAIL_BYTES of stderr. The promise never rejects for
// anything the command does: a start failure, a signal, an overflow or a stop are in the outcome.
// Two ways to start it give the same outcome: posix_spawn, waited for in this thread (posix-spawn.ts;
// the default where it is available), and child_process.
import type { ChildProcess, StdioOptions } from 'node:child_process';
import fs from 'node:fs';
import { SluiceError } from './errors.js';
import { signalGroup, spawnInGroup, SpawnTicket } from './child-groups.js';
import { decodeStatus, errnoError, fastSpawn, type FastSpawn, type Spawned } from './posix-spawn.js';
import { deadlineOf, ItemTimeout } from './processor.js';

/** Bytes of stderr kept (the last ones) for messages and results. */
const STDERR_TAIL_BYTES = 2000;
/** After SIGTERM at the timeout, the group gets this long before SIGKILL (ms). */
const KILL_AFTER_MS = 250;
/** After the command exits, how long its stdout may stay open (held by a process that left its group) (ms). */
const CLOSE_AFTER_EXIT_MS = 1000;

interface CommandOptions {
  /** argv[0] as the command sees it */
  argv0?: string;
  /** the item's signal: its abort stops the command's group */
  signal?: AbortSignal;
  /** stdout bytes kept in memory */
  maxStdout: number;
  /** past maxStdout: 'kill' stops the command (the outcome says overflow), 'truncate' keeps only the first bytes */
  overflow: 'kill' | 'truncate';
  /** descriptors the command gets as fd 3, 4, ... (e.g. an input already opened safely, read as /dev/fd/3) */
  extraFds?: number[];
  /** 'child_process' skips posix_spawn even where it is available (the tests run both ways) */
  via?: 'auto' | 'child_process';
}

interface CommandOutcome {
  code: number | null;
  sig: NodeJS.Signals | null;
  /** the command could not be started (ENOENT, EACCES, ...) */
  startError?: NodeJS.ErrnoException;
  stdout: Buffer;
  /** all the bytes it wrote to stdout, kept or not */
  stdoutBytes: number;
  /** it passed maxStdout with overflow 'kill', and was stopped */
  overflow: boolean;
  /** the signal's reason when the item's signal stopped it, else undefined */
  stopped: unknown;
  /** the end of its stderr, trimmed, "..." in front when cut */
  stderrTail: string;
}

/** Keeps the last `cap` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  constructor(private readonly cap: number) {}
  push(b: Buffer): void {
    this.chunks.push(b);
    this.bytes += b.length;
    while (this.bytes - this.chunks[0]!.length >= this.cap) this.bytes -= this.chunks.shift()!.length;
  }
  /** The text, cut at the front to `cap` bytes, from a line start when there is one (then it starts with "..."). */
  text(): string {
    const all = Buffer.concat(this.chunks);
    if (all.length <= this.cap) return all.toString('utf8').trim();
    let s = all.subarray(all.length - this.cap).toString('utf8');
    const nl = s.indexOf('\n');
    s = nl !== -1 && nl < s.length - 1 ? s.slice(nl + 1) : s.replace(/^\uFFFD+/, '');
    return `...${s.trim()}`;
  }
}

/** What a command wrote, as it arrives: stdout up to the cap (or the overflow), the tail of stderr. */
class Collector {
  private readonly stdout: Buffer[] = [];
  private kept = 0;
  stdoutBytes = 0;
  overflow = false;
  readonly stderr = new Tail(STDERR_TAIL_BYTES);
  constructor(private readonly o: CommandOptions) {}

  /** A chunk of stdout; true when the command must be stopped for it (overflow 'kill'). */
  out(b: Buffer): boolean {
    this.stdoutBytes += b.length;
    if (this.overflow || this.kept >= this.o.maxStdout) return false;
    if (this.o.overflow === 'kill' && this.kept + b.length > this.o.maxStdout) {
      this.overflow = true;
      this.stdout.length = 0;
      return true;
    }
    const part = this.kept + b.length > this.o.maxStdout ? b.subarray(0, this.o.maxStdout - this.kept) : b;
    this.stdout.push(part);
    this.kept += part.length;
    return false;
  }

  outcome(r: { code: number | null; sig: NodeJS.Signals | null; err?: NodeJS.ErrnoException }, stopped: unknown): CommandOutcome {
    return {
      code: r.code, sig: r.sig, ...(r.err ? { startError: r.err } : {}),
      stdout: Buffer.concat(this.stdout), stdoutBytes: this.stdoutBytes, overflow: this.overflow, stopped, stderrTail: this.stderr.text(),
    };
  }
}

/**
 * Run `program` with `args` (never through a shell) and collect what it did. Where posix_spawn
 * is available (posix-spawn.ts) the command is started with it and waited for in this thread,
 * unless its signal is one whose deadline is not known (it could abort at any time, and only an
 * event loop would see it); otherwise with child_process.
 */
export async function runCommand(program: string, args: string[], o: CommandOptions): Promise<CommandOutcome> {
  const blockable = o.via !== 'child_process' && (!o.signal || o.signal.aborted || deadlineOf(o.signal) !== undefined);
  const fast = blockable ? fastSpawn() : null;
  return fast ? runBlocking(fast, program, args, o) : runEvented(program, args, o);
}

/** runBlocking's read buffer: it runs to the end before anything else in its thread can use it. */
let readBuf: Buffer | undefined;

/**
 * The posix_spawn path: the calling thread waits in poll() on the command's pidfd and pipes, and
 * runs nothing else meanwhile (a pool worker has nothing else to do while its item runs). The
 * item's signal cannot fire while this thread waits, so the deadline it stands for is read from
 * it (deadlineOf) and kept here: SIGTERM to the group at the deadline, SIGKILL KILL_AFTER_MS
 * later. The main thread's stop (it kills the group) ends the wait the same way.
 */
function runBlocking(fast: FastSpawn, program: string, args: string[], o: CommandOptions): CommandOutcome {
  const got = new Collector(o);
  const deadline = o.signal ? deadlineOf(o.signal) : undefined;
  if (o.signal?.aborted) return got.outcome({ code: null, sig: null }, o.signal.reason);
  const ticket = new SpawnTicket();
  let out: [number, number] | undefined;
  let err: [number, number] | undefined;
  let started: Spawned | { errno: number };
  try {
    out = fast.pipe();
    err = fast.pipe();
    started = fast.spawn(program, [o.argv0 ?? program, ...args], ticket.envList(), out[1], err[1], o.extraFds ?? []);
  } catch (e) {
    ticket.failed();
    for (const fd of [...(out ?? []), ...(err ?? [])]) fast.close(fd);
    // no descriptor left (EMFILE): the command could not start, as child_process would say
    if ((e as NodeJS.ErrnoException).code === undefined) throw e;
    return got.outcome({ code: null, sig: null, err: e as NodeJS.ErrnoException }, undefined);
  }
  if (!('pid' in started)) {
    ticket.failed();
    for (const fd of [...out, ...err]) fast.close(fd);
    return got.outcome({ code: null, sig: null, err: errnoError(`spawn ${program}`, started.errno, program) }, undefined);
  }
  const { pid, pidfd } = started;
  ticket.started(pid);
  const buf = (readBuf ??= Buffer.allocUnsafe(65_536));
  /** the pipes' read ends still open: stdout, stderr */
  const open: (number | null)[] = [out[0], err[0]];
  // the write ends stay open here until the command has exited: its pipes then never hang up
  // while it exits, closing them one by one, and poll() wakes once, for the exit (or for data)
  let writeEnds: number[] | null = [out[1], err[1]];
  const closeWriteEnds = () => {
    for (const fd of writeEnds ?? []) fast.close(fd);
    writeEnds = null;
  };
  let status: number | null = null;
  let stopped: unknown;
  let killAt = Infinity;
  let closeAt = Infinity;
  const kill = () => fast.kill(-pid, 'SIGKILL');
  try {
    for (;;) {
      const now = Date.now();
      if (status === null && stopped === undefined && deadline && now >= deadline.at) {
        stopped = deadline.reason();
        fast.kill(-pid, 'SIGTERM');
        killAt = now + KILL_AFTER_MS;
      }
      if (now >= killAt) {
        kill();
        killAt = Infinity;
      }
      if (status !== null && (open.every((fd) => fd === null) || now >= closeAt)) break;
      const fds = [status === null ? pidfd : -1, open[0] ?? -1, open[1] ?? -1];
      const until = Math.min(status === null && stopped === undefined && deadline ? deadline.at : Infinity, killAt, closeAt);
      const ready = fast.poll(fds, until === Infinity ? -1 : Math.max(0, until - now));
      for (const i of [1, 2]) {
        const fd = open[i - 1];
        if (fd == null || !ready[i]) continue;
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) {
          fast.close(fd);
          open[i - 1] = null;
        } else if (i === 1) {
          if (got.out(Buffer.from(buf.subarray(0, n)))) kill();
        } else {
          got.stderr.push(Buffer.from(buf.subarray(0, n)));
        }
      }
      if (ready[0]) {
        status = fast.reap(pid);
        if (status !== null) {
          closeWriteEnds();
          // what it left in its group is killed; a process that left the group (setsid) and
          // still holds stdout open must not hold the item: stop reading after a moment
          ticket.exited(fast.kill);
          closeAt = Date.now() + CLOSE_AFTER_EXIT_MS;
        }
      }
    }
  } finally {
    if (status === null) {
      // thrown out of the loop (a read failed): the command must not outlive the item
      kill();
      fast.reap(pid, true);
      ticket.exited(fast.kill);
    }
    closeWriteEnds();
    fast.close(pidfd);
    for (const fd of open) if (fd !== null) fast.close(fd);
  }
  return got.outcome(decodeStatus(status), stopped);
}

/** The child_process path: the command's pipes and exit are events on this thread's loop. */
async function runEvented(program: string, args: string[], o: CommandOptions): Promise<CommandOutcome> {
  const got = new Collector(o);
  let stopped: unknown;
  const { signal } = o;
  const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...(o.extraFds ?? [])];
  const r = await new Promise<{ code: number | null; sig: NodeJS.Signals | null; err?: NodeJS.ErrnoException }>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnInGroup(program, args, { stdio, ...(o.argv0 ? { argv0: o.argv0 } : {}) });
    } catch (err) {
      reject(err);
      return;
    }
    let killTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (v: { code: number | null; sig: NodeJS.Signals | null; err?: NodeJS.ErrnoException }) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      clearTimeout(closeTimer);
      resolve(v);
    };
    const onAbort = () => {
      stopped = signal!.reason;
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_AFTER_MS);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (b: Buffer) => {
      if (got.out(b)) signalGroup(child, 'SIGKILL');
    });
    child.stderr!.on('data', (b: Buffer) => got.stderr.push(b));
    child.once('error', (err: NodeJS.ErrnoException) => settle({ code: null, sig: null, err }));
    // its group is killed when it exits (spawnInGroup); a process that left the group (setsid)
    // and still holds stdout open must not hold the item: close our ends after a moment
    child.once('exit', () => {
      closeTimer = setTimeout(() => { child.stdout!.destroy(); child.stderr!.destroy(); }, CLOSE_AFTER_EXIT_MS);
    });
    child.once('close', (code: number | null, sig: NodeJS.Signals | null) => settle({ code, sig }));
  });
  return got.outcome(r, stopped);
}

/** The failure of an item whose command its signal stopped (`stopped` of the outcome): the timeout's words, or a stop's. */
export function stoppedError(reason: unknown, shown: string, tail: string, item?: string): SluiceError {
  const why = reason instanceof ItemTimeout ? reason.message : 'the item was stopped';
  return new SluiceError('SLUICE_E_TIMEOUT', `${why}: ${shown} and its process group were stopped${tail ? `; stderr: ${tail}` : ''}`, item === undefined ? {} : { item });
}
