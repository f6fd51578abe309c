import { latestLineBatches } from '../checkpoint/journal.js';
import { readRunState } from '../checkpoint/state.js';
import { defaultDisplay } from '../core/fsx.js';
import { buildReport, RunStats } from './report.js';
import { journalPath } from './state-dir.js';
import { readTimeline, samplesOf, type TimelineLine, type TimelineSample } from './timeline.js';
import type { ProgressEvent, SummaryEvent } from '../core/events.js';

const MS = /"ms":(\d+)/;
/** an ok line that is not a plain item's: dropped by a filter, or a child (fan-out); such a line is parsed whole */
const SPECIAL = /"filtered":true|"parent":/;

export type RebuiltReport = ReturnType<typeof buildReport> & {
  /** the items by duration (RunStats.durations) */
  durations: number[];
  /** the run's progress samples (progress.ndjson), at most its 2,000 */
  timeline: (TimelineSample)[];
  /** the run ended with a summary (false: running now, or killed) */
  ended_cleanly: boolean;
  version: string;
  /** the command line of the run (null: a timeline from before sluice recorded it) */
  command: string | null;
};

/**
 * The report of a state dir's job, from what is on disk: the journal (every item's latest
 * result: counts, failures by code with the first examples, the slowest items, durations) and
 * the last run's progress timeline (throughput, in flight and memory over time, its elapsed time
 * and peak RSS), so a run killed with SIGKILL, or one still going, has one too. Reads the journal
 * as a stream: memory is bounded by the examples and buckets kept, not by the item count.
 */
export async function rebuildReport(stateDir: string, version: string): Promise<RebuiltReport> {
  const run = readRunState(stateDir);
  const lines: TimelineLine[] = readTimeline(stateDir) ?? [];
  const head = lines[0]?.type === 'timeline' ? lines[0] : null;
  const samples = samplesOf(lines);
  const summary = lines.find((l): l is SummaryEvent => l.type === 'summary') ?? null;
  const stats = new RunStats();
  for await (const batch of latestLineBatches(journalPath(stateDir))) for (const l of batch) {
    // most lines are plain ok items: their time read off the line (the first "ms" is the entry's
    // own: it comes before the output), the entry parsed only when the item is among the slowest
    if (l.status === 'ok' && !SPECIAL.test(l.line)) {
      const ms = Number(MS.exec(l.line)?.[1] ?? 0);
      if (!stats.isSlow(ms)) {
        stats.countOk(ms);
        continue;
      }
    }
    const e = l.entry;
    if (!e) continue;
    const status = e.filtered ? 'filtered' : e.status;
    stats.add({ item: { path: e.path, file: e.path, root: '.', rel: e.path, size: 0, mtime_ms: 0, ...(e.parent !== undefined ? { parent: e.parent, index: e.index } : {}) }, status, ms: e.ms ?? 0, attempts: e.attempts ?? 1, error: e.error ? { ...e.error, retryable: false } : undefined });
  }
  stats.found = stats.ok + stats.failed + stats.filtered;
  stats.walking = false;
  const last = samples.at(-1);
  const elapsed = summary?.elapsed_s ?? last?.elapsed_s ?? 0;
  const report = buildReport(stats, {
    run: head?.run ?? run?.last?.run ?? '?', state: defaultDisplay(stateDir), pipeline: run?.pipeline ?? '?', processor: run?.processor ?? '?',
    config_hash: run?.config_hash ?? '?', started: head?.started ?? run?.last?.started ?? '?', ended: run?.last?.ended ?? '(not ended)',
    interrupted: !summary || !!summary.stopped, stopped: summary?.stopped ?? (summary ? null : 'no summary: killed, or still running'),
    exit_code: summary?.exit_code ?? -1, vanished: null, stale_outputs: null,
    workers: { concurrency: 0, alive_at_end: 0, stopped_for_memory: 0 }, input_errors: summary?.input_errors ?? 0,
    job: { failed: stats.failed, carried_failed: 0, failures: [] },
  });
  // what the process that builds this cannot know of the run: from its timeline
  report.elapsed_s = elapsed;
  report.items_per_s = elapsed > 0 ? Number(((stats.ok + stats.failed) / elapsed).toFixed(2)) : 0;
  report.peak_rss_mb = samples.reduce((m, s) => Math.max(m, s.rss_mb), 0);
  // paths as a run shows them (relative to the current directory when under it), for the few kept
  for (const g of report.failures) for (const x of g.examples) x.path = defaultDisplay(x.path);
  for (const x of report.slowest) x.path = defaultDisplay(x.path);
  return { ...report, durations: [...stats.durations], timeline: samples, ended_cleanly: !!summary, version, command: head?.command ?? null };
}
