import { SluiceError, type ErrorInfo } from '../core/errors.js';

/**
 * Why a run stops before its inputs run out, as a value, and what each cause means for the
 * run: its text in the summary and report (`stopped`), whether items queued but not started are
 * dropped (left for the next run), whether the report calls the run interrupted, and its exit
 * status. A new cause is one more member of StopReason and one more case in each switch below
 * (the compiler lists the switches that miss it).
 */
export type StopReason =
  /** SIGINT, SIGTERM, or a program's AbortSignal (`reason` is the abort's reason: 'SIGINT' or 'SIGTERM' from the CLI) */
  | { kind: 'abort'; reason: string }
  /** stdout was closed by its reader (`| head`) */
  | { kind: 'pipe' }
  /** --max-items N admitted N items: those run, nothing more is taken */
  | { kind: 'max-items'; limit: number }
  /** --max-failures N recorded N failures */
  | { kind: 'max-failures'; limit: number }
  /** a failure that is the run's, not the item's (disk full, out of descriptors, the processor cannot load): errors.ts stopsRun */
  | { kind: 'run-error'; error: SluiceError; what: string };

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, FATAL: 3, SIGINT: 130, SIGTERM: 143, PIPE: 141 } as const;

/** The cause as the summary's and the report's `stopped` field says it. */
export function stopText(r: StopReason): string {
  switch (r.kind) {
    case 'abort': return r.reason;
    case 'pipe': return 'stdout closed';
    case 'max-items': return `--max-items ${r.limit} reached`;
    case 'max-failures': return `--max-failures ${r.limit} reached`;
    case 'run-error': return r.what;
  }
}

/** Items taken but not started are dropped (the next run does them); --max-items lets the admitted ones run. */
function dropsQueued(r: StopReason): boolean {
  return r.kind !== 'max-items';
}

/** The run did not get to the end of what it was asked to do (--max-items asked for a part). */
export function interrupts(r: StopReason): boolean {
  return r.kind !== 'max-items';
}

/**
 * The exit status, in one place: a fatal error's own (errors.ts), a signal's 128+n (an abort
 * that is not SIGTERM counts as Ctrl-C), 141 for a closed stdout; else 1 when an item failed.
 */
export function exitCodeOf(stop: StopReason | null, fatal: SluiceError | null, failed: boolean): number {
  if (fatal) return fatal.exitCode;
  switch (stop?.kind) {
    case 'pipe': return EXIT.PIPE;
    case 'abort': return stop.reason === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT;
    case 'max-items':
    case 'max-failures':
    case 'run-error':
    case undefined:
      return failed ? EXIT.FAILED : EXIT.OK;
  }
}

/** The reason an AbortSignal gives: its reason when a string (the CLI aborts with the signal's name), else 'aborted'. */
export function abortReason(signal: AbortSignal): StopReason {
  return { kind: 'abort', reason: typeof signal.reason === 'string' ? signal.reason : 'aborted' };
}

/** The stop, and the error the run ends with, for a failure that is the run's, not the item's (errors.ts stopsRun). */
export function runErrorStop(shown: string, e: ErrorInfo): StopReason & { kind: 'run-error' } {
  const kept = 'the run stopped, everything recorded is kept';
  switch (e.code) {
    case 'SLUICE_E_DISK_FULL':
      return { kind: 'run-error', what: 'disk full', error: new SluiceError(e.code, `no space left writing the output of ${shown}: ${e.message}; ${kept}`) };
    case 'SLUICE_E_FD_LIMIT':
      return { kind: 'run-error', what: 'out of file descriptors', error: new SluiceError(e.code, `out of file descriptors on ${shown}: ${e.message}; ${kept}; raise the open-file limit (ulimit -n) and run again`) };
    default:
      return { kind: 'run-error', what: 'the processor could not be loaded', error: new SluiceError(e.code, `${e.message}; ${kept}`) };
  }
}

/**
 * A run's stopping state: the first cause wins; the walk's signal aborts; the actions a cause
 * asks for (drop queued items, release held results) are the run's, registered with onStop.
 */
export class Stopper {
  private first: StopReason | null = null;
  private dropping = false;
  private readonly walk = new AbortController();
  private readonly actions: ((dropQueued: boolean) => void)[] = [];

  /** aborts when the walk (and admission of new items) is to stop */
  get signal(): AbortSignal {
    return this.walk.signal;
  }

  get reason(): StopReason | null {
    return this.first;
  }

  /** items queued but not started are being dropped */
  get dropQueued(): boolean {
    return this.dropping;
  }

  /** run `action` at every stop (with whether queued items are dropped), and now if stopped already */
  onStop(action: (dropQueued: boolean) => void): void {
    this.actions.push(action);
    if (this.first) action(this.dropping);
  }

  stop(r: StopReason): void {
    this.first ??= r;
    if (dropsQueued(r)) this.dropping = true;
    for (const a of this.actions) a(dropsQueued(r));
    this.walk.abort();
  }

  /** a stop seen after the pipeline ended (the signal's listener is gone by then) */
  late(signal: AbortSignal | undefined): void {
    if (!this.first && signal?.aborted) this.first = abortReason(signal);
  }
}
