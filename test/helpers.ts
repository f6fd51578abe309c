import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The environment without the test runner's hooks (tap preloads itself into child processes through NODE_OPTIONS). */
export function quietEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^NODE_OPTIONS$|TAP/i.test(k))), ...extra };
}

/** The child's exit code, or null after SIGKILLing it when it has not exited within `ms` (a hang fails the test, not the file). */
export function exitWithin(child: ChildProcess, ms: number): Promise<number | null> {
  track(child);
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
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
 */
export function sluice(args: string[], opts: SpawnOptions & { input?: string | Buffer; deadlineMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts }));
    const deadline = setTimeout(() => child.kill('SIGKILL'), opts.deadlineMs ?? 240_000);
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

export function ofType(lines: Record<string, any>[], type: string): Record<string, any>[] {
  return lines.filter((l) => l.type === type);
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
