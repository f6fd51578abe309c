// `exec`: run a command per file, as `parallel` and `xargs` do, without a shell unless asked.
//
// Invariant: a file name reaches the command only as (part of) one argument, or, with shell: true,
// as a positional parameter; never as code (see exec-template.ts). The command runs through
// core/command.ts: it leads a process group of its own, killed whole at the item's timeout,
// when the run stops, or when its worker is stopped, and nothing it started outlives the item.
import { SluiceError } from '../core/errors.js';
import type { ProcessorContext, ProcessorItem } from '../core/processor.js';
import { runCommand, stoppedError } from '../core/command.js';
import { argvFor, compileTemplate, findProgram, programToRun, shellArgsFor, type CommandTemplate } from './exec-template.js';
import type { ExecOptions } from './exec.spec.js';

interface Compiled { opts: ExecOptions; template: CommandTemplate; file: string; argv0: string }
let last: { key: string; raw: Record<string, unknown>; compiled: Compiled } | undefined;

/** Options read once per worker (they are the same for every item of a run). */
function compile(raw: Record<string, unknown>): Compiled {
  if (last?.raw === raw) return last.compiled; // the same object: a batch's items share theirs
  const key = JSON.stringify(raw);
  if (last?.key === key) {
    last.raw = raw;
    return last.compiled;
  }
  // parsed by the spec (exec.spec.ts) before they reach a worker: defaults filled in, checked
  const opts = raw as ExecOptions;
  let template: CommandTemplate;
  try {
    template = compileTemplate(opts.cmd, opts.shell);
  } catch (err) {
    throw new SluiceError('SLUICE_E_CONFIG', `exec: options.cmd: ${(err as Error).message}`);
  }
  const program = programToRun(template);
  // looked up once, so that each spawn does not search PATH again; argv[0] stays as written
  const file = (program && findProgram(program)) || program || '';
  const compiled = { opts, template, file, argv0: template.shell ? 'sh' : program ?? '' };
  last = { key, raw, compiled };
  return compiled;
}

/** The first `cap` bytes of `buf` as text, not cutting a UTF-8 character in two. */
function utf8Prefix(buf: Buffer, cap: number): string {
  if (buf.length <= cap) return buf.toString('utf8');
  let end = cap;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

export default async function exec(item: ProcessorItem, ctx: ProcessorContext): Promise<Record<string, unknown>> {
  const { opts, template, file, argv0 } = compile(ctx.options);
  if (typeof item.file !== 'string') {
    throw new SluiceError('SLUICE_E_EXEC_START', 'the file name is not valid UTF-8, and a command line can only carry text: rename the file, or use a processor module (it gets the exact name)', { item: item.path });
  }
  const argv = template.shell ? null : argvFor(template, item.path);
  const program = template.shell ? file : file || argv![0]!;
  const args = template.shell ? shellArgsFor(template, item.path) : argv!.slice(1);
  const shown = template.shell ? 'sh' : argv0 || program;
  const signal = ctx.signal;
  if (signal?.aborted) throw stoppedError(signal.reason, shown, '');

  const toFile = ctx.hasOutputDir;
  const run = await runCommand(program, args, {
    ...(argv0 ? { argv0 } : {}), ...(signal ? { signal } : {}),
    // inline: a few bytes past the cap, so that the cut can be made on a character boundary
    maxStdout: toFile ? opts.max_output : opts.max_inline + 4,
    overflow: toFile ? 'kill' : 'truncate',
  });
  const tail = run.stderrTail;
  const withTail = (msg: string) => (tail ? `${msg}; stderr: ${tail}` : `${msg}; no stderr`);
  if (run.startError) {
    throw new SluiceError('SLUICE_E_EXEC_START', `${shown}: could not start: ${run.startError.code ?? run.startError.message}`, { item: item.path, cause: run.startError });
  }
  if (run.stopped !== undefined) throw stoppedError(run.stopped, shown, tail);
  if (run.overflow) {
    throw new SluiceError('SLUICE_E_EXEC_OUTPUT', withTail(`${shown}: stdout passed max_output (${opts.max_output} bytes); the command was stopped`), { item: item.path });
  }
  if (run.sig) throw new SluiceError('SLUICE_E_EXEC_SIGNAL', withTail(`${shown}: killed by ${run.sig}`), { item: item.path });
  if (run.code !== 0) throw new SluiceError('SLUICE_E_EXEC_STATUS', withTail(`${shown}: exit status ${run.code}`), { item: item.path });

  const out: Record<string, unknown> = {};
  const data = run.stdout;
  const stdoutBytes = run.stdoutBytes;
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
