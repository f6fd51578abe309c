// The options of `exec` (its spec: what `sluice run` checks before anything runs, `sluice
// stages` and `sluice schema` list). Loaded in the main thread only: a worker receives options
// this spec has parsed, and exec.ts reads them as they come.
import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';
import { compileTemplate, findProgram, programToRun, TemplateError, type CommandTemplate } from './exec-template.js';

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
  const program = programToRun(t);
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

