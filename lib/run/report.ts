import fs from 'node:fs';
import path from 'node:path';
import type { ItemResult } from '../stages/map.js';
import type { StageCounts } from '../stages/chain.js';
import type { ComponentSpec } from '../core/spec.js';
import { z } from '../core/zod.js';
import { latestLines } from '../checkpoint/journal.js';
import { canonicalPath, isInside, defaultDisplay as shown } from '../core/fsx.js';
import { writeAtomic } from '../core/safe-fs.js';
import { shellWord } from '../core/shell.js';
import { REPORT_FORMATS, reportFormatPath, reportFormatPaths, STATE_REPORT_FILE, type ReportFormat } from '../checkpoint/files.js';
import { Eta, type Remaining } from './eta.js';
import type { Counted } from './count-ahead.js';
import type { StaleOutputs } from '../checkpoint/stale-outputs.js';

export const spec: ComponentSpec = {
  kind: 'key',
  name: 'report',
  description: 'Counts every result and writes report.json atomically at the end (and on interrupt): totals, rate, peak RSS, failures grouped by code with the first examples, slowest items.',
  options: z.lazy(() => reportOptions),
};

export const reportOptions = z.strictObject({
  path: z.string().min(1).describe('where the JSON report goes, relative to the pipeline file (without a report key: <state dir>/report.json); not elsewhere in the state dir'),
  formats: z.array(z.enum(REPORT_FORMATS)).default(['json']).describe('json always; md adds <path without .json>.md, html <path without .json>.html (one self-contained file: no script, no network request, charts as inline SVG)'),
});

const EXAMPLES_PER_CODE = 5;
const SLOWEST = 10;

interface FailureGroup { code: string; count: number; examples: { path: string; message: string }[] }

/** Item durations by power of two of milliseconds: bucket b holds [2^(b-1), 2^b) ms, bucket 0 under 1 ms. */
export const DURATION_BUCKETS = 32;

/** Run totals; bounded whatever the item count: a few examples per error code, the N slowest. */
export class RunStats {
  ok = 0;
  failed = 0;
  skipped = 0;
  /** dropped by a filter stage */
  filtered = 0;
  found = 0;
  /** fan-out: child items, by outcome (not in ok, failed, filtered: those count the items found) */
  readonly childCounts = { ok: 0, failed: 0, filtered: 0 };
  /** children done in an earlier run, not run again */
  skippedChildren = 0;
  /** pipelines of several stages: each stage's figures */
  stages: readonly StageCounts[] | null = null;
  walking = true;
  readonly started = Date.now();
  private firstProcessed = 0;
  private readonly failures = new Map<string, FailureGroup>();
  private slowest: { path: string; ms: number }[] = [];
  /** the items processed (children too, not those filtered) by time in the worker: DURATION_BUCKETS counts */
  readonly durations = new Array<number>(DURATION_BUCKETS).fill(0);
  private countDuration(ms: number): void {
    this.durations[ms >= 1 ? Math.min(DURATION_BUCKETS - 1, 1 + Math.floor(Math.log2(ms))) : 0]!++;
  }

  get processed(): number { return this.ok + this.failed; }
  /** bytes of the items processed (ok or failed), for MB/s */
  bytes = 0;
  get hasChildren(): boolean { return this.childCounts.ok + this.childCounts.failed + this.childCounts.filtered + this.skippedChildren > 0; }
  /** fan-out figures; `peak_in_flight`: most children handed on and not yet recorded at once (set by the run) */
  peakChildrenInFlight = 0;
  childFigures(): { ok: number; failed: number; filtered: number; skipped: number; peak_in_flight: number } {
    return { ...this.childCounts, skipped: this.skippedChildren, peak_in_flight: this.peakChildrenInFlight };
  }
  get done(): number { return this.ok + this.failed + this.skipped + this.filtered; }
  /** the items the walk found, once it has ended (null: it did not end, the run stopped first) */
  get total(): number | null { return this.walking ? null : this.found; }
  /** the items the run takes, as progress shows it: the walk's count once it has ended, else the count ahead's, else null */
  get expectedTotal(): number | null {
    if (!this.walking) return this.found;
    return this.counted ? Math.max(this.counted.found, this.found) : null;
  }
  /** what the count ahead found (count-ahead.ts): every file, those done in the checkpoint, the others by size class */
  counted: Counted | null = null;
  readonly eta = new Eta();

  /** What is left to do, as the ETA weighs it; null while not known. */
  remaining(): Remaining | null {
    const todoByClass = this.counted?.sizes ?? null;
    if (!this.walking) return { items: Math.max(0, this.found - this.done), todoByClass };
    const c = this.counted;
    if (!c || c.skipped === null) return null;
    return { items: Math.max(0, c.found - c.skipped - (this.ok + this.failed + this.filtered)), todoByClass };
  }

  /** Seconds left (null: not known yet), given the time the items running now have had so far; samples the recent rate. */
  etaSeconds(runningMs = 0, now = Date.now()): number | null {
    this.eta.sample(runningMs, now);
    return this.eta.seconds(this.remaining(), runningMs, now);
  }
  elapsedS(now = Date.now()): number { return (now - this.started) / 1000; }

  /** items/s over processed items (skips are nearly free and would make an ETA lie) */
  rate(now = Date.now()): number {
    if (!this.processed) return 0;
    const s = (now - (this.firstProcessed || this.started)) / 1000;
    return s > 0 ? this.processed / s : 0;
  }

  add(r: ItemResult): void {
    const child = r.item.parent !== undefined;
    if (child) this.childCounts[r.status]++;
    else if (r.status === 'filtered') this.filtered++;
    if (!child && r.status === 'filtered') this.eta.drop(r.item.size);
    if (r.status !== 'filtered') this.countDuration(r.ms);
    if (r.status === 'filtered' || (child && r.status === 'ok')) return;
    if (!this.firstProcessed) this.firstProcessed = Date.now() - r.ms;
    if (!child) { this.eta.add(r.item.size, r.ms); this.bytes += r.item.size; }
    if (r.status === 'ok') this.ok++;
    else {
      // a failed child's cause is among the failures; its parent counts it as one failed item
      if (!child) this.failed++;
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

  /** Whether an item that took `ms` would be among the slowest kept (a reader of many items builds the item only then). */
  isSlow(ms: number): boolean {
    return this.slowest.length < SLOWEST || ms > this.slowest[this.slowest.length - 1]!.ms;
  }

  /** An ok item (not a child, not filtered) that is not among the slowest (isSlow false): counted, nothing else. */
  countOk(ms: number): void {
    this.ok++;
    this.countDuration(ms);
  }

  failureGroups(): FailureGroup[] {
    return [...this.failures.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  }

  slowItems(): { path: string; ms: number }[] {
    return [...this.slowest];
  }
}

function peakRssMb(): number {
  // maxRSS is in KiB and covers the whole process, worker threads included
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

interface ReportMeta {
  run: string;
  /** the state dir (as the run showed it): where `sluice results` reads every failure; absent for a library run */
  state?: string;
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
  /** the pool: its size, workers alive when the run ended (0 if none was needed), tasks the RSS watchdog stopped; queued runs: items redelivered */
  workers: { concurrency: number; alive_at_end: number; stopped_for_memory: number; redelivered?: number };
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
    if (!e) continue; // an unreadable line (warned about where it is read)
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
    ...(stats.stages ? { filtered: stats.filtered, stages: stats.stages.map((c) => c.toJSON()) } : {}),
    ...(stats.hasChildren ? { children: stats.childFigures() } : {}),
    success_rate: processed ? Number((stats.ok / processed).toFixed(4)) : null,
    elapsed_s: Number(stats.elapsedS().toFixed(3)),
    items_per_s: Number(stats.rate().toFixed(2)),
    peak_rss_mb: peakRssMb(),
    failures: stats.failureGroups(),
    slowest: stats.slowItems(),
  };
}
type Report = ReturnType<typeof buildReport>;

/** A word for a POSIX shell: as it is when it is plain, else in single quotes. */
/** The command that lists every failure of `code` in the state dir `state` (a library run: the default one). */
export function failuresCommand(code: string, state: string | undefined): string {
  return `sluice results ${state ? `--state ${shellWord(state)} ` : ''}--status failed | jq -r 'select(.error.code == "${code}") | .path'`;
}

/**
 * Failure groups as Markdown: a heading per code, its examples quoted as code, and when there
 * are more than the examples, how many more and the command that lists them all.
 */
function failureLines(lines: string[], groups: FailureGroup[], state: string | undefined): void {
  for (const g of groups) {
    lines.push(`### ${g.code} (${g.count})`, '');
    for (const e of g.examples) lines.push(`- ${mdCode(e.path)}: ${mdCode(e.message)}`);
    const more = g.count - g.examples.length;
    if (more > 0) {
      lines.push(`- and ${more} more not shown here; ${mdCode(failuresCommand(g.code, state))} lists them all`);
    }
    lines.push('');
  }
}

/**
 * Text from outside (file names, error messages) as a Markdown code span, whose content is never
 * read as Markdown or HTML: the fence is one backtick longer than any run of backticks inside,
 * and line breaks and other control characters become U+FFFD, so no name can end the line, start
 * a heading, or close the span. report.json keeps the exact text.
 */
export function mdCode(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\uFFFD');
  let longest = 0;
  for (const run of clean.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  // a span that starts or ends with a backtick, or with spaces on both sides, is padded with one
  // space on each side, which the reader strips
  const pad = /^`|`$/.test(clean) || /^ .* $/.test(clean) ? ' ' : '';
  return fence + pad + (clean || ' ') + pad + fence;
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
  if (r.stages) {
    lines.push('## Stages', '', '| stage | kind | in | ok | failed | filtered | time in stage |', '|---|---|---|---|---|---|---|');
    for (const st of r.stages) lines.push(`| ${mdCode(st.name)} | ${st.kind} | ${st.in} | ${st.ok} | ${st.failed} | ${st.filtered} | ${(st.ms / 1000).toFixed(1)}s |`);
    lines.push('');
  }
  if (r.failures.length) {
    lines.push('## Failures', '');
    failureLines(lines, r.failures, r.state);
  }
  if (r.job.carried_failed) {
    lines.push('## The job', '', `${r.job.failed} item(s) are failed in the checkpoint, ${r.job.carried_failed} of them from earlier runs (\`sluice results --status failed\` lists them; \`--retry-failed\` runs them again).`, '');
    failureLines(lines, r.job.failures, r.state);
  }
  if (r.vanished?.count) {
    lines.push('## Vanished inputs', '', `${r.vanished.count} item(s) in the checkpoint were not found by this run's walk${r.vanished.count > r.vanished.examples.length ? `; the first ${r.vanished.examples.length}` : ''}:`, '');
    for (const p of r.vanished.examples) lines.push(`- ${mdCode(p)}`);
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
    for (const s of r.slowest) lines.push(`- ${s.ms} ms ${mdCode(s.path)}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The files a report is written to: the JSON path, and the md and html ones its formats ask for. */
function reportFiles(file: string, formats: readonly ReportFormat[]): string[] {
  return REPORT_FORMATS.filter((f) => f === 'json' || formats.includes(f)).map((f) => reportFormatPath(file, f));
}

/**
 * report.json, and report.md and report.html when asked for, each written atomically through
 * safe-fs: never through a link. `html` gives the HTML page (html-report.ts, which needs what a
 * report.json does not hold: the timeline, the durations).
 */
export function writeReport(file: string, formats: readonly ReportFormat[], r: Report, html?: () => string): void {
  writeAtomic(file, JSON.stringify(r, null, 2) + '\n');
  if (formats.includes('md')) writeAtomic(reportFormatPath(file, 'md'), reportMarkdown(r));
  if (formats.includes('html') && html) writeAtomic(reportFormatPath(file, 'html'), html());
}

/** Names a report may have inside the state dir: the default ones. */
const STATE_DIR_REPORTS = new Set(reportFormatPaths(STATE_REPORT_FILE));
/** A report.json bigger than this is not one sluice wrote (it keeps a few examples per code). */
const MAX_REPORT_BYTES = 4 << 20;

/**
 * Why the report may not be written to `file` (and its .md and .html siblings), or null when it may. The
 * report replaces whatever is at its path, and the walk leaves the run's own files out, so:
 * inside the state dir only the default names (anything else could be the journal, the lock or
 * run.json); never onto a directory; and under an input root never onto an existing file that
 * is not a report sluice wrote (it would be an input, overwritten and silently left out).
 * Paths are compared by their real paths, so a symlinked folder is no way round.
 */
export function reportPathProblem(file: string, formats: readonly ReportFormat[], stateDir: string, roots: readonly string[]): string | null {
  const state = canonicalPath(stateDir);
  const realRoots = roots.map(canonicalPath);
  for (const f of reportFiles(file, formats)) {
    const real = canonicalPath(f);
    const inState = isInside(real, state);
    if (inState && !(path.dirname(real) === state && STATE_DIR_REPORTS.has(path.basename(real)))) {
      return `${shown(f)} is inside the state dir ${shown(stateDir)}, which holds the checkpoint: a report anywhere else in it lands where it could overwrite the checkpoint; only report.json, report.md and report.html may go there`;
    }
    let st: fs.Stats;
    try {
      st = fs.lstatSync(f);
    } catch {
      continue; // nothing there to overwrite
    }
    if (st.isDirectory()) return `${shown(f)} is a directory`;
    if (inState) continue; // the state dir is sluice's own, never walked
    const root = roots.find((_, i) => isInside(real, realRoots[i]!));
    if (root !== undefined && !isSluiceReport(f, st)) {
      return `${shown(f)} is an input file under ${shown(root)}: writing the report there would overwrite it and leave it out of the run`;
    }
  }
  return null;
}

/** A file an earlier run wrote as its report (JSON or Markdown), recognised by its shape. */
function isSluiceReport(file: string, st: fs.Stats): boolean {
  if (!st.isFile() || st.size > MAX_REPORT_BYTES) return false;
  try {
    const text = fs.readFileSync(file, 'utf8');
    if (text.startsWith('# sluice report: ') || (text.startsWith('<!doctype html>') && text.includes('<title>sluice report: '))) return true;
    const r = JSON.parse(text) as Record<string, unknown> | null;
    return !!r && r.v === 1 && typeof r.run === 'string' && typeof r.config_hash === 'string' && Array.isArray(r.failures);
  } catch {
    return false;
  }
}
