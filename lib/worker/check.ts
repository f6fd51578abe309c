import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SluiceError } from '../core/errors.js';
import { formatPath, type SchemaIssue } from '../core/schema-util.js';
import { threadExecArgv } from '../core/threads.js';
import { isBuiltin } from '../processors/index.js';
import { defaultDisplay } from '../core/fsx.js';

const CHECKER = fileURLToPath(new URL('./check-worker.js', import.meta.url));

/**
 * Load a processor module once, in a thread of its own, before a run records anything (and in
 * `sluice validate`). A module that cannot load (a missing package, a syntax error, no default
 * export, a throw at its top level) would otherwise fail every item the same way, and those
 * failures would be recorded as done: it is one error instead, SLUICE_E_PROCESSOR_LOAD (exit 2),
 * naming the module file and, for a syntax error in it, the line. Built-ins are known to load.
 * The module's own output while loading goes to stderr (stdout is the NDJSON stream).
 */
/** What a defineProcessor module declares, as `sluice stages` lists it (options as JSON Schema). */
export interface ProcessorInfo { name: string; description: string; accepts?: string[]; options: unknown }

/** The checking thread's reply (check-worker.ts). */
export interface CheckReply {
  ok: boolean;
  name?: string;
  message?: string;
  code?: string | null;
  info?: ProcessorInfo;
  issues?: SchemaIssue[];
}

/**
 * With `options` (the run's map.options), a defineProcessor module's options are checked against
 * its schema too: a bad one is SLUICE_E_CONFIG (exit 2) naming the key. Resolves to what the
 * module declares (null for a plain function). A built-in has nothing to check (its options were
 * checked with the config): null at once, not a promise, so a caller with nothing to wait for
 * does not yield.
 */
export function checkProcessor(spec: string, options?: Record<string, unknown>): Promise<ProcessorInfo | null> | null {
  return isBuiltin(spec) ? null : checkModule(spec, options);
}

async function checkModule(spec: string, options?: Record<string, unknown>): Promise<ProcessorInfo | null> {
  const worker = new Worker(CHECKER, { workerData: { spec, options }, execArgv: threadExecArgv(), stdout: true });
  worker.stdout.pipe(process.stderr, { end: false });
  const reply = await new Promise<CheckReply>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (err) => resolve({ ok: false, name: err.name, message: err.message }));
    worker.once('exit', (code) => resolve({ ok: false, name: 'Error', message: `the module ended the thread loading it (exit ${code})` }));
  });
  await worker.terminate();
  const file = defaultDisplay(spec);
  if (reply.ok && reply.issues?.length) {
    throw new SluiceError('SLUICE_E_CONFIG', `invalid options for processor ${reply.info?.name ?? file} (${file}):\n${reply.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`).join('\n')}`);
  }
  if (reply.ok) return reply.info ?? null;
  if (reply.code === 'SLUICE_E_PROCESSOR_LOAD') throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', reply.message!.replace(spec, file));
  if (reply.name === 'SyntaxError') {
    const line = await syntaxErrorLine(spec);
    throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${file}: syntax error${line ? ` at line ${line}` : ' (in a module it imports)'}: ${reply.message}`);
  }
  const why = reply.code === 'ERR_MODULE_NOT_FOUND' ? 'cannot load a module it imports' : 'failed while loading';
  throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `processor ${file} ${why}: ${reply.message}`);
}

/** The line of a syntax error in `file` itself, from `node --check` (the import's error does not carry it); null if elsewhere. */
function syntaxErrorLine(spec: string): Promise<number | null> {
  const file = path.resolve(spec);
  return new Promise((resolve) => {
    execFile(process.execPath, ['--check', file], { timeout: 10_000 }, (_err, _out, stderr) => {
      const m = new RegExp(`^${escapeRegExp(file)}:(\\d+)`, 'm').exec(String(stderr));
      resolve(m ? Number(m[1]) : null);
    });
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
