// Every documented exit code and error code is reached by at least one test; the ones no other
// test reaches are reached here.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ERROR_CODES } from '../../lib/core/errors.js';
import { BIN, FIXTURES, ROOT, exitWithin, readJournal, sluice, tmpDir, track, node } from '../helpers.js';

function tree(n: number): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, 'in', `f${String(i).padStart(3, '0')}.txt`), String(i));
  return dir;
}

t.test('SIGTERM lets the items in flight finish, saves the checkpoint and exits 143', async (t) => {
  const dir = tree(20);
  const child = track(spawn(...node([BIN, 'run', '--input', 'in', '--processor', path.join(FIXTURES, 'processors/slow.mjs'), '--state', 'st', '--progress', 'none', '-j', '1', '-O', 'ms=300']), { cwd: dir }));
  const exited = exitWithin(child, 120_000);
  let out = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => (out += d, out.includes('"result"') && resolve()));
    child.on('exit', () => resolve());
  });
  child.kill('SIGTERM');
  t.equal(await exited, 143);
  const summary = JSON.parse(out.trim().split('\n').at(-1)!);
  t.match(summary, { type: 'summary', stopped: 'SIGTERM', exit_code: 143 });
  t.equal(readJournal(path.join(dir, 'st')).length, summary.ok, 'every printed result is recorded');
});

t.test('a run that breaks with an unexpected internal error (SLUICE_E_FATAL) exits 3 with the cause, keeping what it recorded', async (t) => {
  const dir = tree(50);
  const r = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none', '-j', '1'], {
    cwd: dir, env: { ...process.env, SLUICE_FAULT_SINK_BREAK_AFTER: '10' },
  });
  t.equal(r.code, 3);
  t.match(r.lines.at(-1), { type: 'summary', exit_code: 3, error: { code: 'SLUICE_E_FATAL', message: /fault injected/ } });
  t.match(r.stderr, /^sluice: fault injected/m, 'the cause on stderr');
  const kept = readJournal(path.join(dir, 'st')).length;
  t.ok(kept >= 10 && kept < 50, `${kept} recorded`);
  const next = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(next.code, 0);
  t.equal(readJournal(path.join(dir, 'st')).length, 50, 'the next run does the rest');
});

t.test('a state dir that cannot be created (SLUICE_E_STATE) exits 3 naming it', async (t) => {
  const dir = tree(3);
  fs.writeFileSync(path.join(dir, 'blocker'), 'a file where the state dir would go');
  const r = await sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'blocker/st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 3);
  t.match(r.stderr, /blocker/);
  t.notMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
});

t.test('every error code in the table and every documented exit code is reached by at least one test', async (t) => {
  const sources: string[] = [];
  const walkDir = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && e.name !== 'fixtures') walkDir(p);
      else if (e.name.endsWith('.test.ts') && e.name !== 'docs.test.ts') sources.push(fs.readFileSync(p, 'utf8'));
    }
  };
  walkDir(path.join(ROOT, 'test'));
  const all = sources.join('\n');
  const unreached = Object.keys(ERROR_CODES).filter((c) => !all.includes(`'${c}'`) && !all.includes(`"${c}"`) && !new RegExp(`${c}\\b`).test(all));
  t.same(unreached, [], 'error codes no test names');
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const documented = [...readme.slice(readme.indexOf('## Exit codes')).split('\n## ')[0]!.matchAll(/\b(\d{1,3})\b(?= )/g)].map((m) => Number(m[1]));
  t.ok(documented.length >= 7, `exit codes documented: ${documented.join(', ')}`);
  const unexercised = documented.filter((n) => !new RegExp(`(code|exit_code|exitCode)\\W{1,12}${n}\\b`).test(all));
  t.same(unexercised, [], 'documented exit codes no test asserts');
});

t.test('an invalid pipeline file (SLUICE_E_CONFIG) exits 2 before anything runs, naming the key', async (t) => {
  const dir = tree(2);
  fs.writeFileSync(path.join(dir, 'p.yaml'), 'version: 1\nname: p\nsource: { walk: { roots: [in] } }\nstages:\n  - map: { processor: sha256, concurrency: many }\n');
  const r = await sluice(['run', 'p.yaml'], { cwd: dir });
  t.equal(r.code, 2);
  t.match(r.stderr, /stages\[0\]\.map\.concurrency/);
  t.equal(r.stdout, '', 'no start line: nothing ran');
  t.notOk(fs.existsSync(path.join(dir, '.sluice')), 'no state dir made');
});
