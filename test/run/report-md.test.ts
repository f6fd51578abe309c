// report.md quotes file names and messages so that no name can inject Markdown or HTML.
import t from 'tap';
import * as report from '../../lib/run/report.js';

const { buildReport, reportMarkdown, RunStats } = report;

const HOSTILE = [
  'plain.pdf',
  '<img src=x onerror=alert(1)>.pdf',
  '[click](https://evil.example/x).pdf',
  '![](https://evil.example/pixel.png).pdf',
  'a`b``c.pdf',
  '`starts-and-ends`',
  'line\n# Injected heading\n<script>alert(1)</script>.pdf',
  'cr\rand\u2028sep.pdf',
  'pipe | table | cell.pdf',
  '**bold** _em_ ~~strike~~.pdf',
  ' spaced ',
];

/** The text of a Markdown line outside its code spans (CommonMark: a span closes at a backtick run of the same length). */
function outsideCode(line: string): string {
  return line.replace(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, '');
}

/** What a code span shows: the content between the fences, one padding space stripped each side. */
function spanContent(span: string): string {
  const fence = /^`+/.exec(span)![0];
  let inner = span.slice(fence.length, span.length - fence.length);
  if (inner.startsWith(' ') && inner.endsWith(' ') && inner.trim()) inner = inner.slice(1, -1);
  return inner;
}

/** A test message for a name: escaped, U+2028 included (TAP reads it as a line break). */
const label = (name: string) => JSON.stringify(name).replace(/\u2028/g, '\\u2028');

t.test('mdCode: a fence longer than any backtick run, no line breaks, and it reads back as the name', async (t) => {
  for (const name of HOSTILE) {
    const span = report.mdCode(name);
    t.notOk(/[\n\r\u2028\u2029]/.test(span), `${label(name)}: one line`);
    t.equal(outsideCode(span), '', `${label(name)}: nothing outside the span`);
    t.equal(spanContent(span), name.replace(/[\n\r\u2028]/g, '\uFFFD'), `${label(name)}: shows the name`);
  }
});

t.test('report.md: hostile file names and error messages stay inside code spans, one line each', async (t) => {
  const stats = new RunStats();
  for (const name of HOSTILE) {
    stats.add({ item: { path: name, file: name, root: '.', rel: name, size: 1, mtime_ms: 1 }, status: 'failed', ms: 5, attempts: 1, error: { code: 'SLUICE_E_PROCESSOR', message: `bad <b>${name}</b>`, retryable: false } });
  }
  const report = buildReport(stats, {
    run: 'r', pipeline: 'p', processor: 'noop', config_hash: 'h', started: 's', ended: 'e', interrupted: false, stopped: null, exit_code: 1,
    vanished: { count: 2, examples: [HOSTILE[1]!, HOSTILE[6]!] }, workers: { concurrency: 1, alive_at_end: 0, stopped_for_memory: 0 }, input_errors: 0,
    job: { failed: 0, carried_failed: 0, failures: [] }, stale_outputs: null,
  });
  const md = reportMarkdown(report);
  const lines = md.split('\n');
  t.equal(lines.filter((l) => l.startsWith('#')).length, 5, 'only the report\'s own headings: title, Failures, the code, Vanished, Slowest');
  const listed = lines.filter((l) => l.startsWith('- '));
  t.equal(listed.length, 5 + 1 + 2 + 10, 'one list line per example (and one for the 6 not shown), vanished path and slow item');
  for (const l of listed) {
    const rest = outsideCode(l);
    t.notOk(/[<>[\]!*_|~]/.test(rest), `no Markdown or HTML outside code spans: ${label(rest)}`);
  }
  t.notOk(md.includes('\r') || md.includes('\u2028'), 'no stray line separators');
});
