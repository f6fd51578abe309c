import { Writable } from 'node:stream';
import { ERROR_CODES, isErrorCode, stopsRun } from '../core/errors.js';
import type { ResultEvent } from '../core/events.js';
import { MAX_JOURNALED_OUTPUT, type Journal, type JournalEntry } from '../checkpoint/journal.js';
import type { ItemResult } from '../stages/map.js';
import { runErrorStop, type StopReason } from './stop.js';

// Recording a result: what a finished item becomes in the journal and on stdout, and back. The
// line's bytes (field order, the fast parser's prefix) are checkpoint/journal.ts's formatLine and
// isFastLine; which fields a result puts there, and how `sluice results` turns a line back into
// the event the run printed, are here, and nowhere else.

/**
 * The journal entry of a finished item: one shape for every entry, key, status and path first
 * (formatLine writes it as it is); a field left undefined is not written. The output goes in when
 * its JSON is small, so `sluice results` can rebuild what stdout showed.
 */
function entryOf(r: ItemResult, at = new Date()): JournalEntry {
  const { item, output } = r;
  const small = output !== undefined && JSON.stringify(output).length <= MAX_JOURNALED_OUTPUT;
  return {
    key: item.key!, status: r.status === 'failed' ? 'failed' : 'ok', path: item.path, path_b64: item.path_b64 || undefined,
    at: at.toISOString(), ms: r.ms, attempts: r.attempts,
    output: small ? output : undefined, output_omitted: output !== undefined && !small ? true : undefined,
    outputs: r.outputs, outputs_more: r.outputs_more || undefined,
    error: r.error ? { code: r.error.code, message: r.error.message } : undefined,
    stage: r.stage || undefined, filtered: r.status === 'filtered' ? true : undefined,
    parent: item.parent, index: item.parent !== undefined ? item.index : undefined, children: r.children,
  };
}

/** The `result` event a run prints for a finished item. */
function eventOf(r: ItemResult): ResultEvent {
  const ev: ResultEvent = { v: 1, type: 'result', key: r.item.key!, path: r.item.path, status: r.status, ms: r.ms, attempts: r.attempts };
  if (r.item.path_b64) ev.path_b64 = r.item.path_b64;
  if (r.stage) ev.stage = r.stage;
  if (r.item.parent !== undefined) {
    ev.parent = r.item.parent;
    ev.index = r.item.index!;
  }
  if (r.children !== undefined) ev.children = r.children;
  if (r.output) ev.output = r.output;
  if (r.error) ev.error = r.error;
  return ev;
}

/** A journal entry as the `result` event the run printed for it (`sluice results`). */
export function eventOfEntry(e: JournalEntry): ResultEvent & { output_omitted?: true; at: string } {
  const ev: ResultEvent & { output_omitted?: true; at: string } = {
    v: 1, type: 'result', key: e.key, path: e.path, status: e.filtered ? 'filtered' : e.status, ms: e.ms, attempts: e.attempts ?? 1, at: e.at,
  };
  if (e.path_b64) ev.path_b64 = e.path_b64;
  if (e.stage) ev.stage = e.stage;
  if (e.parent !== undefined) {
    ev.parent = e.parent;
    ev.index = e.index ?? 0;
  }
  if (e.children !== undefined) ev.children = e.children;
  if (e.output) ev.output = e.output;
  if (e.output_omitted) ev.output_omitted = true;
  if (e.error) ev.error = { code: e.error.code, message: e.error.message, retryable: isErrorCode(e.error.code) ? ERROR_CODES[e.error.code].retryable : false };
  return ev;
}

/**
 * What is never recorded: an item stopped at a stop (SLUICE_E_ABORTED: the next run does it),
 * and a failure that is the run's, not the item's (a full disk, no descriptors, a processor that
 * cannot load: errors.ts stopsRun), which stops the run (the sink ends with its error). Else
 * the result is recorded (true).
 */
export function keepByDefault(r: ItemResult): boolean | RunErrorStop {
  if (r.error?.code === 'SLUICE_E_ABORTED') return false;
  if (r.error && stopsRun(r.error.code)) return runErrorStop(r.item.path, r.error);
  return true;
}

type RunErrorStop = StopReason & { kind: 'run-error' };

export interface RecordHooks {
  /** whether to record this result; one that is not is left for the next run; an Error or a run-error stop ends the stream (default: keepByDefault) */
  keep?: (r: ItemResult) => boolean | Error | RunErrorStop;
  /** after the line is handed to the journal: print the event, count it (awaited: backpressure) */
  recorded?: (r: ItemResult, ev: ResultEvent) => Promise<void> | void;
  /** a result not kept, or a null (an item dropped at a stop) */
  dropped?: (r: ItemResult | null) => Promise<void> | void;
}

/** The run's fan-in (stages/chain.ts FanIn): parents held until their children are recorded. */
interface FanInHooks {
  /** fan-in, before anything else: the result to record (changed or not), or 'hold' (nothing now), or 'drop' (not recorded) */
  arrive?: (r: ItemResult) => ItemResult | 'hold' | 'drop';
  /** after a result was recorded (true) or not: results it releases, each recorded in turn (true) or dropped (false) */
  after?: (r: ItemResult, recorded: boolean) => { r: ItemResult; record: boolean }[];
}

/**
 * The journal sink: each result is appended to the journal, and only then printed (`recorded`),
 * one at a time in arrival order, so that whatever was printed is on record. A `keep` that
 * returns an Error fails the stream with it.
 */
export class RecordSink extends Writable {
  constructor(private readonly journal: Journal, private readonly hooks: RecordHooks & FanInHooks = {}) {
    super({ objectMode: true, highWaterMark: 16 });
  }

  override _write(r: ItemResult | null, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    const arrived = r && this.hooks.arrive ? this.hooks.arrive(r) : r;
    if (arrived === 'hold') return cb();
    const step = arrived === 'drop' ? this.drop(r!) : this.one(arrived);
    step.then(() => cb(), cb);
  }

  private async one(r: ItemResult | null): Promise<void> {
    const h = this.hooks;
    const keep = r ? (h.keep ?? keepByDefault)(r) : false;
    if (keep instanceof Error) throw keep;
    if (typeof keep === 'object') throw keep.error;
    if (!keep) return this.drop(r);
    await this.journal.append(entryOf(r!));
    await h.recorded?.(r!, eventOf(r!));
    await this.release(r!, true);
  }

  private async drop(r: ItemResult | null): Promise<void> {
    await this.hooks.dropped?.(r);
    if (r) await this.release(r, false);
  }

  /** What recording (or dropping) `r` lets go (fan-in: a parent after its last child), each in turn. */
  private async release(r: ItemResult, recorded: boolean): Promise<void> {
    for (const next of this.hooks.after?.(r, recorded) ?? []) await (next.record ? this.one(next.r) : this.drop(next.r));
  }
}
