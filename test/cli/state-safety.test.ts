// A folder, or a state dir, planted to turn sluice against the user: links, FIFOs, files that are
// not journals, a dir of someone else's. sluice refuses (exit 3) and the victim is unchanged.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { BIN, ofType, readJournal, sluice, tmpDir } from '../helpers.js';

type Test = { teardown(fn: () => void): void; equal(...args: any[]): boolean; notMatch(...args: any[]): boolean };

/** The CLI as a child the test kills at teardown, whatever happens; `done` resolves when it exits (or after `boundMs`, a hang). */
function child(t: Test, args: string[], opts: SpawnOptions = {}, boundMs = 60_000) {
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
  return { proc: c, done, get stdout() { return stdout; }, get stderr() { return stderr; } };
}

/** A downloaded folder: a few documents, one with a shell command in its name. */
function folder(): { home: string; dir: string; victim: string; before: string } {
  const home = tmpDir();
  const dir = path.join(home, 'download');
  fs.mkdirSync(dir);
  for (const name of ['a.txt', 'b.txt', 'quarterly $(touch PWNED).txt']) fs.writeFileSync(path.join(dir, name), name);
  const victim = path.join(home, '.bashrc');
  const before = '# the user\'s own shell start-up file\nexport PATH="$HOME/bin:$PATH"\n';
  fs.writeFileSync(victim, before);
  return { home, dir, victim, before };
}

const run = (dir: string, ...more: string[]) => sluice(['run', '--input', '.', '--processor', 'sha256', '--progress', 'none', ...more], { cwd: dir });

function noStack(t: Test, r: { stderr: string }): void {
  t.notMatch(r.stderr, /\n\s+at |internal error/, 'a clear message, no stack trace');
}

t.test('a folder planted with .sluice/<name>/journal.ndjson -> the user\'s .bashrc: exit 3, the .bashrc unchanged, nothing runs', async (t) => {
  const { home, dir, victim, before } = folder();
  fs.mkdirSync(path.join(dir, '.sluice/sha256'), { recursive: true });
  fs.symlinkSync('../../../.bashrc', path.join(dir, '.sluice/sha256/journal.ndjson'));
  const r = await run(dir);
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /journal .*journal\.ndjson is a symbolic link/);
  noStack(t, r);
  t.equal(fs.readFileSync(victim, 'utf8'), before, 'the .bashrc is unchanged');
  t.equal(ofType(r.lines, 'result').length, 0, 'no item ran');
  t.notOk(fs.existsSync(path.join(dir, 'PWNED')) || fs.existsSync(path.join(home, 'PWNED')));
  for (const cmd of ['status', 'results']) {
    const ro = await sluice([cmd], { cwd: dir });
    t.equal(ro.code, 3, `${cmd} refuses it too`);
    t.equal(fs.readFileSync(victim, 'utf8'), before);
  }
});

t.test('a journal that is a hard link to the user\'s file: not a sluice journal, refused, the file unchanged', async (t) => {
  const { dir, victim, before } = folder();
  fs.mkdirSync(path.join(dir, 'st'));
  fs.linkSync(victim, path.join(dir, 'st/journal.ndjson'));
  const r = await run(dir, '--state', 'st');
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /journal\.ndjson is not a sluice journal .*left as it is/);
  noStack(t, r);
  t.equal(fs.readFileSync(victim, 'utf8'), before, 'not "repaired" to zero bytes');
  const res = await sluice(['results', '--state', 'st'], { cwd: dir });
  t.equal(res.code, 3, 'results refuses it too');
  t.match(res.stderr, /not a sluice journal/);
});

t.test('a regular file that is not a sluice journal at journal.ndjson is refused and left unchanged, whatever its shape', async (t) => {
  const bodies = {
    'shell lines': 'alias ls="ls --color"\nexport A=1\n',
    'JSON lines of another program': '{"key":"value","status":"ok"}\n{"key":"other"}\n',
    'one line, no newline': '{"key":"config","level":3}',
    'zeroes only': '\0'.repeat(4096),
  };
  for (const [what, body] of Object.entries(bodies)) {
    const { dir } = folder();
    fs.mkdirSync(path.join(dir, 'st'));
    fs.writeFileSync(path.join(dir, 'st/journal.ndjson'), body);
    const r = await run(dir, '--state', 'st');
    t.equal(r.code, 3, `${what}: exit 3`);
    t.match(r.stderr, /not a sluice journal/, what);
    t.equal(fs.readFileSync(path.join(dir, 'st/journal.ndjson'), 'latin1'), body, `${what}: unchanged`);
  }
});

t.test('a journal whose first write was torn by a crash is still a journal: cut and resumed', async (t) => {
  const { dir } = folder();
  fs.mkdirSync(path.join(dir, 'st'));
  fs.writeFileSync(path.join(dir, 'st/journal.ndjson'), '{"key":"0123456789abcdef0123456789abcdef","status":"fai');
  const r = await run(dir, '--state', 'st');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /dropped a torn tail of \d+ bytes at byte offset 0/);
  t.equal(readJournal(path.join(dir, 'st')).length, 3);
});

t.test('.sluice/<name> -> elsewhere: exit 3, nothing is written there; a linked .sluice too', async (t) => {
  for (const planted of ['.sluice/sha256', '.sluice'] as const) {
    const { home, dir } = folder();
    const elsewhere = path.join(home, 'elsewhere');
    fs.mkdirSync(elsewhere);
    fs.mkdirSync(path.dirname(path.join(dir, planted)), { recursive: true });
    fs.symlinkSync(elsewhere, path.join(dir, planted));
    const r = await run(dir);
    t.equal(r.code, 3, `${planted}: ${r.stderr}`);
    t.match(r.stderr, /refusing the state dir: .* is a symbolic link/);
    noStack(t, r);
    t.same(fs.readdirSync(elsewhere), [], `${planted} -> elsewhere: nothing written there`);
  }
});

t.test('a FIFO at journal.ndjson: exit 3 at once, no hang, for run and for results', async (t) => {
  const { dir } = folder();
  fs.mkdirSync(path.join(dir, 'st'));
  const fifo = path.join(dir, 'st/journal.ndjson');
  t.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  for (const args of [['run', '--input', '.', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], ['results', '--state', 'st'], ['status', '--state', 'st']]) {
    const c = child(t, args, { cwd: dir });
    const r = await c.done;
    t.notOk(r.hung, `${args[0]} did not hang on the FIFO`);
    t.equal(r.code, 3, `${args[0]}: ${r.stderr}`);
    t.match(r.stderr, /journal\.ndjson is a FIFO/);
  }
  t.ok(fs.lstatSync(fifo).isFIFO(), 'the FIFO is left where it was');
});

t.test('a state dir owned by another user (uid 65534) is refused, nothing written in it', { skip: process.getuid?.() !== 0 && 'needs root to chown' }, async (t) => {
  const { dir } = folder();
  const st = path.join(dir, 'st');
  fs.mkdirSync(st, { mode: 0o777 });
  fs.chmodSync(st, 0o777);
  fs.chownSync(st, 65534, 65534);
  const r = await run(dir, '--state', 'st');
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /refusing the state dir: .*st belongs to another user \(uid 65534; this process runs as uid 0\)/);
  t.same(fs.readdirSync(st), [], 'no lock, no journal, no run.json');
  // the default layout: a .sluice someone else owns
  const { dir: d2 } = folder();
  fs.mkdirSync(path.join(d2, '.sluice'), { mode: 0o777 });
  fs.chownSync(path.join(d2, '.sluice'), 65534, 65534);
  const r2 = await run(d2);
  t.equal(r2.code, 3, r2.stderr);
  t.match(r2.stderr, /\.sluice belongs to another user/);
});

t.test('run.json planted as a link to a victim: exit 3 before anything is written; the victim unchanged', async (t) => {
  const { dir, victim, before } = folder();
  fs.mkdirSync(path.join(dir, 'st'));
  fs.symlinkSync(victim, path.join(dir, 'st/run.json'));
  const r = await run(dir, '--state', 'st');
  t.equal(r.code, 3, r.stderr);
  t.match(r.stderr, /run\.json is a symbolic link/);
  t.equal(fs.readFileSync(victim, 'utf8'), before);
  t.ok(fs.lstatSync(path.join(dir, 'st/run.json')).isSymbolicLink(), 'the link is left as it is');
  t.notOk(fs.existsSync(path.join(dir, 'st/journal.ndjson')), 'no journal started');
});

t.test('report.json and report.md planted as links: the run goes on, the report is refused with a warning, the victims unchanged', async (t) => {
  const { home, dir, victim, before } = folder();
  const victim2 = path.join(home, 'notes.md');
  fs.writeFileSync(victim2, 'my notes\n');
  fs.mkdirSync(path.join(dir, 'st'));
  fs.symlinkSync(victim, path.join(dir, 'st/report.json'));
  const r = await run(dir, '--state', 'st');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /cannot write report .*report\.json is a symbolic link/);
  t.equal(fs.readFileSync(victim, 'utf8'), before);
  t.ok(fs.lstatSync(path.join(dir, 'st/report.json')).isSymbolicLink());
  t.equal(readJournal(path.join(dir, 'st')).length, 3, 'the checkpoint is kept');
  // md as well, in an output dir of the user's choosing
  fs.mkdirSync(path.join(dir, 'rep'));
  fs.symlinkSync(victim2, path.join(dir, 'rep/r.md'));
  const md = await run(dir, '--state', 'st2', '--report', 'rep/r.json', '--set', 'report.formats=["json","md"]');
  t.equal(md.code, 0, md.stderr);
  t.match(md.stderr, /cannot write report .*r\.md is a symbolic link/);
  t.equal(fs.readFileSync(victim2, 'utf8'), 'my notes\n');
});

t.test('--report naming the journal, or any file in the state dir, is refused (exit 2); the checkpoint intact', async (t) => {
  const { dir } = folder();
  t.equal((await run(dir, '--state', 'st')).code, 0);
  const journal = fs.readFileSync(path.join(dir, 'st/journal.ndjson'));
  for (const report of ['st/journal.ndjson', 'st/run.json', 'st/other.json', 'st', './st/../st/journal.ndjson']) {
    const r = await run(dir, '--state', 'st', '--report', report);
    t.equal(r.code, 2, `--report ${report}: ${r.stderr}`);
    t.match(r.stderr, /is inside the state dir .*where it could overwrite the checkpoint/);
  }
  t.same(fs.readFileSync(path.join(dir, 'st/journal.ndjson')), journal, 'the journal is as it was');
  const own = await run(dir, '--state', 'st', '--report', 'st/report.json');
  t.equal(own.code, 0, 'the state dir\'s own report.json (the default) is fine');
});

/** A journal mostly superseded, so that the next run compacts it: 30 items failed twice, then fixed. */
async function compactable(t: Test): Promise<{ dir: string; go: (env?: NodeJS.ProcessEnv, ...more: string[]) => ReturnType<typeof child>; files: number }> {
  const dir = tmpDir();
  const files = 30;
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), String(i));
  const proc = path.join(dir, 'fail-then-ok.mjs');
  fs.writeFileSync(proc, "import fs from 'node:fs';\nexport default async () => { if (!fs.existsSync(process.env.OK_FLAG)) throw new Error('not yet'); return {}; };\n");
  const env = { ...process.env, OK_FLAG: path.join(dir, 'ok') };
  const args = ['run', '--input', 'in', '--processor', proc, '--state', 'st', '--progress', 'none'];
  t.equal((await sluice(args, { cwd: dir, env })).code, 1);
  t.equal((await sluice([...args, '--retry-failed'], { cwd: dir, env })).code, 1);
  fs.writeFileSync(path.join(dir, 'ok'), '');
  return { dir, files, go: (more = {}, ...extra) => child(t, [...args, '--retry-failed', ...extra], { cwd: dir, env: { ...env, ...more } }) };
}

const temps = (st: string) => fs.readdirSync(st).filter((n) => n.endsWith('.tmp'));
const compactionTemp = (st: string) => () => temps(st).some((n) => n.startsWith('journal.ndjson.'));

async function until(what: string, cond: () => boolean, boundMs = 60_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('one SIGINT during compaction: exit 130, the journal whole, no temp file left', async (t) => {
  const { dir, go, files } = await compactable(t);
  const st = path.join(dir, 'st');
  const before = fs.readFileSync(path.join(st, 'journal.ndjson'));
  const c = go({ SLUICE_FAULT_COMPACT_PAUSE_MS: '60000' });
  await until('the compaction temp file', compactionTemp(st));
  c.proc.kill('SIGINT');
  const r = await c.done;
  t.notOk(r.hung);
  t.equal(r.code, 130, r.stderr);
  const summary = r.stdout.trim().split('\n').map((l: string) => JSON.parse(l) as Record<string, any>).at(-1);
  t.match(summary, { type: 'summary', stopped: 'SIGINT', exit_code: 130 });
  t.same(temps(st), [], 'the compaction temp file is removed');
  const after = readJournal(st);
  t.equal(after.length, before.toString().split('\n').filter(Boolean).length + files, 'not compacted: the old lines and this run\'s, all whole');
  const again = await sluice(['run', '--input', 'in', '--processor', path.join(dir, 'fail-then-ok.mjs'), '--state', 'st', '--progress', 'none'], { cwd: dir, env: { ...process.env, OK_FLAG: path.join(dir, 'ok') } });
  t.equal(ofType(again.lines, 'result').length, 0, 'and every item is recorded done');
});

t.test('a hard exit during compaction (a second SIGINT, or kill -9) leaves no temp file behind for good', async (t) => {
  const { dir, go } = await compactable(t);
  const st = path.join(dir, 'st');
  const c = go({ SLUICE_FAULT_COMPACT_PAUSE_MS: '60000' });
  await until('the compaction temp file', compactionTemp(st));
  c.proc.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 20));
  c.proc.kill('SIGINT');
  const r = await c.done;
  t.equal(r.code, 130, r.stderr);
  t.same(temps(st), [], 'a second SIGINT: the temp file is removed on the way out');

  // kill -9 cannot clean up: the next run, holding the lock, removes what the dead run left
  const k = go({ SLUICE_FAULT_COMPACT_PAUSE_MS: '60000' });
  await until('the compaction temp file', compactionTemp(st));
  k.proc.kill('SIGKILL');
  await k.done;
  t.equal(temps(st).length, 1, 'kill -9 left the temp file');
  fs.writeFileSync(path.join(st, 'journal.ndjson.compact.tmp'), 'x'.repeat(1 << 16)); // the fixed name older versions used
  // --fresh: a run that has nothing to compact, so only the clean-up at its start can remove them
  const next = await sluice(['run', '--input', 'in', '--processor', path.join(dir, 'fail-then-ok.mjs'), '--state', 'st', '--progress', 'none', '--fresh'], { cwd: dir, env: { ...process.env, OK_FLAG: path.join(dir, 'ok') } });
  t.equal(next.code, 0, next.stderr);
  t.same(temps(st), [], 'the next run removed the dead run\'s temp files');
});
