// A terminal is for people: on one, results are lines of words and the summary stays on screen;
// a pipe or a file gets NDJSON, and --json asks for it on a terminal too. Run in a real
// pseudo-terminal, by script(1).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, FIXTURES, launcher, tmpDir } from '../helpers.js';

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `sh` command line run in a pseudo-terminal; resolves to what the terminal showed (ANSI colour kept) and the exit code. Killed at teardown. */
function inTerminal(t: { teardown(fn: () => void): void }, shell: string, cwd: string): Promise<{ screen: string; code: number | null }> {
  return new Promise((resolve) => {
    // as a person's terminal would have it: the test runner turns colour off for its children,
    // and with CI set Node reports 2 colours (no colour) for an unknown CI
    const { FORCE_COLOR: _f, NO_COLOR: _n, CI: _c, ...env } = process.env;
    const c = spawn('script', ['-qec', shell, '/dev/null'], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, TERM: 'xterm-256color' } });
    t.teardown(() => { if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); });
    let screen = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
    c.on('close', (code) => resolve({ screen, code }));
  });
}

const sluiceCmd = (args: string[]) => [...launcher(), process.execPath, BIN, ...args].map(quote).join(' ');
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, '');

function inputs(): string {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.copyFileSync(path.join(FIXTURES, 'pdf', 'html.pdf'), path.join(dir, 'in', 'html.pdf'));
  fs.copyFileSync(path.join(FIXTURES, 'pdf', 'form-fields.pdf'), path.join(dir, 'in', 'form-fields.pdf'));
  fs.writeFileSync(path.join(dir, 'in', 'evil\x1b[2J\x1b]0;owned\x07.pdf'), 'not a pdf');
  return dir;
}

t.test('on a terminal: a line of words per result, failures with their code, names never drive the terminal, and the summary line stays', async (t) => {
  const dir = inputs();
  const r = await inTerminal(t, sluiceCmd(['run', '--input', 'in', '--processor', 'pdf-info', '--state', 'st']), dir);
  t.equal(r.code, 1, r.screen);
  const text = plain(r.screen);
  t.notMatch(text, /\{"v":1/, 'no NDJSON on the terminal');
  t.match(text, /ok\s+in\/form-fields\.pdf\s+\d+ms/);
  t.match(text, /FAIL\s+in\/html\.pdf\s+SLUICE_E_PDF_INVALID not a PDF/);
  t.match(text, /in\/evil\\x1b\[2J\\x1b\]0;owned\\x07\.pdf/, 'the escape sequences in a name are shown, not sent');
  t.notOk(r.screen.includes('\x1b[2J') || r.screen.includes('\x1b]0;'), 'no clear-screen or title sequence reached the terminal');
  t.match(text, /sluice: 1 ok, 2 failed, 0 skipped in [\d.]+s; `sluice results --status failed` lists the failures, --retry-failed runs them again; report st\/report\.json\n*$/, 'the summary, last');
  t.ok(r.screen.includes('\x1b[31mFAIL'), 'in colour');
});

t.test('stdout to a file from a terminal: the file is pure NDJSON, the terminal shows the bar and the summary line', async (t) => {
  const dir = inputs();
  const r = await inTerminal(t, `${sluiceCmd(['run', '--input', 'in', '--processor', 'pdf-info', '--state', 'st'])} > out.ndjson`, dir);
  t.equal(r.code, 1, r.screen);
  const lines = fs.readFileSync(path.join(dir, 'out.ndjson'), 'utf8').trim().split('\n');
  t.ok(lines.every((l) => { try { JSON.parse(l); return true; } catch { return false; } }), 'every line of the file is JSON');
  t.match(JSON.parse(lines.at(-1)!), { type: 'summary', ok: 1, failed: 2 });
  const text = plain(r.screen);
  t.match(text, /\[#+-*\] 3\/3 ok 1 failed 2 skipped 0 /, 'the bar');
  t.match(text, /sluice: 1 ok, 2 failed, 0 skipped in/, 'the summary line on the terminal');
});

t.test('--json on a terminal prints NDJSON', async (t) => {
  const dir = inputs();
  const r = await inTerminal(t, sluiceCmd(['run', '--input', 'in', '--processor', 'pdf-info', '--state', 'st', '--json', '--progress', 'none']), dir);
  t.equal(r.code, 1, r.screen);
  const lines = plain(r.screen).trim().split('\n').filter((l) => l.startsWith('{'));
  t.ok(lines.length >= 5, `NDJSON lines: ${lines.length}`);
  t.match(JSON.parse(lines.at(-1)!), { type: 'summary' });
});

t.test('the bar names the item running longest once it has run 2 s, its name escaped', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
  fs.writeFileSync(path.join(dir, 'in', 'a-slow\x1b[31m-one.txt'), 'x'.repeat(50));
  fs.writeFileSync(path.join(dir, 'proc.mjs'), 'export default async (item) => { await new Promise((r) => setTimeout(r, item.size > 10 ? 3500 : 50)); return {}; };\n');
  const r = await inTerminal(t, `${sluiceCmd(['run', '--input', 'in', '--processor', './proc.mjs', '--include', '**/*', '--state', 'st', '--progress-interval', '250ms'])} > out.ndjson`, dir);
  t.equal(r.code, 0, r.screen);
  t.match(plain(r.screen), /slowest a-slow\\x1b\[31m-one\.txt [23]s/, 'named on the bar, escaped');
  t.notOk(r.screen.includes('a-slow\x1b[31m'), 'the raw escape never reached the terminal');
});
