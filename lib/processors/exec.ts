// `exec`: run a command per file, as `parallel` and `xargs` do, without a shell unless asked.
//
// Invariant: a file name reaches the command only as (part of) one argument, or, with shell: true,
// as a positional parameter; never as code (see exec-template.ts). The command leads a process
// group of its own, recorded for the main thread (worker/child-groups.ts): at the item's timeout,
// when the run stops, or when its worker is stopped, the whole group is killed, and nothing it
// started outlives the item.
import type { ChildProcess } from 'node:child_process';
import { z } from '../core/zod.js';
import { SluiceError } from '../core/errors.js';
import type { ComponentSpec } from '../core/spec.js';
import type { ProcessorContext } from '../worker/context.js';
import type { TaskMessage } from '../worker/protocol.js';
import { signalGroup, spawnInGroup } from '../worker/child-groups.js';
import { ItemTimeout } from '../worker/deadline.js';
import { argvFor, compileTemplate, findProgram, programOf, shellArgsFor, TemplateError, type CommandTemplate } from './exec-template.js';

/** The shell of shell: true. */
export const SHELL = '/bin/sh';
/** Bytes of stderr kept (the last ones) for messages and results. */
export const STDERR_TAIL_BYTES = 2000;
/** After SIGTERM at the timeout, the group gets this long before SIGKILL (ms). */
export const KILL_AFTER_MS = 250;
/** After the command exits, how long its stdout may stay open (held by a process that left its group) (ms). */
const CLOSE_AFTER_EXIT_MS = 1000;

export const options = z.strictObject({
  cmd: z.string().min(1).describe('the command, split into words once like a shell would (quotes, backslashes), run without a shell. Placeholders as in GNU parallel: {} the path, {.} the path without its extension, {/} the file name, {//} the directory, {/.} the file name without its extension; {}, {.} and {//} get "./" in front when they would start with "-". Without a placeholder the path is the last argument. Single quotes keep a placeholder literal. It runs in the current directory (a program given as ./tool is found there, not next to the pipeline file)'),
  shell: z.boolean().default(false).describe('run cmd with /bin/sh -c, for pipes, redirections and variables; the placeholders become "$1" ... "$5" (the names are passed as positional parameters, never as code)'),
  suffix: z.string().regex(/^[^/\0]*$/, { error: 'expected a file name suffix without "/"' }).default('.out')
    .describe('with an output dir, stdout goes to <out>/<rel><suffix> and the result has stdout_path'),
  max_inline: z.number().int().min(0).default(65_536)
    .describe('without an output dir, the result carries stdout (as UTF-8 text) up to this many bytes; past it, stdout_truncated: true'),
  max_output: z.number().int().min(1).default(64 * 2 ** 20)
    .describe('with an output dir, stdout may be at most this many bytes (it is held in memory until written); past it, the command is stopped and the item fails with SLUICE_E_EXEC_OUTPUT'),
});
export type ExecOptions = z.output<typeof options>;

/** The checks that need the machine, not only the text: the template reads, and its program exists. */
const checked = options.superRefine((o, ctx) => {
  if (!o.cmd) return; // already reported as empty
  let t: CommandTemplate;
  try {
    t = compileTemplate(o.cmd, o.shell);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    ctx.addIssue({ code: 'custom', path: ['cmd'], message: err.message, input: o.cmd });
    return;
  }
  const program = t.shell ? SHELL : programOf(t);
  if (program !== null && !findProgram(program)) {
    ctx.addIssue({
      code: 'custom', path: ['cmd'], input: o.cmd,
      message: program.includes('/') ? `program not found or not executable: ${program}` : `program not found on PATH: ${program}`,
    });
  }
});

export const spec: ComponentSpec = {
  kind: 'processor',
  name: 'exec',
  description: 'Runs a command per file (`--exec \'pdftotext {} -\'`), with the file name as an argument, never through a shell unless shell: true. Its stdout is the output: a file under the output dir (`stdout_path`), or inline (`stdout`, and `stdout_truncated: true` past max_inline); the result also has `stdout_bytes`, and `stderr_tail` when it wrote to stderr. A non-zero exit is SLUICE_E_EXEC_STATUS, a signal SLUICE_E_EXEC_SIGNAL, the timeout SLUICE_E_TIMEOUT, each with the tail of stderr; the command\'s whole process group is killed at the timeout, when the run stops, and when it exits. The program must exist when the run starts.',
  options: checked,
};

interface Compiled { opts: ExecOptions; template: CommandTemplate; file: string; argv0: string }
let last: { key: string; compiled: Compiled } | undefined;

/** Options read once per worker (they are the same for every item of a run). */
function compile(raw: Record<string, unknown>): Compiled {
  const key = JSON.stringify(raw);
  if (last?.key === key) return last.compiled;
  const opts = options.parse(raw);
  let template: CommandTemplate;
  try {
    template = compileTemplate(opts.cmd, opts.shell);
  } catch (err) {
    throw new SluiceError('SLUICE_E_CONFIG', `exec: options.cmd: ${(err as Error).message}`);
  }
  const program = template.shell ? SHELL : programOf(template);
  // looked up once, so that each spawn does not search PATH again; argv[0] stays as written
  const file = (program && findProgram(program)) || program || '';
  const compiled = { opts, template, file, argv0: template.shell ? 'sh' : program ?? '' };
  last = { key, compiled };
  return compiled;
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

/** The first `cap` bytes of `buf` as text, not cutting a UTF-8 character in two. */
function utf8Prefix(buf: Buffer, cap: number): string {
  if (buf.length <= cap) return buf.toString('utf8');
  let end = cap;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

export default async function exec(item: TaskMessage['item'], ctx: ProcessorContext): Promise<Record<string, unknown>> {
  const { opts, template, file, argv0 } = compile(ctx.options);
  if (typeof item.file !== 'string') {
    throw new SluiceError('SLUICE_E_EXEC_START', 'the file name is not valid UTF-8, and a command line can only carry text: rename the file, or use a processor module (it gets the exact name)', { item: item.path });
  }
  const argv = template.shell ? null : argvFor(template, item.path);
  const program = template.shell ? file : file || argv![0]!;
  const args = template.shell ? shellArgsFor(template, item.path) : argv!.slice(1);
  const shown = template.shell ? 'sh' : argv0 || program;
  const signal = ctx.signal;
  if (signal?.aborted) throw timeoutError(signal.reason, shown, '');

  const toFile = ctx.hasOutputDir;
  // inline: a few bytes past the cap, so that the cut can be made on a character boundary
  const keep = toFile ? opts.max_output : opts.max_inline + 4;
  const stdout: Buffer[] = [];
  let kept = 0;
  let stdoutBytes = 0;
  let overflow = false;
  const stderr = new Tail(STDERR_TAIL_BYTES);
  let timedOut: unknown;

  const outcome = await new Promise<{ code: number | null; sig: NodeJS.Signals | null; err?: NodeJS.ErrnoException }>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnInGroup(program, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(argv0 ? { argv0 } : {}) });
    } catch (err) {
      reject(err);
      return;
    }
    let killTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (r: { code: number | null; sig: NodeJS.Signals | null; err?: NodeJS.ErrnoException }) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      clearTimeout(closeTimer);
      resolve(r);
    };
    const onAbort = () => {
      timedOut = signal!.reason;
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_AFTER_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (b: Buffer) => {
      stdoutBytes += b.length;
      if (overflow || kept >= keep) return;
      if (toFile && kept + b.length > keep) {
        overflow = true;
        stdout.length = 0;
        signalGroup(child, 'SIGKILL');
        return;
      }
      const part = kept + b.length > keep ? b.subarray(0, keep - kept) : b;
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

  const tail = stderr.text();
  const withTail = (msg: string) => (tail ? `${msg}; stderr: ${tail}` : `${msg}; no stderr`);
  if (outcome.err) {
    throw new SluiceError('SLUICE_E_EXEC_START', `${shown}: could not start: ${outcome.err.code ?? outcome.err.message}`, { item: item.path, cause: outcome.err });
  }
  if (timedOut !== undefined) throw timeoutError(timedOut, shown, tail);
  if (overflow) {
    throw new SluiceError('SLUICE_E_EXEC_OUTPUT', withTail(`${shown}: stdout passed max_output (${opts.max_output} bytes); the command was stopped`), { item: item.path });
  }
  if (outcome.sig) throw new SluiceError('SLUICE_E_EXEC_SIGNAL', withTail(`${shown}: killed by ${outcome.sig}`), { item: item.path });
  if (outcome.code !== 0) throw new SluiceError('SLUICE_E_EXEC_STATUS', withTail(`${shown}: exit status ${outcome.code}`), { item: item.path });

  const out: Record<string, unknown> = {};
  const data = Buffer.concat(stdout);
  if (toFile) {
    out.stdout_path = await ctx.writeOutput(item.rel + opts.suffix, data);
  } else {
    out.stdout = utf8Prefix(data, opts.max_inline);
    if (stdoutBytes > opts.max_inline) out.stdout_truncated = true;
  }
  out.stdout_bytes = stdoutBytes;
  if (tail) out.stderr_tail = tail;
  return out;
}

function timeoutError(reason: unknown, shown: string, tail: string): SluiceError {
  const why = reason instanceof ItemTimeout ? reason.message : 'the item was stopped';
  return new SluiceError('SLUICE_E_TIMEOUT', `${why}: ${shown} and its process group were stopped${tail ? `; stderr: ${tail}` : ''}`);
}
