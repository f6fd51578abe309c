import type { Writable } from 'node:stream';
import type { ProgressEvent } from './events.js';
import type { RunStats } from '../stages/report.js';

export type ProgressMode = 'auto' | 'ndjson' | 'bar' | 'none';

export function progressEvent(stats: RunStats, inFlight: number, now = Date.now()): ProgressEvent {
  const rate = stats.rate(now);
  const total = stats.total;
  const remaining = total === null ? null : Math.max(0, total - stats.done);
  // ETA once the total is known and a few items have set a rate
  const eta = remaining !== null && rate > 0 && stats.processed >= 3 ? Math.round(remaining / rate) : remaining === 0 ? 0 : null;
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
    eta_s: eta,
    elapsed_s: Number(stats.elapsedS(now).toFixed(1)),
    rss_mb: Math.round(process.memoryUsage.rss() / 1048576),
  };
}

/** One-line bar for a terminal on stderr: redrawn in place, cleared at the end. */
export class ProgressBar {
  constructor(private readonly err: Writable & { columns?: number }) {}

  draw(p: ProgressEvent): void {
    const width = Math.max(10, Math.min(40, (this.err.columns ?? 80) - 60));
    const frac = p.total ? Math.min(1, p.done / p.total) : 0;
    const filled = Math.round(frac * width);
    const bar = p.total ? '#'.repeat(filled) + '-'.repeat(width - filled) : '?'.repeat(width);
    const eta = p.eta_s === null ? '' : ` eta ${fmtSecs(p.eta_s)}`;
    const total = p.total === null ? `${p.done}+` : `${p.done}/${p.total}`;
    this.err.write(`\r[${bar}] ${total} ok ${p.ok} failed ${p.failed} skipped ${p.skipped} ${p.rate}/s${eta}\x1b[K`);
  }

  clear(): void {
    this.err.write('\r\x1b[K');
  }
}

function fmtSecs(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
