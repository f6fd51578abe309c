// pdf-text over the real-world corpus (bench/corpus/debian-pdfs.sh builds it): the run must
// complete with no crash; prints ok/failed by error code, pages/s and peak RSS.
// Usage: node dist/bench/pdf-corpus.js [--corpus DIR] [--limit N] [-j 2] [--timeout 120s]
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { spawn, spawnSync } from 'node:child_process';
import { BIN, DATA, ROOT, machine } from './lib.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? def : process.argv[i + 1]!;
};
const corpus = path.resolve(arg('--corpus', path.join(ROOT, 'bench/.corpus/debian-pdf')));
const limit = Number(arg('--limit', '0'));
const jobs = arg('-j', '2');
const timeout = arg('--timeout', '120s');

if (!fs.existsSync(path.join(corpus, '.complete'))) {
  console.log(`no corpus at ${corpus}: building it with bench/corpus/debian-pdfs.sh`);
  const b = spawnSync('bash', [path.join(ROOT, 'bench/corpus/debian-pdfs.sh'), corpus], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

fs.mkdirSync(DATA, { recursive: true });
const work = fs.mkdtempSync(path.join(DATA, 'pdf-corpus-'));
const args = [BIN, 'run', '--input', corpus, '--processor', 'pdf-text', '-j', jobs, '--timeout', timeout,
  '--set', 'source.walk.include=["**/*.pdf"]',
  '--out', path.join(work, 'out'), '--state', path.join(work, 'state'), '--progress', 'none'];
if (limit) args.push('--max-items', String(limit));

console.log(`# pdf-text over ${corpus}${limit ? ` (first ${limit})` : ''}, -j ${jobs} — ${machine()}`);
const t0 = performance.now();
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d).length > 1e6 && (stderr = stderr.slice(-1e5)));

let ok = 0;
let pages = 0;
let pagesNoText = 0;
let chars = 0;
let summary: Record<string, any> | null = null;
const failures = new Map<string, { count: number; examples: string[] }>();
const slowest: { path: string; ms: number; pages: number }[] = [];
for await (const line of readline.createInterface({ input: child.stdout })) {
  const ev = JSON.parse(line) as Record<string, any>;
  if (ev.type === 'summary') summary = ev;
  if (ev.type !== 'result') continue;
  if (ev.status === 'ok') {
    ok++;
    pages += ev.output.pages;
    pagesNoText += ev.output.pages_without_text ?? 0;
    chars += ev.output.chars;
    slowest.push({ path: path.relative(corpus, ev.path), ms: ev.ms, pages: ev.output.pages });
    slowest.sort((a, b) => b.ms - a.ms).splice(5);
  } else {
    const f = failures.get(ev.error.code) ?? { count: 0, examples: [] };
    f.count++;
    if (f.examples.length < 5) f.examples.push(`${path.relative(corpus, ev.path)}: ${ev.error.message}`);
    failures.set(ev.error.code, f);
  }
}
const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
const wallS = (performance.now() - t0) / 1000;
const report = JSON.parse(fs.readFileSync(path.join(work, 'state/report.json'), 'utf8')) as Record<string, any>;
fs.rmSync(work, { recursive: true, force: true });

const failed = [...failures.values()].reduce((a, f) => a + f.count, 0);
const crashed = code !== 0 && code !== 1;
const figures = {
  bench: 'pdf-corpus', machine: machine(), corpus, jobs: Number(jobs), exit_code: code,
  items: ok + failed, ok, failed, failures: Object.fromEntries(failures),
  pages, pages_without_text: pagesNoText, chars, wall_s: +wallS.toFixed(1),
  pages_per_s: +(pages / wallS).toFixed(1), items_per_s: +((ok + failed) / wallS).toFixed(2),
  peak_rss_mb: report.peak_rss_mb, slowest,
};
console.log(`| items | ok | failed | pages | wall (s) | pages/s | items/s | peak RSS (MB) | exit |\n|---|---|---|---|---|---|---|---|---|`);
console.log(`| ${figures.items} | ${ok} | ${failed} | ${pages} | ${figures.wall_s} | ${figures.pages_per_s} | ${figures.items_per_s} | ${figures.peak_rss_mb} | ${code} |`);
for (const [c, f] of failures) console.log(`  ${c}: ${f.count}\n    ${f.examples.join('\n    ')}`);
console.log(`  slowest: ${slowest.map((s) => `${s.path} ${s.ms} ms / ${s.pages} pages`).join('; ')}`);
if (crashed || !summary) console.log(`RUN DID NOT COMPLETE (exit ${code}): ${stderr.slice(-2000)}`);
console.log(JSON.stringify(figures));
process.exitCode = crashed || !summary ? 1 : 0;
