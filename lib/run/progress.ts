import path from 'node:path';
import type { Writable } from 'node:stream';
import type { EventSink } from '../core/ndjson.js';
import type { ProgressEvent, SummaryEvent } from '../core/events.js';
import type { Timeline } from './timeline.js';
import { termSafe } from '../core/term.js';
import { formatSeconds } from '../core/duration.js';
import type { RunStats } from './report.js';

export type ProgressMode = 'auto' | 'ndjson' | 'bar' | 'none';

/** What a progress tick reads of the run: its counts, items running now, the time they have had so far (ms), and the one running longest. */
export interface TickState {
  stats: RunStats;
  inFlight: number;
  runningMs: number;
  longest: { path: string; ms: number } | null;
}

function progressEvent(stats: RunStats, inFlight: number, runningMs = 0, now = Date.now()): ProgressEvent {
  // the recent rates, and what is left weighed by bytes (run/eta.ts); null: not known yet
  const eta = stats.etaSeconds(runningMs, now);
  const rate = stats.eta.rate(now);
  const total = stats.expectedTotal;
  return {
    v: 1,
    type: 'progress',
    done: stats.done,
    total,
    found: stats.found,
    walking: stats.walking,
    ok: stats.ok,
    failed: stats.failed,
    skipped: stats.skipped,
    in_flight: inFlight,
    rate: Number(rate.toFixed(1)),
    eta_s: eta === null ? null : Number(eta.toFixed(1)),
    elapsed_s: Number(stats.elapsedS(now).toFixed(1)),
    rss_mb: Math.round(process.memoryUsage.rss() / 1048576),
    ...(stats.stages ? { filtered: stats.filtered, stages: stats.stages.map((c) => c.toJSON()) } : {}),
  };
}

/** One-line bar for a terminal on stderr: redrawn in place, cleared at the end. */
class ProgressBar {
  constructor(private readonly err: Writable & { columns?: number }) {}

  draw(p: ProgressEvent, slowest: { path: string; ms: number } | null = null): void {
    const width = Math.max(10, Math.min(40, (this.err.columns ?? 80) - 60));
    const frac = p.total ? Math.min(1, p.done / p.total) : 0;
    const filled = Math.round(frac * width);
    const bar = p.total ? '#'.repeat(filled) + '-'.repeat(width - filled) : '?'.repeat(width);
    const eta = p.eta_s === null ? ' eta ?' : ` eta ${formatSeconds(p.eta_s)}`;
    const total = p.total === null ? `${p.done}+` : `${p.done}/${p.total}`;
    // the item running longest, once it is slow enough to wonder about (its name, escaped for the terminal)
    const slow = slowest && slowest.ms >= SLOW_SHOWN_MS ? ` slowest ${termName(path.basename(slowest.path))} ${formatSeconds(slowest.ms / 1000)}` : '';
    this.err.write(`\r[${bar}] ${total} ok ${p.ok} failed ${p.failed} skipped ${p.skipped} ${p.rate}/s${eta} ${formatSeconds(p.elapsed_s)}${slow}\x1b[K`);
  }

  clear(): void {
    this.err.write('\r\x1b[K');
  }
}

/** An item running at least this long is named on the bar (ms). */
const SLOW_SHOWN_MS = 2000;

/** A file name as the bar shows it: made safe for the terminal (core/term.ts), at most 40 characters. */
function termName(name: string): string {
  const safe = termSafe(name);
  return safe.length > 40 ? `${safe.slice(0, 18)}...${safe.slice(-19)}` : safe;
}


/** The timeline's samples in a run's first seconds: every EARLY_MS, EARLY_SAMPLES times (a short run has a curve too). */
const EARLY_MS = 200;
const EARLY_SAMPLES = 10;

/**
 * The run's progress: an NDJSON line every interval unless asked not to (skipped while the
 * reader is behind), and a bar on stderr when it is a terminal (or asked for). The timeline
 * gets a sample each interval, and every EARLY_MS in the run's first seconds.
 */
export class ProgressTicker {
  private readonly ndjson: boolean;
  private readonly bar: ProgressBar | null;
  private readonly timer: NodeJS.Timeout | null;
  private early: NodeJS.Timeout | null = null;

  /**
   * `timeline`: where a sample goes every interval too, whatever the mode (other processes read
   * it: `sluice status --follow`, the report).
   */
  constructor(private readonly mode: ProgressMode, intervalMs: number, private readonly events: EventSink, err: Writable & { isTTY?: boolean; columns?: number }, now: () => TickState, private readonly timeline: Timeline | null = null) {
    this.ndjson = mode === 'auto' || mode === 'ndjson';
    this.bar = mode === 'bar' || (mode === 'auto' && err.isTTY) ? new ProgressBar(err) : null;
    // a timer must never throw: reading RSS fails when out of file descriptors; that sample is skipped
    const sample = (): { p: ProgressEvent; s: TickState } | null => {
      try {
        const s = now();
        const p = progressEvent(s.stats, s.inFlight, s.runningMs);
        timeline?.add(p, s.stats.bytes);
        return { p, s };
      } catch {
        return null;
      }
    };
    const tick = () => {
      const got = sample();
      if (!got) return;
      if (this.ndjson && !this.events.busy) void this.events.write(got.p);
      this.bar?.draw(got.p, got.s.longest);
    };
    this.timer = mode === 'none' && !timeline ? null : setInterval(tick, intervalMs);
    this.timer?.unref();
    if (timeline && intervalMs > EARLY_MS) {
      let n = 0;
      this.early = setInterval(() => {
        sample();
        if (++n >= EARLY_SAMPLES) this.stopEarly();
      }, EARLY_MS);
      this.early.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.stopEarly();
  }

  private stopEarly(): void {
    if (this.early) clearInterval(this.early);
    this.early = null;
  }

  /** The last line, nothing in flight, and the bar cleared. */
  async final(stats: RunStats): Promise<void> {
    const p = progressEvent(stats, 0);
    this.timeline?.add(p, stats.bytes);
    if (this.mode === 'none') return;
    if (this.ndjson) await this.events.write(p);
    if (this.bar) { this.bar.draw(p); this.bar.clear(); }
  }

  /** The run's summary closes the timeline; resolves to why the timeline stopped early, if it did. */
  end(summary: SummaryEvent): string | null {
    this.timeline?.end(summary);
    return this.timeline?.problem ?? null;
  }
}
