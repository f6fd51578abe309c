import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTPUT_TMP_DIR } from '../lib/core/output.js';

/** Repository root: tests run from dist/test/..., fixtures live in the source tree. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'dist/bin/sluice.js');
export const FIXTURES = path.join(ROOT, 'test/fixtures');
export const SAMPLES = path.join(ROOT, 'pipelines/samples');

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) {
    try {
      fs.rmSync(d, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // a process a failed test left running may still be writing there: leave it to the OS
    }
  }
});

// the fault-injection hooks (lib/core/faults.ts) answer only to the test suite of a checkout
process.env.SLUICE_TEST_HOOKS = '1';

/** Every child a test started and that has not exited: killed when the test process exits, however it ends. */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Track `child` until it exits (see `live`). */
export function track<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

/**
 * What starts a sluice process in a test: `env -u NODE_OPTIONS` first when coverage is off (npm
 * test). tap's process tracker puts itself into every child's NODE_OPTIONS, whatever the env
 * given to spawn, and Node loads it into every worker thread of the child too: for coverage. Off,
 * it only made each sluice a test starts more than twice as slow (1.0 s -> 2.4 s for 200 files).
 * env(1) execs, so the child's pid is sluice's. An explicit NODE_OPTIONS in `env` is kept.
 */
export function launcher(env?: NodeJS.ProcessEnv): string[] {
  if (process.env.TAP_DISABLE_COVERAGE !== '1') return [];
  const own = env?.NODE_OPTIONS && !env.NODE_OPTIONS.includes('@tapjs/') ? [`NODE_OPTIONS=${env.NODE_OPTIONS}`] : [];
  return ['/usr/bin/env', '-u', 'NODE_OPTIONS', ...own];
}

/** `[command, args]` to spawn node with `args` as the test suite starts sluice (see launcher). */
export function node(args: string[], env?: NodeJS.ProcessEnv): [string, string[]] {
  const l = launcher(env);
  return l.length ? [l[0]!, [...l.slice(1), process.execPath, ...args]] : [process.execPath, args];
}

/** The environment without the test runner's hooks (tap preloads itself into child processes through NODE_OPTIONS). */
export function quietEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^NODE_OPTIONS$|TAP/i.test(k))), ...extra };
}

/**
 * The child's exit status as a shell shows it (a death by a signal is 128 + its number: 130 for
 * SIGINT), or null after SIGKILLing it when it has not exited within `ms` (a hang fails the test,
 * not the file).
 */
export function exitWithin(child: ChildProcess, ms: number): Promise<number | null> {
  track(child);
  const status = (code: number | null, signal: NodeJS.Signals | null) => code ?? (signal ? 128 + os.constants.signals[signal] : null);
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(status(child.exitCode, child.signalCode));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
      resolve(null);
    }, ms);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!killed) resolve(status(code, signal));
    });
  });
}

/** A temp dir, removed when the test process exits. */
export function tmpDir(prefix = 'sluice-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as NDJSON; reading it fails the test if any line is not JSON */
  readonly lines: Record<string, any>[];
}

/**
 * Run the built CLI; every stdout line must parse as JSON (that is asserted by callers via `lines`).
 * A run still going after `deadlineMs` (default 240 s, under the test file's timeout) is killed
 * with SIGKILL, so a hang shows as a failed assertion on its exit, and no child outlives the test.
 * `prefix`: a command that runs it (e.g. NO_DAC_OVERRIDE); `t`: killed when that test ends, even
 * when it fails (for a run the test does not await at once).
 */
export function sluice(args: string[], opts: SpawnOptions & { input?: string | Buffer; deadlineMs?: number; prefix?: string[]; t?: { teardown(fn: () => void): void } } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const { prefix = [], t, deadlineMs, ...spawnOpts } = opts;
    const cmd = [...launcher(spawnOpts.env), ...prefix, process.execPath, BIN, ...args];
    const child = track(spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOpts }));
    const deadline = setTimeout(() => child.kill('SIGKILL'), deadlineMs ?? 240_000);
    t?.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.stdin!.end(opts.input ?? '');
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      let parsed: Record<string, any>[] | undefined;
      resolve({
        code, signal, stdout, stderr,
        get lines() {
          parsed ??= stdout.split('\n').filter(Boolean).map((l, i) => {
            try {
              return JSON.parse(l) as Record<string, any>;
            } catch {
              throw new Error(`stdout line ${i + 1} is not JSON: ${l.slice(0, 200)}`);
            }
          });
          return parsed;
        },
      });
    });
  });
}

/** What sluiceChild needs of a tap test. */
export interface Teardown { teardown(fn: () => void): void }

/**
 * The built CLI as a child process the test kills at teardown (SIGKILL), whatever happens; `done`
 * resolves when it exits, or with `hung: true` after `boundMs` (a bound for a hang, not a timing).
 */
export function sluiceChild(t: Teardown, args: string[], opts: SpawnOptions = {}, boundMs = 60_000) {
  const cmd = [...launcher(opts.env), process.execPath, BIN, ...args];
  const c = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let stdout = '';
  let stderr = '';
  c.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  t.teardown(() => { if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
  const done = new Promise<{ code: number | null; hung: boolean; stdout: string; stderr: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ code: null, hung: true, stdout, stderr }), boundMs);
    c.on('close', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? (signal ? 128 + os.constants.signals[signal] : null), hung: false, stdout, stderr }); });
  });
  return { proc: c, done };
}

export function ofType(lines: Record<string, any>[], type: string): Record<string, any>[] {
  return lines.filter((l) => l.type === type);
}

/** Files under `dir`: relative path -> content, folders made as needed. */
export function tree(dir: string, files: Record<string, string>): void {
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), body);
  }
}

/** A tree of `n` small files spread over directories of `perDir`. */
export function makeTree(dir: string, n: number, perDir = 500): void {
  for (let i = 0; i < n; i++) {
    const d = path.join(dir, `d${String(Math.floor(i / perDir)).padStart(4, '0')}`);
    if (i % perDir === 0) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, `f${String(i).padStart(7, '0')}.txt`), `item ${i}\n`);
  }
}

export function readJournal(stateDir: string): Record<string, any>[] {
  const f = path.join(stateDir, 'journal.ndjson');
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
}

// A real small disk, where the machine lets a test mount a tmpfs (root on Linux, in a container
// that allows it; CI here does). Tests that need one skip with this reason where it cannot be had.
let mountProbe: string | false | undefined;
export function tmpfsMountError(): string | false {
  if (mountProbe !== undefined) return mountProbe;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return (mountProbe = 'mounting a tmpfs needs root on Linux');
  const d = tmpDir();
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d], { encoding: 'utf8' });
  if (r.status !== 0) return (mountProbe = `cannot mount a tmpfs here: ${(r.stderr || r.error?.message || '').trim()}`);
  spawnSync('umount', [d]);
  return (mountProbe = false);
}

/** Mount a tmpfs of `size` (mount's syntax: 64k, 4m) at `dir`, unmounted when the test ends. */
export function mountTmpfs(t: { teardown(fn: () => void): void }, dir: string, size: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount: ${r.stderr}`);
  t.teardown(() => { spawnSync('umount', ['-l', dir]); });
}

/**
 * Root reads and writes everything: run as root without the capabilities that bypass file
 * permissions (setpriv, util-linux), so that a mode means what it says. Empty when not root.
 */
export const NO_DAC_OVERRIDE = process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--'] : [];

/** The result lines of a run by path. */
export function resultsByPath(lines: Record<string, any>[]): Record<string, Record<string, any>> {
  return Object.fromEntries(ofType(lines, 'result').map((r) => [r.path as string, r]));
}

/** The names in an output dir's temp dir (none when it has none). */
export function outputTemps(out: string): string[] {
  const d = path.join(out, OUTPUT_TMP_DIR);
  return fs.existsSync(d) ? fs.readdirSync(d).sort() : [];
}

/** Wait (up to 30 s) until `file` exists, e.g. a fixture saying it got somewhere. */
export async function waitForFile(file: string, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (fs.existsSync(file)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}
