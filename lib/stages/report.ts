import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ItemResult } from './map.js';
import type { ComponentSpec } from '../core/spec.js';
import { z } from 'zod';
import { latestLines } from '../checkpoint/journal.js';
import type { StaleOutputs } from '../checkpoint/stale-outputs.js';

export const spec: ComponentSpec = {
  kind: 'stage',
  name: 'report',
  description: 'Counts every result and writes report.json atomically at the end (and on interrupt): totals, rate, peak RSS, failures grouped by code with the first examples, slowest items.',
  options: z.lazy(() => reportOptions),
};

export const reportOptions = z.strictObject({
  path: z.string().min(1).describe('where the JSON report goes, relative to the pipeline file (without a report key: <state dir>/report.json)'),
  formats: z.array(z.enum(['json', 'md'])).default(['json']).describe('json always; md adds <path without .json>.md'),
});

const EXAMPLES_PER_CODE = 5;
const SLOWEST = 10;

export interface FailureGroup { code: string; count: number; examples: { path: string; message: string }[] }

/** Run totals; bounded whatever the item count: a few examples per error code, the N slowest. */
export class RunStats {
  ok = 0;
  failed = 0;
  skipped = 0;
  found = 0;
  walking = true;
  readonly started = Date.now();
  private firstProcessed = 0;
  private readonly failures = new Map<string, FailureGroup>();
  private slowest: { path: string; ms: number }[] = [];

  get processed(): number { return this.ok + this.failed; }
  get done(): number { return this.ok + this.failed + this.skipped; }
  get total(): number | null { return this.walking ? null : this.found; }
  elapsedS(now = Date.now()): number { return (now - this.started) / 1000; }

  /** items/s over processed items (skips are nearly free and would make an ETA lie) */
  rate(now = Date.now()): number {
    if (!this.processed) return 0;
    const s = (now - (this.firstProcessed || this.started)) / 1000;
    return s > 0 ? this.processed / s : 0;
  }

  add(r: ItemResult): void {
    if (!this.firstProcessed) this.firstProcessed = Date.now() - r.ms;
    if (r.status === 'ok') this.ok++;
    else {
      this.failed++;
      const code = r.error?.code ?? 'SLUICE_E_PROCESSOR';
      let g = this.failures.get(code);
      if (!g) this.failures.set(code, (g = { code, count: 0, examples: [] }));
      g.count++;
      if (g.examples.length < EXAMPLES_PER_CODE) g.examples.push({ path: r.item.path, message: r.error?.message ?? '' });
    }
    if (this.slowest.length < SLOWEST || r.ms > this.slowest[this.slowest.length - 1]!.ms) {
      this.slowest.push({ path: r.item.path, ms: r.ms });
      this.slowest.sort((a, b) => b.ms - a.ms);
      if (this.slowest.length > SLOWEST) this.slowest.pop();
    }
  }

  failureGroups(): FailureGroup[] {
    return [...this.failures.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  }

  slowItems(): { path: string; ms: number }[] {
    return [...this.slowest];
  }
}

export function peakRssMb(): number {
  // maxRSS is in KiB and covers the whole process, worker threads included
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export interface ReportMeta {
  run: string;
  pipeline: string;
  processor: string;
  config_hash: string;
  started: string;
  ended: string;
  interrupted: boolean;
  stopped: string | null;
  exit_code: number;
  /** journal entries this run's complete walk did not find; null when the walk did not complete */
  vanished: { count: number; examples: string[] } | null;
  /** outputs of inputs that now fail or are gone (found after a complete walk; null when not looked for) */
  stale_outputs: StaleOutputs | null;
  /** the pool: its size, workers alive when the run ended (0 if none was needed), tasks the RSS watchdog stopped */
  workers: { concurrency: number; alive_at_end: number; stopped_for_memory: number };
  /** stdin lines that named no item */
  input_errors: number;
  /**
   * The job, as the checkpoint holds it after this run: items failed now (this run's and those
   * carried from earlier runs), and the failures by code with examples when some are carried
   */
  job: { failed: number; carried_failed: number; failures: FailureGroup[] };
}

/**
 * The failed items in a journal, grouped by code (the first examples of each), newest first: what
 * a rerun with nothing to do still has to report. One backwards pass, parsing only failed lines.
 */
export async function checkpointFailures(journalFile: string): Promise<FailureGroup[]> {
  const groups = new Map<string, FailureGroup>();
  for await (const latest of latestLines(journalFile)) {
    if (latest.status !== 'failed') continue;
    const e = latest.entry;
    const code = e.error?.code ?? 'SLUICE_E_PROCESSOR';
    let g = groups.get(code);
    if (!g) groups.set(code, (g = { code, count: 0, examples: [] }));
    g.count++;
    if (g.examples.length < EXAMPLES_PER_CODE) g.examples.push({ path: e.path, message: e.error?.message ?? '' });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

export function buildReport(stats: RunStats, meta: ReportMeta) {
  const processed = stats.processed;
  return {
    v: 1,
    ...meta,
    total: stats.total,
    found: stats.found,
    ok: stats.ok,
    failed: stats.failed,
    skipped: stats.skipped,
    success_rate: processed ? Number((stats.ok / processed).toFixed(4)) : null,
    elapsed_s: Number(stats.elapsedS().toFixed(3)),
    items_per_s: Number(stats.rate().toFixed(2)),
    peak_rss_mb: peakRssMb(),
    failures: stats.failureGroups(),
    slowest: stats.slowItems(),
  };
}
export type Report = ReturnType<typeof buildReport>;

/** Write via a temp file and rename, so a reader never sees half a report. */
export function writeAtomic(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  let written = false;
  try {
    // writeFileSync on an fd loops over short writes (a filling disk); writeSync makes one call
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    written = true;
  } finally {
    fs.closeSync(fd);
    if (!written) fs.rmSync(tmp, { force: true });
  }
  fs.renameSync(tmp, file);
}

export function reportMarkdown(r: Report): string {
  const lines = [
    `# sluice report: ${r.pipeline}`,
    '',
    `Run ${r.run}, ${r.started} to ${r.ended}${r.interrupted ? ' (interrupted)' : ''}.`,
    '',
    '| total | ok | failed | skipped | success rate | elapsed | items/s | peak RSS |',
    '|---|---|---|---|---|---|---|---|',
    `| ${r.total ?? r.found} | ${r.ok} | ${r.failed} | ${r.skipped} | ${r.success_rate === null ? '-' : (r.success_rate * 100).toFixed(1) + '%'} | ${r.elapsed_s}s | ${r.items_per_s} | ${r.peak_rss_mb} MB |`,
    '',
  ];
  if (r.failures.length) {
    lines.push('## Failures', '');
    for (const g of r.failures) {
      lines.push(`### ${g.code} (${g.count})`, '');
      for (const e of g.examples) lines.push(`- \`${e.path}\`: ${e.message}`);
      lines.push('');
    }
  }
  if (r.job.carried_failed) {
    lines.push('## The job', '', `${r.job.failed} item(s) are failed in the checkpoint, ${r.job.carried_failed} of them from earlier runs (\`sluice results --status failed\` lists them; \`--retry-failed\` runs them again).`, '');
    for (const g of r.job.failures) {
      lines.push(`### ${g.code} (${g.count})`, '');
      for (const e of g.examples) lines.push(`- \`${e.path}\`: ${e.message}`);
      lines.push('');
    }
  }
  if (r.vanished?.count) {
    lines.push('## Vanished inputs', '', `${r.vanished.count} item(s) in the checkpoint were not found by this run's walk${r.vanished.count > r.vanished.examples.length ? `; the first ${r.vanished.examples.length}` : ''}:`, '');
    for (const p of r.vanished.examples) lines.push(`- \`${p}\``);
    lines.push('');
  }
  if (r.stale_outputs?.count) {
    const st = r.stale_outputs;
    const left = st.count - st.pruned;
    lines.push('## Stale outputs', '', `${st.count} output(s) belong to inputs that now fail or are gone${st.pruned ? `; ${st.pruned} removed (--prune-outputs)` : ''}${left ? `; ${left} left${st.pruned ? '' : ' (`--prune-outputs` removes them)'}` : ''}${st.count > st.examples.length ? `; the first ${st.examples.length}` : ''}:`, '');
    for (const p of st.examples) lines.push(`- \`${p}\``);
    lines.push('');
  }
  if (r.slowest.length) {
    lines.push('## Slowest items', '');
    for (const s of r.slowest) lines.push(`- ${s.ms} ms \`${s.path}\``);
    lines.push('');
  }
  return lines.join('\n');
}

export function writeReport(file: string, formats: ('json' | 'md')[], r: Report): void {
  writeAtomic(file, JSON.stringify(r, null, 2) + '\n');
  if (formats.includes('md')) writeAtomic(file.replace(/\.json$/i, '') + '.md', reportMarkdown(r));
}
