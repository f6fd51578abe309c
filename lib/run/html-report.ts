import { ERROR_CODES } from '../core/errors.js';
import type { RebuiltReport } from './rebuild.js';
import type { TimelineSample } from './timeline.js';
import { failuresCommand } from './report.js';

/**
 * A report as one self-contained HTML file: no script, no request of any kind (its
 * Content-Security-Policy is `default-src 'none'`, with inline styles only), charts as inline SVG.
 * Every text from outside (file names, messages, the pipeline's name) goes through `esc`: it is
 * data, never markup. Readable from a phone to a wide screen, and on paper.
 */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const W = 640;
const H = 160;

/** A line chart of `ys` against `xs` (both numbers), as inline SVG with its axis maxima; empty when fewer than 2 points. */
function lineChart(title: string, xs: number[], series: { name: string; ys: number[]; colour: string }[], unit: string): string {
  if (xs.length < 2) return `<figure><figcaption>${esc(title)}</figcaption><p class="none">not enough samples</p></figure>`;
  const xMax = Math.max(...xs) || 1;
  const yMax = Math.max(1e-9, ...series.flatMap((s) => s.ys));
  const pt = (x: number, y: number) => `${((x / xMax) * (W - 50) + 45).toFixed(1)},${(H - 20 - (y / yMax) * (H - 30)).toFixed(1)}`;
  const lines = series.map((s) => `<polyline class="series" data-series="${esc(s.name)}" data-points="${s.ys.length}" fill="none" stroke="${s.colour}" stroke-width="1.5" points="${s.ys.map((y, i) => pt(xs[i]!, y)).join(' ')}"/>`).join('');
  const legend = series.map((s) => `<span style="color:${s.colour}">&#9632; ${esc(s.name)}</span>`).join(' ');
  return `<figure><figcaption>${esc(title)} ${legend}</figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`
    + `<line x1="45" y1="${H - 20}" x2="${W - 5}" y2="${H - 20}" stroke="#999"/><line x1="45" y1="10" x2="45" y2="${H - 20}" stroke="#999"/>`
    + `<text x="40" y="16" text-anchor="end" font-size="10">${esc(fmt(yMax))} ${esc(unit)}</text><text x="40" y="${H - 20}" text-anchor="end" font-size="10">0</text>`
    + `<text x="${W - 5}" y="${H - 5}" text-anchor="end" font-size="10">${esc(fmt(xMax))} s</text>${lines}</svg></figure>`;
}

/** A bar chart of counts with labels, as inline SVG; each bar carries its count (data-count). */
function barChart(title: string, bars: { label: string; count: number }[]): string {
  if (!bars.length) return `<figure><figcaption>${esc(title)}</figcaption><p class="none">no items</p></figure>`;
  const max = Math.max(1, ...bars.map((b) => b.count));
  const bw = (W - 50) / bars.length;
  const rects = bars.map((b, i) => {
    const h = (b.count / max) * (H - 40);
    return `<g class="bar" data-label="${esc(b.label)}" data-count="${b.count}"><rect x="${(45 + i * bw + 1).toFixed(1)}" y="${(H - 25 - h).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"><title>${esc(b.label)}: ${b.count}</title></rect>`
      + `<text x="${(45 + i * bw + bw / 2).toFixed(1)}" y="${H - 10}" text-anchor="middle" font-size="9">${esc(b.label)}</text></g>`;
  }).join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${rects}</svg></figure>`;
}

/** MB/s between each sample and the one before (0 for the first, and where a sample has no byte count). */
function mbPerS(samples: TimelineSample[]): number[] {
  return samples.map((s, i) => {
    const p = samples[i - 1];
    return p && s.bytes !== undefined && p.bytes !== undefined && s.t > p.t ? Math.max(0, s.bytes - p.bytes) / 1e6 / ((s.t - p.t) / 1000) : 0;
  });
}

function fmt(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function msLabel(b: number): string {
  if (b === 0) return '<1ms';
  const lo = 2 ** (b - 1);
  return lo >= 1000 ? `${lo / 1000}s` : `${lo}ms`;
}

const CSS = `body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border-bottom:1px solid #eee;padding:.25rem .4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
.totals{display:flex;flex-wrap:wrap;gap:.5rem}.totals div{flex:1 1 8rem;border:1px solid #ddd;border-radius:6px;padding:.5rem}.totals b{display:block;font-size:1.3rem}
.outcome{padding:.6rem;border-radius:6px;background:#eef6ee}.outcome.bad{background:#fbeeee}
figure{margin:1rem 0}svg{width:100%;height:auto;max-height:220px}figcaption{font-weight:600}
code{font-family:ui-monospace,monospace;font-size:.9em;overflow-wrap:anywhere}.none{color:#777}
td.k,td.k code{white-space:nowrap;overflow-wrap:normal}@media (max-width:600px){td.k,td.k code{white-space:normal;overflow-wrap:anywhere}}
@media print{body{max-width:none}h2{break-after:avoid}figure,table{break-inside:avoid}}`;

export function reportHtml(r: RebuiltReport): string {
  const failedTotal = r.failures.reduce((n, g) => n + g.count, 0);
  const outcome = !r.ended_cleanly
    ? 'The run has no summary: it is still running, or it was killed (running the same command again resumes it).'
    : r.stopped ? `The run stopped early: ${r.stopped}.` : 'The run went to its end.';
  // time from the run's start (the first sample comes a moment later)
  const t0 = Math.min(Date.parse(r.started) || Infinity, r.timeline[0]?.t ?? 0);
  const xs = r.timeline.map((s) => (s.t - t0) / 1000);
  const totals = [['items', r.total ?? r.found], ['ok', r.ok], ['failed', r.failed], ['filtered', r.filtered ?? 0], ['elapsed', `${fmt(r.elapsed_s)} s`], ['items/s', r.items_per_s], ['peak RSS', `${r.peak_rss_mb} MB`]];
  const failures = r.failures.map((g) => `<tr class="failure" data-code="${esc(g.code)}" data-count="${g.count}"><td class="k"><code>${esc(g.code)}</code></td><td class="k">${g.count}</td><td>${esc((ERROR_CODES as Record<string, { summary: string }>)[g.code]?.summary ?? '')}</td>`
    + `<td><ul>${g.examples.map((e) => `<li><code>${esc(e.path)}</code>: ${esc(e.message)}</li>`).join('')}</ul>${g.count > g.examples.length ? `<p>${g.count - g.examples.length} more; <code>${esc(failuresCommand(g.code, r.state))}</code> lists them all</p>` : ''}</td></tr>`).join('');
  const slowest = r.slowest.map((s) => `<tr><td><code>${esc(s.path)}</code></td><td class="k">${s.ms} ms</td></tr>`).join('');
  const stages = r.stages ? `<h2>Stages</h2><table><tr><th>stage</th><th>kind</th><th>in</th><th>ok</th><th>failed</th><th>filtered</th><th>time in stage</th></tr>${r.stages.map((s) => `<tr><td>${esc(s.name)}</td><td>${esc(s.kind)}</td><td>${s.in}</td><td>${s.ok}</td><td>${s.failed}</td><td>${s.filtered}</td><td>${fmt(s.ms / 1000)} s</td></tr>`).join('')}</table>` : '';
  let last = r.durations.length - 1;
  while (last > 0 && !r.durations[last]) last--;
  const histogram = r.durations.slice(0, last + 1).map((count, b) => ({ label: msLabel(b), count }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sluice report: ${esc(r.pipeline)}</title><style>${CSS}</style></head><body>
<h1>sluice report: ${esc(r.pipeline)}</h1>
<p>Run <code>${esc(r.run)}</code>, started ${esc(r.started)}, ended ${esc(r.ended)}. Processor <code>${esc(r.processor)}</code>, config ${esc(r.config_hash)}, state dir <code>${esc(r.state ?? '')}</code>, sluice ${esc(r.version)}.${r.command ? ` Command: <code id="command">${esc(r.command)}</code>.` : ''}</p>
<p class="outcome${failedTotal || !r.ended_cleanly ? ' bad' : ''}" id="outcome">${esc(outcome)} ${r.ok} ok, ${r.failed} failed${r.ok + r.failed ? ` (${fmt((100 * r.ok) / (r.ok + r.failed))}% ok)` : ''}.</p>
<div class="totals" id="totals">${totals.map(([k, v]) => `<div data-total="${esc(k)}">${esc(k)}<b>${esc(v)}</b></div>`).join('')}</div>
<h2>Over time</h2>
${lineChart('Throughput', xs, [{ name: 'items/s', ys: r.timeline.map((s) => s.rate), colour: '#2a7d2a' }, { name: 'in flight', ys: r.timeline.map((s) => s.in_flight), colour: '#c07000' }], '')}
${lineChart('Bytes processed', xs, [{ name: 'MB/s', ys: mbPerS(r.timeline), colour: '#1f5fa8' }], 'MB/s')}
${lineChart('Memory', xs, [{ name: 'RSS MB', ys: r.timeline.map((s) => s.rss_mb), colour: '#7a3db8' }], 'MB')}
<h2>Failures by code</h2>
${failures ? `<table id="failures"><tr><th>code</th><th>count</th><th>meaning</th><th>first examples</th></tr>${failures}</table>` : '<p class="none">none</p>'}
<h2>Item durations</h2>
${barChart('Items by time in the worker', histogram)}
<h2>Slowest items</h2>
${slowest ? `<table>${slowest}</table>` : '<p class="none">none</p>'}
${stages}
</body></html>
`;
}
