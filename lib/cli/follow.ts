import fs, { constants as C } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { journalPath } from '../run/state-dir.js';
import { readTimeline, type TimelineLine, type TimelineSample } from '../run/timeline.js';
import { lockHolder } from '../checkpoint/lock.js';
import { openOwnFileSync } from '../core/safe-fs.js';
import { termSafe } from '../core/term.js';
import { formatSeconds } from '../core/duration.js';
import type { ProgressEvent, SummaryEvent } from '../core/events.js';

/** How often the state dir is read again (ms). */
const POLL_MS = 500;
/** Failures read from the journal per poll at most (the rest are counted, not shown). */
const FAILURES_SHOWN = 5;

function progressLine(p: TimelineSample): string {
  const when = new Date(p.t).toTimeString().slice(0, 8);
  const of = p.total === null ? `${p.done}` : `${p.done}/${p.total} (${p.total ? Math.floor((100 * p.done) / p.total) : 100}%)`;
  const eta = p.eta_s === null ? 'eta ?' : `eta ${formatSeconds(p.eta_s)}`;
  return `${when} done ${of}: ${p.ok} ok, ${p.failed} failed, ${p.skipped} skipped; ${p.rate}/s, ${eta}, ${p.in_flight} in flight, ${formatSeconds(p.elapsed_s)} elapsed, ${p.rss_mb} MB\n`;
}

/** The journal's last bytes read at the start, for the run's failures before the follower came. */
const BACKLOG_BYTES = 64 << 10;

/**
 * New lines of the journal since the last read (the first read: its last BACKLOG_BYTES): the
 * failures among them. The journal is only appended to while a run holds the lock, except when
 * it is compacted (rewritten shorter): then the reading goes on from its new end.
 */
class JournalTail {
  private offset: number;
  private rest = '';
  /** the first line read may be the end of one: dropped */
  private partial: boolean;
  constructor(private readonly file: string) {
    this.offset = Math.max(0, this.size() - BACKLOG_BYTES);
    this.partial = this.offset > 0;
  }
  private size(): number {
    try {
      return fs.lstatSync(this.file).size;
    } catch {
      return 0;
    }
  }
  /** The failures recorded at or after `since` (an ISO time: the run's start) among the new lines. */
  failures(since: string): { path: string; code: string; message: string }[] {
    const size = this.size();
    if (size < this.offset) {
      this.offset = size;
      this.rest = '';
    }
    if (size === this.offset) return [];
    let fd: number;
    try {
      fd = openOwnFileSync(this.file, C.O_RDONLY);
    } catch {
      return [];
    }
    try {
      const buf = Buffer.alloc(Math.min(size - this.offset, 4 << 20));
      const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const lines = (this.rest + buf.toString('utf8', 0, n)).split('\n');
      this.rest = lines.pop()!;
      if (this.partial) {
        lines.shift();
        this.partial = false;
      }
      const out: { path: string; code: string; message: string }[] = [];
      for (const l of lines) {
        if (!l.includes('"failed"')) continue;
        try {
          const e = JSON.parse(l) as { status?: string; path?: string; at?: string; error?: { code?: string; message?: string } };
          if (e.status === 'failed' && (e.at ?? '') >= since) out.push({ path: e.path ?? '?', code: e.error?.code ?? '?', message: e.error?.message ?? '' });
        } catch {
          // not a whole line: skipped
        }
      }
      return out;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * `sluice status --follow`: the running run's progress, from its state dir (progress.ndjson and
 * the journal), until it ends; whatever its own stdout is. Human lines, or with `json` its
 * progress samples and summary as NDJSON. Resolves to 0 once the run has ended with a summary
 * (or when none is running), 1 when it stopped without one (killed).
 */
export async function followRun(dir: string, json: boolean, out: NodeJS.WritableStream): Promise<number> {
  // a reader that went away (| head) ends the following
  let gone = false;
  const onError = () => { gone = true; };
  out.on('error', onError);
  const say = (s: string) => void (gone || out.write(s));
  try {
    return await poll(dir, json, say, () => gone);
  } finally {
    out.off('error', onError);
  }
}

async function poll(dir: string, json: boolean, say: (s: string) => void, gone: () => boolean): Promise<number> {
  const tail = json ? null : new JournalTail(journalPath(dir));
  let run: string | null = null;
  let lastT = 0;
  let waited = false;
  for (;;) {
    // a run holds the lock (its record may not be readable yet: still held)
    const running = lockHolder(dir).held;
    const lines: TimelineLine[] = readTimeline(dir) ?? [];
    const head = lines[0]?.type === 'timeline' ? lines[0] : null;
    const summary = lines.find((l): l is SummaryEvent => l.type === 'summary');
    // the timeline of a run that has ended, while no run holds the lock (or one is starting)
    const current = head && (!summary || !running);
    if (current && head.run !== run) {
      run = head.run;
      lastT = 0;
      if (!json) say(`following run ${termSafe(String(head.run))} (pid ${Number(head.pid)}, started ${termSafe(String(head.started))})\n`);
    }
    if (current) {
      for (const l of lines) {
        if (l.type !== 'progress' || (l as { t: number }).t <= lastT) continue;
        lastT = (l as { t: number }).t;
        say(json ? JSON.stringify(l) + '\n' : progressLine(l as TimelineSample));
      }
      for (const f of tail?.failures(head.started).slice(0, FAILURES_SHOWN) ?? []) say(`  failed ${termSafe(f.path)}: ${termSafe(f.code)} ${termSafe(f.message)}\n`);
    }
    if (current && summary) {
      say(json ? JSON.stringify(summary) + '\n' : `run ${termSafe(String(run))} ended: ${summary.ok} ok, ${summary.failed} failed, ${summary.skipped} skipped in ${formatSeconds(summary.elapsed_s)}, exit ${summary.exit_code}${summary.stopped ? ` (stopped: ${termSafe(String(summary.stopped))})` : ''}\n`);
      return 0;
    }
    if (!running) {
      if (!head) {
        if (!json) say('no run is running here, and none has left a progress timeline\n');
        return 0;
      }
      // a run gone without its summary: killed (the next run resumes it)
      if (waited || run !== null) {
        if (!json) say(`run ${termSafe(String(head.run))} stopped without a summary (killed?): \`sluice run\` again resumes it\n`);
        return 1;
      }
    }
    waited = true;
    await sleep(POLL_MS);
    if (gone()) return 0;
  }
}
