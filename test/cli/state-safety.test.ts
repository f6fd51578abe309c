// A folder, or a state dir, planted to turn sluice against the user: links, FIFOs, files that are
// not journals, a dir of someone else's. sluice refuses (exit 3) and the victim is unchanged.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ofType, readJournal, sluice, sluiceChild as child, tmpDir } from '../helpers.js';

type Test = { teardown(fn: () => void): void; equal(...args: any[]): boolean; notMatch(...args: any[]): boolean };

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
  t.match(r.stderr, /refusing the journal: .*journal\.ndjson is a symbolic link/);
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
  // (more shapes in test/checkpoint/journal.test.ts)
  const bodies = {
    'JSON lines of another program': '{"key":"value","status":"ok"}\n{"key":"other"}\n',
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
