import { spawn, type SpawnOptions } from 'node:child_process';
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

/** Run the built CLI; every stdout line must parse as JSON (that is asserted by callers via `lines`). */
export function sluice(args: string[], opts: SpawnOptions & { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.stdin!.end(opts.input ?? '');
    child.on('close', (code, signal) => {
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
  const c = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  let stdout = '';
  let stderr = '';
  c.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  c.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  t.teardown(() => { if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
  const done = new Promise<{ code: number | null; hung: boolean; stdout: string; stderr: string }>((resolve) => {
    const timer = setTimeout(() => resolve({ code: null, hung: true, stdout, stderr }), boundMs);
    c.on('close', (code) => { clearTimeout(timer); resolve({ code, hung: false, stdout, stderr }); });
  });
  return { proc: c, done };
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
