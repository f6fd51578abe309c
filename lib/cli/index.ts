import { createRequire } from 'node:module';
import type yargsType from 'yargs';
import { isFdExhausted, SluiceError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { STDIN_ARG, runCommand, type RunArgs } from './run.js';
// every other command's module is imported by its handler: a run loads none of them

// yargs' CommonJS build: its ES module build wraps help text at any character ("pr\nogress"),
// the CommonJS one between words
const yargs = createRequire(import.meta.url)('yargs') as typeof yargsType;

const PROGRESS = ['auto', 'ndjson', 'bar', 'none'] as const;

/**
 * The flags that say what a run is over: every command that reads a run (run, plan, status,
 * results) takes the same ones, so changing the verb of a command line works.
 */
const SOURCE_FLAGS = {
  input: { alias: 'i', type: 'string', array: true, describe: 'files or directories to walk (replaces source.walk.roots); - reads paths from stdin' },
  include: { type: 'string', array: true, describe: 'globs a path (relative to its root) must match (replaces source.walk.include; default from flags alone: what the processor reads, e.g. **/*.pdf)' },
  exclude: { type: 'string', array: true, describe: 'globs that skip a file or a whole directory (replaces source.walk.exclude; default from flags alone: dotfiles, **/.*)' },
  processor: { alias: 'p', type: 'string', describe: 'built-in name (pdf-text, pdf-info, chunk, sha256, noop, exec) or ./module.js' },
  exec: { type: 'string', describe: "run a command per file, no shell: 'pdftotext {} -' ({} path, {.} without extension, {/} name, {//} dir, {/.} name without extension); stdout is the output" },
  shell: { type: 'boolean', describe: 'with --exec: run the command with /bin/sh -c (pipes, redirections); the names reach it as "$1"..., never as code' },
  option: { alias: 'O', type: 'string', array: true, describe: 'a processor option: -O max_pages=100 (map.options; the value is read as YAML)' },
  concurrency: { alias: 'j', type: 'number', describe: 'worker threads (default: map.concurrency, else available cores)' },
  timeout: { type: 'string', describe: 'per-item timeout: 30s, 500ms, 2m, or seconds (5) (replaces map.timeout)' },
  state: { type: 'string', describe: 'state dir (default <checkpoint.dir>/<name>, i.e. .sluice/<name>)' },
  out: { alias: 'o', type: 'string', describe: 'output dir for per-item files (replaces output.dir; never walked)' },
  report: { type: 'string', describe: 'report file (default <state dir>/report.json; never walked)' },
  set: { type: 'string', array: true, describe: 'override any pipeline key: --set stages[1].map.timeout=30s (a named stage: stages[text].map.timeout=30s)' },
} as const;

/** The same, for `sluice report`, whose -o is the report file (not the output dir: a report reads, never writes items). */
const { out: _outDir, ...REPORT_SOURCE_FLAGS } = SOURCE_FLAGS;

/** Parse argv, run the command, and resolve to the process exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  const stopper = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      // a new line first only where a progress bar may be on the current line
      process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}sluice: ${sig}: finishing items in flight and saving the checkpoint (${sig} again to quit at once)\n`);
      stopper.abort(sig);
    } else {
      quitNow(sig);
    }
  };

  let code = 0;
  // yargs drops a bare "-" (it reads it as a boolean) and takes -0 for a number: carry "-" through
  // as a token no path can be, and -0 as its long name
  const parser = yargs(argv.map((a) => (a === '-' ? STDIN_ARG : a === '-0' ? '--null' : a)))
    .scriptName('sluice')
    .usage('sluice <command> [options]\n\nResumable, bounded-memory batch pipelines over documents. Results and progress are NDJSON on stdout (words on a terminal, unless --json).')
    .command<RunArgs>(
      'run [pipeline]',
      'run a pipeline (a YAML/JSON file, or --input and --processor)',
      (y) => y
        .positional('pipeline', { type: 'string', describe: 'pipeline file (YAML or JSON), or - to read the paths from stdin' })
        .options(SOURCE_FLAGS)
        .option('resume', { type: 'boolean', describe: 'skip items an earlier run finished (the default)' })
        .option('fresh', { type: 'boolean', describe: 'start over; the old journal is kept as a backup' })
        .option('retry-failed', { type: 'boolean', describe: 'run again only the items that failed before' })
        .option('keep-done', { type: 'boolean', describe: 'keep done items even if the processor or its options changed' })
        .option('progress', { choices: PROGRESS, default: 'auto' as const, describe: 'auto: NDJSON progress lines, plus a bar when stderr is a terminal' })
        .option('json', { type: 'boolean', describe: 'NDJSON on stdout even when it is a terminal (on a terminal sluice prints a line of words per result; a pipe or a file always gets NDJSON)' })
        .option('progress-interval', { type: 'string', default: '1s', describe: 'time between progress lines' })
        .option('lines', { type: 'boolean', describe: 'with --input -: one path per line instead of NDJSON objects' })
        .option('null', { alias: '0', type: 'boolean', describe: 'with --input -: NUL-separated paths (find -print0)' })
        .option('strict', { type: 'boolean', describe: 'with --input -: a malformed line stops the run (exit 2)' })
        .option('grace', { type: 'string', default: '10s', describe: 'after SIGINT/SIGTERM, how long items in flight may take before they are stopped' })
        .option('max-failures', { type: 'number', describe: 'stop the run after this many failed items (exit 1; the report says why)' })
        .option('run-status', { type: 'boolean', describe: 'exit status of this run\'s items only (by default items still failed from earlier runs make it 1)' })
        .option('keep-order', { alias: 'k', type: 'boolean', describe: 'print results in input order (a slow item holds back the ones after it; at most a bounded window is held)' })
        .option('max-items', { type: 'number', describe: 'stop after starting this many items (the rest wait for the next run)' })
        .option('queue', { type: 'string', describe: 'run the items on `sluice worker` processes (any machine seeing the same paths) through this Redis: redis://host:port/db or unix:///path.sock; this process walks, records and reports' })
        .option('prune-outputs', { type: 'boolean', describe: 'at the end of a run that walked all its inputs, remove the outputs of inputs that now fail or are gone (regular files in the output dir only, never through a link; each said on stderr)' })
        .check((a) => {
          for (const k of ['concurrency', 'max-items', 'max-failures'] as const) {
            const v = a[k];
            if (v !== undefined && (!Number.isInteger(v) || (v as number) < (k === 'max-items' ? 0 : 1))) throw new Error(`--${k}: expected a whole number${k === 'max-items' ? '' : ' >= 1'}, got ${String(v)}`);
          }
          return true;
        })
        .example('sluice run pipelines/pdf-text.yaml', 'run a pipeline file; a second run skips what is done')
        .example('sluice run --input ~/papers --processor pdf-info -j 2 | jq -c "select(.type==\\"result\\")"', 'no file needed: walk, process, filter the results')
        .example('sluice run pipelines/pdf-text.yaml --fresh --progress none > results.ndjson', 'start over, results only')
        .example('find ~/scans -name "*.pdf" -print0 | sluice run --input - -0 --processor pdf-info', 'paths from another program')
        .example("sluice run --input ~/scans --exec 'pdftotext {} -' --out text/", 'a command per file, its stdout to text/<name>.out'),
      async (a) => {
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        code = await runCommand(a, stopper.signal);
      },
    )
    .command<RunArgs & { json?: boolean; count?: boolean }>(
      'plan [pipeline]',
      'dry run: walk and look every file up in the checkpoint; found, already done, to do, bytes (nothing runs, no lock)',
      (y) => y
        .positional('pipeline', { type: 'string', describe: 'pipeline file (YAML or JSON)' })
        .options(SOURCE_FLAGS)
        .option('fresh', { type: 'boolean', describe: 'as run --fresh would: everything is to do' })
        .option('retry-failed', { type: 'boolean', describe: 'as run --retry-failed would: failed items are to do' })
        .option('keep-done', { type: 'boolean', describe: 'as run --keep-done would, when the config changed' })
        .option('count', { type: 'boolean', describe: 'only count the files a run would find, by name: no stat, no checkpoint (find -type f | wc -l)' })
        .option('json', { type: 'boolean', describe: 'one JSON object instead of text' })
        .example('sluice plan pipelines/pdf-text.yaml', 'how much is left before running it')
        .example('sluice plan --input ~/papers --processor pdf-text --json | jq .todo', 'count what a run would do'),
      async (a) => {
        if (a.pipeline === STDIN_ARG || a.input?.includes(STDIN_ARG)) throw new SluiceError('SLUICE_E_USAGE', 'plan walks its inputs; paths on standard input cannot be planned (run them)');
        code = await (await import('./plan.js')).planCommand({ ...a, progress: 'none', progressInterval: '1s', grace: '10s' });
      },
    )
    .command<{ pipeline: string; json?: boolean }>(
      'validate <pipeline>',
      'check a pipeline file; exit 2 with every bad key named (stages[1].map.timeout: ...)',
      (y) => y.positional('pipeline', { type: 'string', demandOption: true }).option('json', { type: 'boolean' }),
      async (a) => { code = await (await import('./validate.js')).validateCommand(a.pipeline, !!a.json); },
    )
    .command<RunArgs & { json?: boolean; follow?: boolean }>(
      'status [pipeline]',
      'what the checkpoint says: done, failed, pending (with the pipeline file or --input), the last run, top error codes',
      (y) => y.positional('pipeline', { type: 'string', describe: 'pipeline file (its state dir; pending is counted by walking)' })
        .options(SOURCE_FLAGS)
        .option('json', { type: 'boolean', describe: 'one JSON object instead of text (with --follow: NDJSON progress lines, then the summary)' })
        .option('follow', { alias: 'f', type: 'boolean', describe: 'follow the running run from its state dir: a line per progress sample (counts, rate, ETA, in flight) and its new failures, until it ends' })
        .example('sluice status pipelines/pdf-text.yaml', 'progress of a pipeline, also while it runs')
        .example('sluice status --follow --state .sluice/pdf-text', 'watch a run from another terminal'),
      async (a) => { code = await (await import('./status.js')).statusCommand(a); },
    )
    .command<RunArgs & { status?: string }>(
      'results [pipeline]',
      'the durable results: one NDJSON result line per item, latest status, newest first',
      (y) => y.positional('pipeline', { type: 'string', describe: 'pipeline file (its state dir)' })
        .options(SOURCE_FLAGS)
        .option('status', { choices: ['ok', 'failed', 'filtered'], describe: 'only items with this status (filtered: dropped by a filter stage)' })
        .example('sluice results --state .sluice/pdf-text --status failed | jq -r .path', 'rebuild the list of failures after losing stdout'),
      async (a) => { code = await (await import('./results.js')).resultsCommand(a); },
    )
    .command<RunArgs & { format?: string; output?: string }>(
      'report [pipeline]',
      'rebuild the report of the job and its last (or running, or killed) run from the state dir: the journal and the progress timeline',
      (y) => y.positional('pipeline', { type: 'string', describe: 'pipeline file (its state dir)' })
        .options(REPORT_SOURCE_FLAGS)
        .option('format', { choices: ['html', 'md', 'json'], default: 'html', describe: 'html: one self-contained file (no script, no network request), charts as inline SVG' })
        .option('output', { alias: 'o', type: 'string', describe: 'write it to this file (atomically) instead of stdout' })
        .example('sluice report --state .sluice/pdf-text -o report.html', 'a report to open in a browser, also for a run that was killed'),
      async (a) => { code = await (await import('./report.js')).reportCommand(a); },
    )
    .command<{ pipeline?: string; queue: string; concurrency?: number; prefetch?: number; grace: string; progressInterval: string }>(
      'worker [pipeline]',
      'take items from a queue and run them (sluice run --queue gives them out, records and reports)',
      (y) => y.positional('pipeline', { type: 'string', describe: 'run only the map stages of this pipeline file, with its options (jobs of any other are refused, coded)' })
        .option('queue', { type: 'string', demandOption: true, describe: 'the Redis of the run: redis://host:port/db or unix:///path.sock' })
        .option('concurrency', { alias: 'j', type: 'number', describe: 'worker threads, and items at once (default: available cores)' })
        .option('prefetch', { type: 'number', describe: 'jobs held beyond those running, ready for a thread as it finishes (default: as many as the threads, at least 2)' })
        .option('grace', { type: 'string', default: '30s', describe: 'after SIGINT/SIGTERM, how long the items running may take; past it they are handed back to the queue' })
        .option('progress-interval', { type: 'string', default: '1s', describe: 'time between progress lines (0: none)' })
        .example('sluice worker --queue redis://queue-host:6379/0 -j 8', 'one of many worker machines')
        .example('sluice worker pipelines/pdf-text.yaml --queue redis://queue-host:6379/0', 'a worker that runs only that pipeline\'s stages, as the file has them'),
      async (a) => {
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        // loaded here: BullMQ and ioredis only for this command
        code = await (await import('./worker.js')).workerCommand(a, stopper.signal);
      },
    )
    .command<{ json?: boolean; markdown?: boolean; processor?: string[] }>(
      'stages',
      'list every source, stage and processor with its options',
      (y) => y.option('json', { type: 'boolean', describe: 'one NDJSON line per component' })
        .option('markdown', { type: 'boolean', describe: 'the reference page (docs/reference.md), with the error codes' })
        .option('processor', { type: 'string', array: true, describe: 'also list this processor module (defineProcessor), with its options' })
        .example('sluice stages --processor ./my-processor.mjs', 'a processor module of your own, listed like the built-ins'),
      async (a) => { code = await (await import('./stages.js')).stagesCommand(!!a.json, !!a.markdown, a.processor ?? []); },
    )
    .command<{ processor?: string[] }>(
      'schema',
      'print the JSON Schema of pipeline files (for editors)',
      (y) => y.option('processor', { type: 'string', array: true, describe: 'include this processor module\'s options schema (defineProcessor), applied to map.options of a stage whose processor names that file' }),
      async (a) => { code = await (await import('./schema.js')).schemaCommand(a.processor ?? []); },
    )
    .demandCommand(1, 'name a command: run, plan, status, results, report, validate, worker, stages or schema')
    .strict()
    .version(VERSION)
    .alias('h', 'help')
    .alias('V', 'version')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Exit codes: 0 all items ok or skipped; 1 some items failed; 2 usage or config error; 3 fatal (state locked or unwritable); 130/143 after SIGINT/SIGTERM; 141 when stdout was closed early.\nDocs: README.md, docs/events.md, docs/reference.md (stages, options, error codes)')
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new SluiceError('SLUICE_E_USAGE', unknownFlags(msg, argv));
    });

  // yargs renders the whole help text when a command's handler starts, to keep it for a later
  // showHelp(): sluice never calls that (its .fail() throws, and help is printed before any
  // handler runs), and the rendering cost 15-25 ms of a run's start on a core its workers need
  noHelpCache(parser);
  try {
    await parser.parseAsync();
    return code;
  } catch (err) {
    if (err instanceof SluiceError) {
      process.stderr.write(`sluice: ${err.message}\n`);
      if (err.code === 'SLUICE_E_USAGE') process.stderr.write('Try sluice --help\n');
      return err.exitCode;
    }
    const e = err as Error;
    if (e && (e.name === 'YError' || /Unknown argument|Not enough|Invalid values|Missing required|expected a whole number/.test(e.message))) {
      process.stderr.write(`sluice: ${e.message}\nTry sluice --help\n`);
      return 2;
    }
    if (isFdExhausted(err)) {
      // opening the journal, the lock, a report: not a bug, a limit
      process.stderr.write(`sluice: out of file descriptors: ${e.message}; raise the open-file limit (ulimit -n) and run again\n`);
      return 3;
    }
    process.stderr.write(`sluice: internal error: ${e?.stack ?? String(err)}\n`);
    return 3;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Turn off yargs' help-text cache (see main); where its internals differ, leave it as it is. */
export function noHelpCache(parser: unknown): void {
  const usage = (parser as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: unknown } } })
    .getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * yargs names an unknown flag in both spellings ("Unknown arguments: max-itemz, maxItemz"): say
 * each once, as typed ("unknown option --max-itemz"); a word that is not a flag stays an argument.
 */
function unknownFlags(message: string, argv: string[]): string {
  const m = /^Unknown arguments?: (.*)$/.exec(message);
  if (!m) return message;
  const names = m[1]!.split(', ');
  const kebab = new Set(names.filter((n) => n.includes('-')).map((n) => n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())));
  const flag = (n: string) => (n.length === 1 ? `-${n}` : `--${n}`);
  const typed = (n: string) => argv.some((a) => a === flag(n) || a.startsWith(`${flag(n)}=`) || (n.length === 1 && /^-[^-]/.test(a) && a.includes(n)));
  const once = names.filter((n) => !kebab.has(n));
  const opts = once.filter(typed).map(flag);
  const args = once.filter((n) => !typed(n));
  return [opts.length && `unknown option${opts.length > 1 ? 's' : ''} ${opts.join(', ')}`, args.length && `unknown argument${args.length > 1 ? 's' : ''} ${args.join(', ')}`].filter(Boolean).join('; ');
}

/**
 * Quit at once on a second SIGINT/SIGTERM, whatever the workers or the thread pool are doing.
 * Not process.exit: on its way out Node joins its libuv threads and stops its workers, and a
 * thread stuck in a read that never returns (a dead network mount, a processor's own blocking
 * open) makes that wait forever. Instead the signal's default action is restored and the signal
 * raised again: the kernel ends the process as killed by it (a shell shows 130 or 143). The
 * journal is append-only, whole lines at a time, and a torn tail is cut on the next open:
 * quitting loses at most the items in flight.
 */
function quitNow(sig: NodeJS.Signals): never {
  // death by a signal runs no 'exit' listeners: run them first (the pool kills the process groups
  // of running commands there, the journal removes its compaction temp file); they are synchronous
  process.emit('exit', sig === 'SIGINT' ? 130 : 143);
  process.removeAllListeners('exit');
  process.removeAllListeners(sig); // the last listener gone, libuv puts back the default action
  process.kill(process.pid, sig);
  // only if the signal could not end us (it cannot be raised): the next best
  process.exit(sig === 'SIGINT' ? 130 : 143);
}
