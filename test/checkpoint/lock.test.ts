import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Lock } from '../../lib/checkpoint/lock.js';
import { BIN, FIXTURES, ROOT, makeTree, sluice, tmpDir, node } from '../helpers.js';

t.test('a second holder is refused with the first one\'s pid', async (t) => {
  const dir = tmpDir();
  const a = Lock.acquire(dir);
  t.throws(() => Lock.acquire(dir), { code: 'SLUICE_E_LOCKED', message: new RegExp(`locked by another run: pid ${process.pid}`) });
  a.release();
  const b = Lock.acquire(dir);
  t.ok(fs.existsSync(path.join(dir, 'lock')));
  b.release();
  t.notOk(fs.existsSync(path.join(dir, 'lock')), 'release removes the lock');
});

t.test('a stale lock (holder gone) is taken over with a note', async (t) => {
  const dir = tmpDir();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: Number(dead), host: os.hostname(), started: 'then' }));
  const notes: string[] = [];
  const l = Lock.acquire(dir, (m) => notes.push(m));
  t.match(notes[0], new RegExp(`stale lock .*pid ${dead} is gone`));
  l.release();
});

// ---- the lock cannot be raced, faked or turned against the user ----

const LOCK_JS = pathToFileURL(path.join(ROOT, 'dist/lib/checkpoint/lock.js')).href;
const CONTENDER = path.join(ROOT, 'dist/test/support/lock-contender.js');
const SLOW_LIVENESS = pathToFileURL(path.join(ROOT, 'dist/test/support/slow-liveness.js')).href;
const GATE = path.join(FIXTURES, 'processors/wait-for-file.mjs');

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

function writeStaleLock(dir: string, pid: number): void {
  fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid, host: os.hostname(), started: 'then' }));
}

/** A child's lines on stdout, one at a time. */
class Lines {
  private buf = '';
  private queue: string[] = [];
  private waiting: ((l: string) => void)[] = [];
  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiting.shift();
        if (w) w(line);
        else this.queue.push(line);
      }
    });
    child.on('close', () => this.waiting.splice(0).forEach((w) => w('<exited>')));
  }
  next(): Promise<string> {
    const l = this.queue.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve('<exited>');
    return new Promise((r) => this.waiting.push(r));
  }
  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }
}

/** How a child ended: its code, or null when it was still running after `boundMs` (it is then killed). */
function ended(child: ChildProcess, boundMs = 60_000): Promise<{ code: number | null; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), boundMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

/**
 * Rounds of three contender processes released together at a stale lock (and, with `deadClaim`,
 * the claim on it left by a taker that died); what went wrong in each round, if anything.
 */
async function race(t: Test, rounds: number, deadClaim: boolean): Promise<string[]> {
  const contenders = [0, 1, 2].map(() => new Lines(spawn(process.execPath, [CONTENDER], { stdio: ['pipe', 'pipe', 'inherit'] })));
  t.teardown(() => contenders.forEach((c) => c.child.kill('SIGKILL')));
  const dead = deadPid();
  const bad: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const dir = tmpDir('sluice-lock-race-');
    writeStaleLock(dir, dead);
    if (deadClaim) fs.writeFileSync(await claimPath(dir), JSON.stringify({ pid: dead, host: os.hostname(), started: 'then', nonce: 'ab' }));
    const go = path.join(dir, 'go');
    for (const c of contenders) c.send(`try\t${dir}\t${go}`);
    for (const c of contenders) t.equal(await c.next(), 'ready');
    fs.writeFileSync(go, '');
    const got = await Promise.all(contenders.map((c) => c.next()));
    const holders = got.filter((g) => g === 'held').length;
    const others = got.filter((g) => g !== 'held' && g !== 'locked SLUICE_E_LOCKED');
    if (holders !== 1 || others.length) bad.push(`round ${r}: ${got.join(', ')}`);
    for (const c of contenders) c.send('release');
    for (const c of contenders) t.equal(await c.next(), 'released');
    t.notOk(fs.existsSync(path.join(dir, 'lock')), 'the holder removed the lock on release');
    const left = fs.readdirSync(dir).filter((n) => n !== 'go');
    if (left.length) bad.push(`round ${r}: left behind ${left.join(', ')}`);
  }
  return bad;
}

/**
 * The name of the claim on the lock in `dir`. Read through the module's namespace so that this
 * file still loads with a lock module that has no claims (it then gets a name that module ignores).
 */
async function claimPath(dir: string): Promise<string> {
  const lockMod = await import('../../lib/checkpoint/lock.js') as Record<string, any>;
  const id = typeof lockMod.readLockRecord === 'function' ? lockMod.readLockRecord(path.join(dir, 'lock')).id : '0'.repeat(16);
  return path.join(dir, `lock.claim-${id}`);
}

t.test('processes released together at a stale lock: exactly one holds it, in every one of 60 rounds', async (t) => {
  const bad = await race(t, 60, false);
  t.same(bad, [], 'one holder and two refused (SLUICE_E_LOCKED) in each of 60 rounds, nothing left behind');
});

t.test('the same when a run that died mid-takeover left its claim: exactly one holds it, in 30 rounds', async (t) => {
  const bad = await race(t, 30, true);
  t.same(bad, [], 'one holder and two refused in each of 30 rounds, the dead claim swept');
});

t.test('two CLI runs started together at a stale lock (liveness checks slowed down): one runs, the other exits 3', async (t) => {
  const bad: string[] = [];
  const rounds = 6;
  for (let r = 0; r < rounds; r++) {
    const dir = tmpDir('sluice-lock-cli-');
    makeTree(path.join(dir, 'in'), 3, 3);
    fs.mkdirSync(path.join(dir, 'st'));
    writeStaleLock(path.join(dir, 'st'), deadPid());
    const args = ['--import', SLOW_LIVENESS, BIN, 'run', '--input', 'in', '--processor', GATE, '--set', `stages[1].map.options.gate=${path.join(dir, 'finish')}`,
      '--state', 'st', '--progress', 'none', '-j', '1'];
    const runs = [0, 1].map(() => spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }));
    t.teardown(() => runs.forEach((c) => c.kill('SIGKILL')));
    // each run either starts (its `start` line: it holds the lock) or exits
    const outcome = runs.map((c) => {
      const done = ended(c);
      const started = new Promise<'started'>((resolve) => {
        let out = '';
        c.stdout!.on('data', (d: string) => {
          out += d;
          if (out.includes('"type":"start"')) resolve('started');
        });
      });
      return { done, first: Promise.race([started, done]) };
    });
    const first = await Promise.all(outcome.map((o) => o.first));
    fs.writeFileSync(path.join(dir, 'finish'), '');
    const ends = await Promise.all(outcome.map((o) => o.done));
    const ran = first.filter((f) => f === 'started').length;
    const refused = ends.filter((e) => e.code === 3 && /SLUICE_E_LOCKED|locked by another run|being taken over/.test(e.stderr)).length;
    const journal = fs.readFileSync(path.join(dir, 'st/journal.ndjson'), 'utf8').split('\n').filter(Boolean).length;
    if (ran !== 1 || refused !== 1 || journal !== 3) {
      bad.push(`round ${r}: ${ran} ran, ${refused} refused, exit codes ${ends.map((e) => e.code).join('/')}, ${journal} journal lines; ${ends.map((e) => e.stderr.trim()).join(' | ')}`);
    }
  }
  t.same(bad, [], `in each of ${rounds} rounds one run did the 3 items once and the other exited 3`);
});

t.test('an empty or unreadable lock file changed just now counts as held; an old one is taken over', async (t) => {
  const dir = tmpDir();
  const lock = path.join(dir, 'lock');
  for (const content of ['', '{"pid": 12']) {
    fs.writeFileSync(lock, content);
    t.throws(() => Lock.acquire(dir), { code: 'SLUICE_E_LOCKED', message: /lock file is empty or unreadable/ }, `${JSON.stringify(content)} is held`);
    t.equal(fs.readFileSync(lock, 'utf8'), content, 'and left as it was');
  }
  const old = (Date.now() - 60_000) / 1000;
  fs.utimesSync(lock, old, old);
  const notes: string[] = [];
  const l = Lock.acquire(dir, (m) => notes.push(m));
  t.match(notes, [/taking over a stale lock .*unreadable lock file/]);
  t.match(JSON.parse(fs.readFileSync(lock, 'utf8')), { pid: process.pid });
  l.release();
  t.notOk(fs.existsSync(lock));
});

t.test('a FIFO at the lock path: the run exits 3 at once naming it, instead of hanging', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 2, 2);
  fs.mkdirSync(path.join(dir, 'st'));
  const mk = spawnSync('mkfifo', [path.join(dir, 'st/lock')]);
  t.equal(mk.status, 0, 'mkfifo');
  const child = spawn(...node([BIN, 'run', '--input', 'in', '--processor', 'noop', '--state', 'st']), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const r = await ended(child);
  t.equal(r.code, 3, 'exit 3 (null: it hung and was killed)');
  t.match(r.stderr, /refusing lock file .*st\/lock: it is a FIFO, not a regular file/);
  t.equal(r.stdout, '');
  t.ok(fs.lstatSync(path.join(dir, 'st/lock')).isFIFO(), 'the FIFO is left as it was');
});

t.test('a symlink at the lock path is refused (exit 3) and what it points at is untouched', async (t) => {
  const dir = tmpDir();
  makeTree(path.join(dir, 'in'), 2, 2);
  fs.mkdirSync(path.join(dir, 'st'));
  fs.writeFileSync(path.join(dir, 'victim.txt'), 'precious\n');
  for (const target of ['../victim.txt', '../not-there.txt']) {
    fs.rmSync(path.join(dir, 'st/lock'), { force: true });
    fs.symlinkSync(target, path.join(dir, 'st/lock'));
    const r = await sluice(['run', '--input', 'in', '--processor', 'noop', '--state', 'st'], { cwd: dir });
    t.equal(r.code, 3, `lock -> ${target}: exit 3`);
    t.match(r.stderr, /refusing lock file .*st\/lock: it is a symbolic link/);
    t.equal(fs.readlinkSync(path.join(dir, 'st/lock')), target, 'the link is left as it was');
  }
  t.equal(fs.readFileSync(path.join(dir, 'victim.txt'), 'utf8'), 'precious\n', 'the victim is unchanged');
  t.notOk(fs.existsSync(path.join(dir, 'not-there.txt')), 'nothing was created through the dangling link');
  t.notOk(fs.existsSync(path.join(dir, 'st/journal.ndjson')), 'nothing ran');
});

t.test('release does not follow a symlink put in place of the lock (to a FIFO, it would hang)', async (t) => {
  const dir = tmpDir();
  const fifo = path.join(dir, 'fifo');
  const script = `
    import fs from 'node:fs';
    import { execFileSync } from 'node:child_process';
    const { Lock } = await import(${JSON.stringify(LOCK_JS)});
    const l = Lock.acquire(${JSON.stringify(dir)});
    fs.unlinkSync(${JSON.stringify(path.join(dir, 'lock'))});
    execFileSync('mkfifo', [${JSON.stringify(fifo)}]);
    fs.symlinkSync('fifo', ${JSON.stringify(path.join(dir, 'lock'))});
    l.release();
    console.log('released');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const r = await ended(child);
  t.equal(r.code, 0, `the child ended by itself (null: it hung) ${r.stderr}`);
  t.equal(r.stdout, 'released\n');
  t.equal(fs.readlinkSync(path.join(dir, 'lock')), 'fifo', 'what is not its own record is left alone');
});

t.test('a takeover left half done by a run that died is completed, and its leftovers swept', async (t) => {
  const dir = tmpDir();
  const dead = deadPid();
  writeStaleLock(dir, dead);
  // the dead run had claimed the stale lock, and left a temp file a while ago
  const claim = await claimPath(dir);
  fs.writeFileSync(claim, JSON.stringify({ pid: dead, host: os.hostname(), started: 'then', nonce: 'ab' }));
  const tmp = path.join(dir, `lock.${dead}.0123456789ab.tmp`);
  fs.writeFileSync(tmp, '{}');
  const old = (Date.now() - 3_600_000) / 1000;
  fs.utimesSync(tmp, old, old);
  const notes: string[] = [];
  const l = Lock.acquire(dir, (m) => notes.push(m));
  t.match(notes, [new RegExp(`stale lock .*pid ${dead} is gone`)]);
  t.same(fs.readdirSync(dir), ['lock'], 'only the lock is left');
  l.release();
  t.same(fs.readdirSync(dir), []);
});

const notRoot = process.platform !== 'linux' || process.getuid?.() !== 0 ? 'running processes as other users needs root on Linux' : false;

t.test('status says a run is going on when the lock holder is a live process of another user', { skip: notRoot }, async (t) => {
  // the holder runs as nobody; status and run as a third user, for whom kill(pid, 0) fails with EPERM
  // (as root it would succeed: root may signal anyone)
  const sleeper = spawn('sleep', ['300'], { uid: 65534, gid: 65534, stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  await new Promise((r) => sleeper.once('spawn', r));
  const user = { uid: 65533, gid: 65533, env: { ...process.env } };
  if (user.env._TAPJS_PROCESSINFO_CWD_) {
    // tap's hook in every child writes its process info there: make it a place this user can write
    user.env._TAPJS_PROCESSINFO_CWD_ = tmpDir();
    fs.chownSync(user.env._TAPJS_PROCESSINFO_CWD_, user.uid, user.gid);
  }
  const dir = tmpDir();
  fs.chmodSync(dir, 0o755);
  makeTree(path.join(dir, 'in'), 2, 2);
  fs.mkdirSync(path.join(dir, 'st'));
  fs.chownSync(path.join(dir, 'st'), user.uid, user.gid);
  const record = JSON.stringify({ pid: sleeper.pid, host: os.hostname(), started: '2026-01-02T03:04:05Z' });
  fs.writeFileSync(path.join(dir, 'st/lock'), record);
  const js = await sluice(['status', '--state', 'st', '--json'], { cwd: dir, ...user });
  t.equal(js.code, 0, js.stderr);
  t.match(js.lines[0], { type: 'status', running: { pid: sleeper.pid, started: '2026-01-02T03:04:05Z' } });
  const text = await sluice(['status', '--state', 'st'], { cwd: dir, ...user });
  t.match(text.stdout, `running now: pid ${sleeper.pid}, since 2026-01-02T03:04:05Z`);
  const run = await sluice(['run', '--input', 'in', '--processor', 'noop', '--state', 'st'], { cwd: dir, ...user });
  t.equal(run.code, 3, 'and a run refuses, by the same rule');
  t.match(run.stderr, `locked by another run: pid ${sleeper.pid}`);
  t.equal(fs.readFileSync(path.join(dir, 'st/lock'), 'utf8'), record, 'the lock is untouched');
});
