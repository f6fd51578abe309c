// One command run for an item, for the processors that run programs (exec, pdf-text's pdftotext).
//
// Invariant: the command leads a process group of its own, recorded for the main thread
// (child-groups.ts), so nothing it starts outlives the item; when the item's signal aborts, the
// whole group gets SIGTERM, then SIGKILL KILL_AFTER_MS later; at most `maxStdout` bytes of stdout
// are held in memory, and the last STDERR_TAIL_BYTES of stderr. The promise never rejects for
// anything the command does: a start failure, a signal, an overflow or a stop are in the outcome.
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { SluiceError } from './errors.js';
import { signalGroup, spawnInGroup } from './child-groups.js';
import { ItemTimeout } from './processor.js';

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

/** Run `program` with `args` (never through a shell) and collect what it did. */
export async function runCommand(program: string, args: string[], o: CommandOptions): Promise<CommandOutcome> {
  const stdout: Buffer[] = [];
  let kept = 0;
  let stdoutBytes = 0;
  let overflow = false;
  let stopped: unknown;
  const stderr = new Tail(STDERR_TAIL_BYTES);
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
      stdoutBytes += b.length;
      if (overflow || kept >= o.maxStdout) return;
      if (o.overflow === 'kill' && kept + b.length > o.maxStdout) {
        overflow = true;
        stdout.length = 0;
        signalGroup(child, 'SIGKILL');
        return;
      }
      const part = kept + b.length > o.maxStdout ? b.subarray(0, o.maxStdout - kept) : b;
      stdout.push(part);
      kept += part.length;
    });
    child.stderr!.on('data', (b: Buffer) => stderr.push(b));
    child.once('error', (err: NodeJS.ErrnoException) => settle({ code: null, sig: null, err }));
    // its group is killed when it exits (spawnInGroup); a process that left the group (setsid)
    // and still holds stdout open must not hold the item: close our ends after a moment
    child.once('exit', () => {
      closeTimer = setTimeout(() => { child.stdout!.destroy(); child.stderr!.destroy(); }, CLOSE_AFTER_EXIT_MS);
    });
    child.once('close', (code: number | null, sig: NodeJS.Signals | null) => settle({ code, sig }));
  });
  return {
    code: r.code, sig: r.sig, ...(r.err ? { startError: r.err } : {}),
    stdout: Buffer.concat(stdout), stdoutBytes, overflow, stopped, stderrTail: stderr.text(),
  };
}

/** The failure of an item whose command its signal stopped (`stopped` of the outcome): the timeout's words, or a stop's. */
export function stoppedError(reason: unknown, shown: string, tail: string, item?: string): SluiceError {
  const why = reason instanceof ItemTimeout ? reason.message : 'the item was stopped';
  return new SluiceError('SLUICE_E_TIMEOUT', `${why}: ${shown} and its process group were stopped${tail ? `; stderr: ${tail}` : ''}`, item === undefined ? {} : { item });
}
