// `npm run bench`: sluice against the tools users would pick instead, side by side in the same
// run, nine workloads. Writes bench/BENCHMARKS.md (the section between the bench markers) and
// bench/results.json; `--quick` runs tiny corpora once and writes to --out (default
// bench/.results/quick) so that a test can check the harness without touching the committed files.
// With --only, the other rows keep their last figures; --render measures nothing and writes the
// table again from results.json.
//
// Usage: node dist/bench/run.js [--quick] [--runs N] [--only 1,2,...] [--render] [--out DIR]
//        [--no-install] [--corpus DIR] [--pdfs N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { DATA, LAUNCHER, ROOT, machine, median, smallFileTree } from './lib.js';
import { SNAPSHOT_MIN_PARSED } from '../lib/checkpoint/key-snapshot.js';
import { journalKeysPath, journalPath } from '../lib/checkpoint/files.js';

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string, def: string) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? def : argv[i + 1]!;
};
const quick = flag('quick');
const runs = Number(opt('runs', quick ? '1' : '3'));
const only = new Set(flag('render') ? [] : opt('only', '1,2,3,4,5,6,7,8,9').split(',').map(Number));
const outDir = path.resolve(opt('out', quick ? path.join(ROOT, 'bench/.results/quick') : path.join(ROOT, 'bench')));
const sizes = quick
  ? { walk: 5_000, e2e: 2_000, parallel: 200, memSmall: 1_000, memBig: 5_000, resume: 5_000 }
  : { walk: 1_000_000, e2e: 100_000, parallel: 2_000, memSmall: 10_000, memBig: 1_000_000, resume: 1_000_000 };
const log = (s: string) => process.stderr.write(s + '\n');

// ---- tools --------------------------------------------------------------------------------
const has = (cmd: string) => spawnSync('bash', ['-c', `command -v ${cmd}`]).status === 0;
const TOOLS: Record<string, string> = { parallel: 'parallel', pdftotext: 'poppler-utils' };
let missing = Object.keys(TOOLS).filter((c) => !has(c));
if (missing.length && !quick && !flag('no-install') && process.getuid?.() === 0 && has('apt-get')) {
  const pkgs = [...new Set(missing.map((c) => TOOLS[c]!))].join(' ');
  log(`reference tools missing (${missing.join(', ')}): apt-get install -y ${pkgs}`);
  spawnSync('bash', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs}`], { stdio: 'inherit' });
  missing = Object.keys(TOOLS).filter((c) => !has(c));
}
for (const c of missing) log(`missing: ${c} (apt-get install ${TOOLS[c]}): the rows that compare with it report no reference`);
const haveParallel = !missing.includes('parallel');
const havePdftotext = !missing.includes('pdftotext');

// ---- corpora ------------------------------------------------------------------------------
fs.mkdirSync(DATA, { recursive: true });
const work = fs.mkdtempSync(path.join(DATA, 'bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const scratch = (name: string) => {
  const d = path.join(work, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  fs.mkdirSync(d, { recursive: true });
  return d;
};

/** The PDF corpus: the 14 samples (quick), else an evenly spread subset of the Debian corpus. */
function pdfCorpus(): string | null {
  if (quick) return path.join(ROOT, 'pipelines/samples');
  const full = path.resolve(opt('corpus', path.join(ROOT, 'bench/.corpus/debian-pdf')));
  const want = Number(opt('pdfs', '500'));
  if (!fs.existsSync(path.join(full, '.complete'))) {
    log(`no PDF corpus at ${full}: building it with bench/corpus/debian-pdfs.sh`);
    const b = spawnSync('bash', [path.join(ROOT, 'bench/corpus/debian-pdfs.sh'), full], { stdio: 'inherit' });
    if (b.status !== 0) return null;
  }
  const all = (fs.readdirSync(full, { recursive: true }) as string[]).filter((f) => f.endsWith('.pdf')).sort();
  if (all.length <= want) return full;
  const sub = `${full}-${want}`;
  if (!fs.existsSync(path.join(sub, '.complete'))) {
    fs.rmSync(sub, { recursive: true, force: true });
    // every k-th file by path: the spread of sizes and packages of the whole corpus
    for (let i = 0; i < want; i++) {
      const f = all[Math.floor((i * all.length) / want)]!;
      fs.mkdirSync(path.dirname(path.join(sub, f)), { recursive: true });
      fs.linkSync(path.join(full, f), path.join(sub, f));
    }
    fs.writeFileSync(path.join(sub, '.complete'), String(want));
  }
  return sub;
}

// ---- measuring ----------------------------------------------------------------------------
interface Timed { wall: number; stdout: string; code: number | null }
function timed(cmd: string, args: string[], opts: { shell?: boolean; keepStdout?: boolean } = {}): Timed {
  const t0 = performance.now();
  const r = opts.shell
    ? spawnSync('bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', opts.keepStdout ? 'pipe' : 'ignore', 'pipe'] })
    : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', opts.keepStdout ? 'pipe' : 'ignore', 'pipe'] });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr?.slice(-500)}`);
  return { wall, stdout: r.stdout ?? '', code: r.status };
}

/** ms from spawn to the first stdout line matching `match`; the process is then killed. */
function firstLine(cmd: string, args: string[], match: (line: string) => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let buf = '';
    let done = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (done) return;
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      if (lines.some(match)) {
        done = true;
        resolve(performance.now() - t0);
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ }
      }
    });
    child.on('close', () => { if (!done) reject(new Error(`${cmd}: no matching line`)); });
  });
}

const node = process.execPath;
/** sluice run, fresh state; stdout kept when asked (result lines). */
function sluiceRun(args: string[], keepStdout = false): Timed & { report: Record<string, any> } {
  const state = scratch('state');
  const r = timed(LAUNCHER, ['run', ...args, '--state', state, '--progress', 'none'], { keepStdout });
  const report = JSON.parse(fs.readFileSync(path.join(state, 'report.json'), 'utf8')) as Record<string, any>;
  fs.rmSync(state, { recursive: true, force: true });
  return { ...r, report };
}
const pagesOf = (stdout: string) => stdout.split('\n').filter((l) => l.includes('"type":"result"')).reduce((n, l) => n + ((JSON.parse(l) as { output?: { pages?: number } }).output?.pages ?? 0), 0);

// ---- rows ---------------------------------------------------------------------------------
interface Row {
  row: number;
  workload: string;
  reference: string;
  unit: string;
  /** how the ratio reads, and the target */
  ratio_of: string;
  target: string;
  better: 'higher' | 'lower';
  bound: number | null;
  sluice: number[];
  ref: number[];
  extra: Record<string, number[]>;
  note?: string;
}
const rows = new Map<number, Row>();
const row = (r: Omit<Row, 'sluice' | 'ref' | 'extra'>) => {
  const x: Row = { ...r, sluice: [], ref: [], extra: {} };
  rows.set(r.row, x);
  return x;
};
const extra = (r: Row, k: string, v: number) => (r.extra[k] ??= []).push(v);

const walkTree = only.has(1) ? smallFileTree(sizes.walk) : '';
const e2eTree = only.has(2) || only.has(3) ? smallFileTree(sizes.e2e) : '';
const parTree = only.has(3) ? smallFileTree(sizes.parallel) : '';
const memTrees = only.has(6) ? [smallFileTree(sizes.memSmall), smallFileTree(sizes.memBig)] : [];
const corpus = [4, 5, 7, 9].some((n) => only.has(n)) ? pdfCorpus() : null;
const n = (x: number) => x.toLocaleString('en-US');

const r1 = row({ row: 1, workload: `walk ${n(sizes.walk)} files, no processing (\`sluice plan\`: walk, stat, count)`, reference: "`find DIR -type f -printf '%s %T@ %p\\n'` (the same stat calls)", unit: 's', ratio_of: 'wall time, sluice / find, per run', target: '≤ 1.2', better: 'lower', bound: 1.2 });
const r2 = row({ row: 2, workload: `noop over ${n(sizes.e2e)} files end to end (walk, dedupe, workers, NDJSON, checkpoint)`, reference: `bare piscina loop, same noop, ${n(sizes.e2e)} tasks`, unit: 'items/s', ratio_of: 'throughput, sluice / piscina', target: '≥ 0.8', better: 'higher', bound: 0.8 });
const r3 = row({ row: 3, workload: 'same as row 2, items/s', reference: `\`find | parallel -j2 true\` (${n(sizes.parallel)} files)`, unit: 'items/s', ratio_of: 'items/s, sluice / parallel', target: '≥ 50', better: 'higher', bound: 50 });
const r4 = row({ row: 4, workload: 'pdf-text with engine pdfjs over the PDF corpus, 2 workers, text to files', reference: 'bare 2-thread pdfjs-dist loop, same version, options and extraction', unit: 'pages/s', ratio_of: 'pages/s, sluice / pdfjs loop', target: '≥ 0.95', better: 'higher', bound: 0.95 });
const r5 = row({ row: 5, workload: 'pdf-text with its default engine (pdfium) over the PDF corpus, 2 workers, text to files', reference: '`find | parallel -j2 pdftotext`', unit: 'pages/s', ratio_of: 'pages/s, sluice / pdftotext', target: 'report (goal ≥ 1.0)', better: 'higher', bound: null });
const r6 = row({ row: 6, workload: `memory: noop over ${n(sizes.memSmall)} vs ${n(sizes.memBig)} files`, reference: `itself at ${n(sizes.memSmall)}`, unit: 'MB peak RSS', ratio_of: `peak RSS, ${n(sizes.memBig)} / ${n(sizes.memSmall)}`, target: `≤ 1.2, and ≤ 200 MB at ${n(sizes.memBig)}`, better: 'lower', bound: 1.2 });
const r7 = row({ row: 7, workload: 'scaling: pdf-text (default engine) with 2 workers vs 1', reference: 'itself with 1 worker', unit: 'pages/s', ratio_of: 'efficiency, rate(2) / (2 × rate(1))', target: '≥ 0.9', better: 'higher', bound: 0.9 });
const r8 = row({ row: 8, workload: `resume over ${n(sizes.resume)} done items (from the key snapshot an earlier resume saved)`, reference: "`find -printf '%s %T@'` over the same tree (the same stat calls)", unit: 'skipped/s', ratio_of: 'wall time, sluice / find, per run', target: '≤ 1.5, RSS ≤ 300 MB', better: 'lower', bound: 1.5 });
const r9 = row({ row: 9, workload: 'time to the first result line on the PDF corpus', reference: '`find | parallel -j2 pdftotext {} -`', unit: 'ms', ratio_of: 'time, sluice / parallel', target: '≤ 1.0', better: 'lower', bound: 1.0 });

let resumeState = '';
if (only.has(8)) {
  const tree = smallFileTree(sizes.resume);
  resumeState = path.join(DATA, `resume-state-${sizes.resume}`);
  if (!fs.existsSync(path.join(resumeState, '.filled'))) {
    log(`filling the checkpoint for row 8 (${n(sizes.resume)} items)`);
    fs.rmSync(resumeState, { recursive: true, force: true });
    timed(LAUNCHER, ['run', '--input', tree, '--processor', 'noop', '-j', '2', '--state', resumeState, '--progress', 'none']);
    fs.writeFileSync(path.join(resumeState, '.filled'), '');
  }
  // the first resume after the run that filled it parses the whole journal and saves its key
  // table (checkpoint/key-snapshot.ts); the timed resumes below start from that table
  fs.rmSync(journalKeysPath(resumeState), { force: true });
  const first = timed(LAUNCHER, ['run', '--input', tree, '--processor', 'noop', '-j', '2', '--state', resumeState, '--progress', 'none']);
  const find = timed(`find '${tree}' -type f -printf '%s %T@ %P\\n' > /dev/null`, [], { shell: true }).wall;
  // (a journal smaller than the snapshot's threshold, in quick mode, is parsed at every open)
  const journalSize = fs.statSync(journalPath(resumeState)).size;
  if (journalSize >= SNAPSHOT_MIN_PARSED && !fs.existsSync(journalKeysPath(resumeState))) throw new Error('row 8: the first resume saved no key snapshot');
  extra(r8, 'first_resume', first.wall / find);
  extra(r8, 'first_resume_s', first.wall);
}

const started = Date.now();
for (let run = 1; run <= runs; run++) {
  log(`run ${run} of ${runs}`);
  if (only.has(1)) {
    const empty = scratch('plan');
    const plan = timed(LAUNCHER, ['plan', '--input', walkTree, '--processor', 'noop', '--state', empty, '--json']).wall;
    const find = timed(`find '${walkTree}' -type f -printf '%s %T@ %p\\n' > /dev/null`, [], { shell: true }).wall;
    r1.sluice.push(plan);
    r1.ref.push(find);
    extra(r1, 'per_run', plan / find);
    extra(r1, 'find_names_s', timed('find', [walkTree, '-type', 'f']).wall); // names only: no stat at all
  }
  if (only.has(2) || only.has(3)) {
    const s = sluiceRun(['--input', e2eTree, '--processor', 'noop', '-j', '2']);
    if (s.report.ok !== sizes.e2e) throw new Error(`row 2: ${s.report.ok} ok of ${sizes.e2e}`);
    r2.sluice.push(sizes.e2e / s.wall);
    extra(r6, 'mid_rss_mb', s.report.peak_rss_mb as number); // the same noop at the middle size, for row 6's note
    r3.sluice.push(sizes.e2e / s.wall);
    r2.ref.push(sizes.e2e / timed(node, [path.join(ROOT, 'dist/bench/ref/piscina-noop.js'), String(sizes.e2e), '2']).wall);
  }
  if (only.has(3) && haveParallel) {
    r3.ref.push(sizes.parallel / timed(`find '${parTree}' -type f | parallel -j2 true`, [], { shell: true }).wall);
  }
  if (corpus && (only.has(4) || only.has(5) || only.has(7))) {
    const out = scratch('out');
    // rows 5 and 7: the default engine; row 4 compares engine pdfjs with a bare pdfjs loop
    const s = sluiceRun(['--input', corpus, '--processor', 'pdf-text', '-j', '2', '--out', out], true);
    const pages = pagesOf(s.stdout);
    extra(r5, 'pages', pages);
    extra(r5, 'sluice_rss_mb', s.report.peak_rss_mb);
    r5.sluice.push(pages / s.wall);
    r7.sluice.push(pages / s.wall);
    fs.rmSync(out, { recursive: true, force: true });
    if (only.has(4)) {
      const j = sluiceRun(['--input', corpus, '--processor', 'pdf-text', '-O', 'engine=pdfjs', '-j', '2', '--out', out], true);
      extra(r4, 'pages', pagesOf(j.stdout));
      extra(r4, 'sluice_rss_mb', j.report.peak_rss_mb);
      r4.sluice.push(pagesOf(j.stdout) / j.wall);
      fs.rmSync(out, { recursive: true, force: true });
    }
    let bareTwo: number | undefined; // the pdfjs loop's wall time with 2 threads, for row 7's context
    if (only.has(4)) {
      const out2 = scratch('out');
      const b = timed(node, [path.join(ROOT, 'dist/bench/ref/pdfjs-loop.js'), corpus, out2, '2'], { keepStdout: true });
      const ref = JSON.parse(b.stdout.trim().split('\n').pop()!) as { pages: number };
      if (ref.pages !== pages) log(`row 4: the pdfjs loop counted ${ref.pages} pages, sluice ${pages}`);
      r4.ref.push(ref.pages / b.wall);
      bareTwo = b.wall;
      fs.rmSync(out2, { recursive: true, force: true });
    }
    if (only.has(5) && havePdftotext && haveParallel) {
      const out3 = scratch('out');
      r5.ref.push(pages / timed(`find '${corpus}' -name '*.pdf' | parallel -j2 'pdftotext {} ${out3}/{#}.txt'`, [], { shell: true }).wall);
      fs.rmSync(out3, { recursive: true, force: true });
    }
    if (only.has(7)) {
      const out4 = scratch('out');
      const one = sluiceRun(['--input', corpus, '--processor', 'pdf-text', '-j', '1', '--out', out4], true);
      r7.ref.push(pagesOf(one.stdout) / one.wall);
      fs.rmSync(out4, { recursive: true, force: true });
      // the same scaling for the bare pdfjs loop: what the machine gives two threads
      const b1 = timed(node, [path.join(ROOT, 'dist/bench/ref/pdfjs-loop.js'), corpus, scratch('out'), '1'], { keepStdout: true });
      const b2 = bareTwo ?? timed(node, [path.join(ROOT, 'dist/bench/ref/pdfjs-loop.js'), corpus, scratch('out'), '2'], { keepStdout: true }).wall;
      extra(r7, 'bare_efficiency', b1.wall / (2 * b2));
    }
  }
  if (only.has(6)) {
    const [small, big] = memTrees as [string, string];
    r6.ref.push(sluiceRun(['--input', small, '--processor', 'noop', '-j', '2']).report.peak_rss_mb as number);
    const b = sluiceRun(['--input', big, '--processor', 'noop', '-j', '2']);
    r6.sluice.push(b.report.peak_rss_mb as number);
    extra(r6, 'big_items_per_s', sizes.memBig / b.wall);
  }
  if (only.has(8)) {
    const tree = smallFileTree(sizes.resume);
    const t = timed(LAUNCHER, ['run', '--input', tree, '--processor', 'noop', '-j', '2', '--state', resumeState, '--progress', 'none']);
    const report = JSON.parse(fs.readFileSync(path.join(resumeState, 'report.json'), 'utf8')) as Record<string, any>;
    if (report.skipped !== sizes.resume) throw new Error(`row 8: ${report.skipped} skipped of ${sizes.resume}`);
    r8.sluice.push(sizes.resume / t.wall);
    extra(r8, 'rss_mb', report.peak_rss_mb);
    extra(r8, 'wall_s', t.wall);
    const find = timed(`find '${tree}' -type f -printf '%s %T@ %P\\n' > /dev/null`, [], { shell: true }).wall;
    r8.ref.push(sizes.resume / find);
    extra(r8, 'per_run', t.wall / find);
  }
  if (only.has(9) && corpus) {
    const state = scratch('state');
    const out = scratch('out');
    r9.sluice.push(await firstLine(LAUNCHER, ['run', '--input', corpus, '--processor', 'pdf-text', '-j', '2', '--out', out, '--state', state, '--progress', 'none'], (l) => l.includes('"type":"result"')));
    if (haveParallel && havePdftotext) r9.ref.push(await firstLine('bash', ['-c', `find '${corpus}' -name '*.pdf' | parallel -j2 pdftotext {} -`], () => true));
  }
}

// ---- report -------------------------------------------------------------------------------
const fmt = (x: number | null, unit: string) => {
  if (x === null || Number.isNaN(x)) return '–';
  if (unit === 's') return x.toFixed(2);
  if (unit === 'ms') return x.toFixed(0);
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
};
const results = [...rows.values()].filter((r) => only.has(r.row)).map((r) => {
  const s = r.sluice.length ? median(r.sluice) : null;
  const ref = r.ref.length ? median(r.ref) : null;
  let ratio: number | null = s !== null && ref !== null ? s / ref : null;
  let pass: boolean | null = ratio === null || r.bound === null ? null : r.better === 'higher' ? ratio >= r.bound : ratio <= r.bound;
  let note = '';
  if (r.row === 7 && s !== null && ref !== null) { ratio = s / (2 * ref); pass = ratio >= 0.9; }
  // rows 1 and 8: against the stat calls find makes in the same run, whatever the day's stat speed
  if ((r.row === 1 || r.row === 8) && r.extra.per_run) {
    ratio = median(r.extra.per_run);
    pass = ratio <= r.bound!;
  }
  if (r.row === 8 && s !== null) {
    const rss = median(r.extra.rss_mb ?? [0]);
    pass = pass! && rss <= 300;
    note = `peak RSS ${rss} MB; per run ${r.extra.per_run!.map((x) => x.toFixed(2)).join(', ')}; ${s >= 200_000 ? 'above' : 'below'} 200,000 skipped/s`;
    if (r.extra.first_resume) note += `; the first resume after the filling run (parses the whole journal, saves the key snapshot): ${r.extra.first_resume_s![0]!.toFixed(2)} s, ${r.extra.first_resume[0]!.toFixed(2)}x find`;
  }
  if (r.row === 6 && s !== null && ref !== null) {
    pass = ratio! <= 1.2 && s <= 200;
    note = `${n(sizes.memBig)} files at ${fmt(median(r.extra.big_items_per_s ?? [0]), 'items/s')} items/s${r.extra.mid_rss_mb ? `; ${n(sizes.e2e)} files (row 2's runs): ${median(r.extra.mid_rss_mb)} MB` : ''}`;
  }
  if (r.row === 1 && r.extra.find_names_s) note = `per run ${r.extra.per_run!.map((x) => x.toFixed(2)).join(', ')}; \`find -type f\` (names only, no stat): ${fmt(median(r.extra.find_names_s), 's')} s`;
  if (r.row === 7 && r.extra.bare_efficiency) note = `the bare pdfjs loop, 1 thread vs 2, same runs: efficiency ${median(r.extra.bare_efficiency).toFixed(2)} (what this machine gives a second thread)`;
  if (r.row === 4 && r.extra.pages) note = `${n(median(r.extra.pages))} pages; sluice peak RSS ${median(r.extra.sluice_rss_mb ?? [0])} MB`;
  if ((r.row === 3 || r.row === 5 || r.row === 9) && ref === null) note = 'reference tool missing (apt-get install parallel poppler-utils)';
  if ([4, 5, 7, 9].includes(r.row) && !corpus) note = 'no PDF corpus (bench/corpus/debian-pdfs.sh)';
  const pdfRow = [4, 5, 7, 9].includes(r.row);
  return {
    row: r.row, workload: r.workload, reference: r.reference, unit: r.unit, sluice: s, ref, ratio, ratio_of: r.ratio_of, target: r.target, pass, note,
    // each row says when and how it was measured: a run with --only leaves the others as they were
    date: new Date().toISOString().slice(0, 10), runs, ...(pdfRow && corpus ? { corpus: path.relative(ROOT, corpus) || corpus } : {}),
    values: { sluice: r.sluice, ref: r.ref, ...r.extra },
  };
});

fs.mkdirSync(outDir, { recursive: true });
const jsonFile = path.join(outDir, quick ? 'results.quick.json' : 'results.json');
// with --only, the rows not measured this time keep their last figures
type Result = (typeof results)[number];
const last = only.size < 9 && fs.existsSync(jsonFile) ? JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { date?: string; runs?: number; rows: Partial<Result>[] } : null;
// rows written before rows carried their own date and runs take the file's
const previous = (last?.rows ?? []).map((r) => ({ ...r, date: r.date ?? last!.date, runs: r.runs ?? last!.runs }) as Result);
const merged = [...previous.filter((r) => !only.has(r.row)), ...results].sort((a, b) => a.row - b.row);
const when = new Date().toISOString().slice(0, 10);
const json = { machine: machine(), cpu: os.cpus()[0]?.model, date: when, quick, runs, rows: merged };
const header = `Measured on ${machine()} (${os.cpus()[0]?.model ?? 'cpu'}), ${quick ? 'QUICK mode (tiny corpora, 1 run: checks the harness, not the speed)' : 'each row the median of its runs, sluice and reference interleaved in each run (when, how many runs and on which PDF corpus: the last column)'}; the last update took ${((Date.now() - started) / 60000).toFixed(1)} min.`;
const table = [
  '| # | workload | reference | sluice | reference | unit | ratio | target | met | measured |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...merged.map((r) => `| ${r.row} | ${r.workload} | ${r.reference} | ${fmt(r.sluice, r.unit)} | ${fmt(r.ref, r.unit)} | ${r.unit} | ${r.ratio === null ? '–' : r.ratio.toFixed(2)} (${r.ratio_of}) | ${r.target} | ${r.pass === null ? '–' : r.pass ? 'yes' : '**no**'} | ${[r.date, r.runs && `${r.runs} run${r.runs === 1 ? '' : 's'}`, r.corpus].filter(Boolean).join(', ')} |`),
];
const notes = merged.filter((r) => r.note).map((r) => `- row ${r.row}: ${r.note}`);
const section = ['<!-- bench:begin (written by npm run bench; edit bench/run.ts instead) -->', '', header, '', ...table, '', ...notes, '', '<!-- bench:end -->'].join('\n');

fs.writeFileSync(jsonFile, JSON.stringify(json, null, 2) + '\n');
const mdFile = path.join(outDir, quick ? 'BENCHMARKS.quick.md' : 'BENCHMARKS.md');
const old = fs.existsSync(mdFile) ? fs.readFileSync(mdFile, 'utf8') : '# sluice benchmarks\n\n';
const re = /<!-- bench:begin[\s\S]*?<!-- bench:end -->/;
fs.writeFileSync(mdFile, re.test(old) ? old.replace(re, section) : old.replace(/\n*$/, '\n\n') + '## Against the alternatives\n\n' + section + '\n');
process.stdout.write(section + '\n');
log(`wrote ${path.relative(process.cwd(), mdFile)} and ${quick ? 'results.quick.json' : 'results.json'}`);
