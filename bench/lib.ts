// Shared helpers for the benchmarks: build corpora, run the CLI, take medians.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/bin/sluice.js');
/**
 * The command users run (package.json "bin"): a launcher that starts Node with the main thread's
 * heap sizes. The benchmarks run it as a program, as a shell does; its `node` is this Node.
 */
export const LAUNCHER = path.join(ROOT, 'bin/sluice.mjs');
process.env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
export const DATA = process.env.SLUICE_BENCH_DIR ?? path.join(ROOT, 'bench/.data');

/** n small files in directories of 1000; reused when already there (a marker file records n). */
export function smallFileTree(n: number): string {
  const dir = path.join(DATA, `small-${n}`);
  const marker = dir + '.complete';
  if (fs.existsSync(marker)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < n; i++) {
    const d = path.join(dir, `d${String(Math.floor(i / 1000)).padStart(5, '0')}`);
    if (i % 1000 === 0) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `f${String(i).padStart(8, '0')}.txt`), `item ${i}\n`);
  }
  fs.writeFileSync(marker, String(n));
  return dir;
}

export interface CliRun { code: number | null; wallS: number; report: Record<string, any>; summary: Record<string, any> }

/** Run `sluice run` with a fresh state dir; figures from its report (peak RSS is the process's maxRSS, workers included). */
export function runSluice(args: string[], keepState?: string): CliRun {
  const state = keepState ?? fs.mkdtempSync(path.join(DATA, 'state-'));
  const t0 = performance.now();
  const r = spawnSync(LAUNCHER, ['run', ...args, '--state', state, '--progress', 'none'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const wallS = (performance.now() - t0) / 1000;
  const lines = r.stdout.trimEnd().split('\n');
  const summary = JSON.parse(lines[lines.length - 1]!) as Record<string, any>;
  const report = JSON.parse(fs.readFileSync(path.join(state, 'report.json'), 'utf8')) as Record<string, any>;
  if (!keepState) fs.rmSync(state, { recursive: true, force: true });
  if (r.status !== 0 && r.status !== 1) throw new Error(`sluice exited ${r.status}: ${r.stderr}`);
  return { code: r.status, wallS, report, summary };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function machine(): string {
  return `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/** The value after `--name` on the command line, if given. */
export function argOf(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
