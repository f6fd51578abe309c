import path from 'node:path';
import type { Writable } from 'node:stream';
import { SluiceError } from '../core/errors.js';
import type { ErrorEvent, SluiceEvent, SummaryEvent } from '../core/events.js';
import type { EventSink } from '../core/ndjson.js';
import { VERSION } from '../core/version.js';
import { defaultConcurrency } from '../stages/map.js';
import { loadPipelineFile, parsePipeline, type PipelineConfig, type PipelineSpec } from './config.js';
import { runPipeline, type RunOptions, type RunOutcome } from './run.js';

export type { PipelineSpec, StageSpec } from './config.js';

// run() for programs: the same code path as `sluice run` (runPipeline: lock, walker thread,
// journal, stop handling, report), in this process, with the events as objects.

/**
 * What `sluice run`'s flags say, as options: the same fields as the run's own (run.ts RunOptions,
 * where each is described), and what only a program has.
 */
export interface RunApiOptions extends Partial<Pick<RunOptions, 'mode' | 'keepDone' | 'stateDir' | 'concurrency' | 'maxItems' | 'maxFailures' | 'keepOrder' | 'runStatus' | 'pruneOutputs' | 'graceMs'>> {
  /** a `progress` event this often (ms, at least 50); 0 for none. Default 1000 */
  progressIntervalMs?: number;
  /** aborting stops the run as Ctrl-C would: no new items, in-flight ones finish (within graceMs), everything recorded is kept; exit code 130 (143 when the reason is 'SIGTERM') */
  signal?: AbortSignal;
  /** where sluice's own messages go (warnings, notes); default process.stderr */
  stderr?: Writable;
  /** a pipeline given as an object: the folder its relative paths are relative to (default the cwd) */
  baseDir?: string;
}


/**
 * A run going on. Iterate it for the events (start, result, progress, warning, error, summary:
 * docs/events.md); `summary` and `outcome` settle when the run has ended. Breaking out of the
 * iteration stops the run as a closed stdout does (exit 141), everything recorded kept. Until
 * an iteration starts, the first EVENTS_KEPT events are kept and later ones dropped (memory stays
 * bounded); once iterating, the run waits for the reader.
 */
export interface RunHandle extends AsyncIterable<SluiceEvent | ErrorEvent> {
  /** the summary event (rejects with a SluiceError when the run could not start: a bad pipeline, a held lock) */
  readonly summary: Promise<SummaryEvent>;
  /** exit code, summary, and why the run stopped early */
  readonly outcome: Promise<RunOutcome>;
}

/** Events kept for a handle nobody iterates yet. */
export const EVENTS_KEPT = 256;

/** Start a run of a pipeline file (path) or object. Never throws: a run that cannot start rejects `summary` and the iteration. */
export function run(pipeline: string | PipelineSpec, options: RunApiOptions = {}): RunHandle {
  const queue = new EventQueue();
  const outcome = (async () => {
    const config = configOf(pipeline, options.baseDir);
    const interval = options.progressIntervalMs ?? 1000;
    if (interval !== 0 && !(interval >= 50)) throw new SluiceError('SLUICE_E_USAGE', `progressIntervalMs: expected 0 or at least 50, got ${interval}`);
    return runPipeline({
      config,
      version: VERSION,
      mode: options.mode ?? 'resume',
      keepDone: !!options.keepDone,
      stateDir: options.stateDir,
      concurrency: options.concurrency ?? config.map.concurrency ?? defaultConcurrency(),
      progress: interval === 0 ? 'none' : 'ndjson',
      progressIntervalMs: interval || 1000,
      maxItems: options.maxItems,
      maxFailures: options.maxFailures,
      keepOrder: !!options.keepOrder,
      runStatus: !!options.runStatus,
      pruneOutputs: !!options.pruneOutputs,
      graceMs: options.graceMs,
      events: queue,
      err: (options.stderr ?? process.stderr) as Writable & { isTTY?: boolean },
      stop: options.signal,
    });
  })();
  outcome.then(() => queue.end(), (err: unknown) => queue.end(err));
  const summary = outcome.then((o) => o.summary);
  // a program that only iterates must not see an unhandled rejection from the promises it ignored
  summary.catch(() => {});
  outcome.catch(() => {});
  return { summary, outcome, [Symbol.asyncIterator]: () => queue.iterate() };
}

function configOf(pipeline: string | PipelineSpec, baseDir?: string): PipelineConfig {
  if (typeof pipeline === 'string') return loadPipelineFile(pipeline);
  if (!pipeline || typeof pipeline !== 'object') throw new SluiceError('SLUICE_E_USAGE', 'run(): expected a pipeline file path or a pipeline object');
  const base = path.resolve(baseDir ?? process.cwd());
  return parsePipeline(JSON.stringify(pipeline), '(object given to run())', base, undefined, true);
}

/**
 * The events of one run for one reader, with backpressure: `write` waits while EVENTS_KEPT are
 * unread. Before the reader comes, writes never wait and events past EVENTS_KEPT are dropped.
 */
class EventQueue implements EventSink {
  private readonly buf: object[] = [];
  private head = 0;
  private reader: (() => void) | null = null;
  private readonly writers: (() => void)[] = [];
  private readonly closedFns: (() => void)[] = [];
  private ended = false;
  private failure: unknown = undefined;
  private iterating = false;
  closed = false;
  dropped = 0;

  private get size(): number {
    return this.buf.length - this.head;
  }

  get busy(): boolean {
    return this.closed || (this.iterating && this.size >= EVENTS_KEPT);
  }

  write(event: object): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.iterating && this.size >= EVENTS_KEPT) {
      this.dropped++;
      return Promise.resolve();
    }
    this.buf.push(event);
    this.wake();
    if (this.iterating && this.size >= EVENTS_KEPT) return new Promise((resolve) => this.writers.push(resolve));
    return Promise.resolve();
  }

  onClosed(fn: () => void): void {
    if (this.closed) fn();
    else this.closedFns.push(fn);
  }

  end(err?: unknown): void {
    this.ended = true;
    this.failure = err;
    this.wake();
  }

  private wake(): void {
    const r = this.reader;
    this.reader = null;
    r?.();
  }

  private take(): object {
    const ev = this.buf[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.buf.length) {
      this.buf.splice(0, this.head);
      this.head = 0;
    }
    if (this.size < EVENTS_KEPT) for (const w of this.writers.splice(0)) w();
    return ev;
  }

  async *iterate(): AsyncGenerator<SluiceEvent | ErrorEvent> {
    if (this.iterating) throw new SluiceError('SLUICE_E_USAGE', 'a run\'s events can be iterated once');
    this.iterating = true;
    let finished = false;
    try {
      for (;;) {
        if (this.size) {
          yield this.take() as SluiceEvent;
          continue;
        }
        if (this.ended) {
          finished = true;
          if (this.failure !== undefined) throw this.failure;
          return;
        }
        await new Promise<void>((resolve) => { this.reader = resolve; });
      }
    } finally {
      if (!finished && !this.ended) {
        // the reader left early: the run stops as it does when stdout is closed
        this.closed = true;
        for (const w of this.writers.splice(0)) w();
        for (const fn of this.closedFns.splice(0)) fn();
      }
    }
  }
}
