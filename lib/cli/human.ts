import type { Writable } from 'node:stream';
import { NdjsonWriter } from '../core/ndjson.js';
import type { ResultEvent, StartEvent, SummaryEvent } from '../core/events.js';
import { termSafe } from '../core/term.js';
import { formatSeconds } from '../core/duration.js';

type Paint = (code: number, s: string) => string;

/** SGR colour for a terminal stream that has colours, unless NO_COLOR is set; plain text otherwise. */
export function painter(out: { hasColors?: () => boolean }): Paint {
  return !process.env.NO_COLOR && !!out.hasColors?.() ? (code, s) => `\x1b[${code}m${s}\x1b[0m` : (_, s) => s;
}

/** A run's summary as one line for people: what was done, what failed, how to resume or retry. */
export function summaryText(s: SummaryEvent, paint: Paint = (_, x) => x): string {
  const failed = s.failed ? paint(31, `${s.failed} failed`) : '0 failed';
  const parts = [`${s.ok} ok, ${failed}, ${s.skipped} skipped in ${formatSeconds(s.elapsed_s, true)}`];
  if (s.stopped) parts.push(`stopped (${s.stopped}): the same command again resumes`);
  if (s.failed || s.carried_failed) parts.push('`sluice results --status failed` lists the failures, --retry-failed runs them again');
  if (s.report) parts.push(`report ${termSafe(s.report)}`);
  return `sluice: ${parts.join('; ')}\n`;
}

/**
 * A run's events for a person at a terminal (stdout is one, and --json was not given): a line
 * per result (status, path, time or error code and message), the start and the summary in words,
 * warnings and input errors; progress lines are left to the bar on stderr. Names and messages
 * go through termSafe. Colour when the terminal has it and NO_COLOR is not set.
 */
export class HumanWriter extends NdjsonWriter {
  private readonly paint: Paint;

  /** `clearLine`: the progress bar is drawn on the same terminal (stderr): each line first clears it, so the two never mix (the bar is drawn again at its next tick). */
  constructor(out: Writable & { hasColors?: () => boolean }, private readonly clearLine = false) {
    super(out);
    this.paint = painter(out);
  }

  protected override format(event: object): string | null {
    const line = this.line(event);
    return line !== null && this.clearLine ? '\r\x1b[K' + line : line;
  }

  private line(event: object): string | null {
    const e = event as { type: string } & Record<string, unknown>;
    const p = this.paint;
    switch (e.type) {
      case 'start': {
        const s = e as unknown as StartEvent;
        return p(2, `run ${s.run}: ${termSafe(s.pipeline)} (${termSafe(s.processor)}, ${s.concurrency} workers), state ${termSafe(s.state)}${s.already_done ? `, ${s.already_done} already done` : ''}`) + '\n';
      }
      case 'result': {
        const r = e as unknown as ResultEvent;
        const what = `${termSafe(r.path)}${r.index !== undefined ? ` #${r.index}` : ''}${r.stage ? ` [${termSafe(r.stage)}]` : ''}`;
        if (r.status === 'ok') return `${p(32, 'ok  ')}  ${what}  ${p(2, `${r.ms}ms`)}\n`;
        if (r.status === 'filtered') return `${p(2, 'drop')}  ${what}\n`;
        return `${p(31, 'FAIL')}  ${what}  ${p(31, r.error?.code ?? '')} ${termSafe(r.error?.message ?? '')}\n`;
      }
      case 'progress':
        return null;
      case 'warning':
        return `${p(33, 'warn')}  ${termSafe(String(e.path ?? ''))}  ${e.code} ${termSafe(String(e.message ?? ''))}\n`;
      case 'error':
        return `${p(31, 'error')} ${e.line !== undefined ? `stdin line ${e.line}: ` : ''}${e.code} ${termSafe(String(e.message ?? ''))}\n`;
      case 'summary':
        return summaryText(e as unknown as SummaryEvent, p);
      default:
        return JSON.stringify(event) + '\n';
    }
  }
}
