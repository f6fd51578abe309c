// Signals during compaction: one SIGINT exits 130 with the journal whole; a hard exit leaves no
// compaction temp file behind for good (the next run removes what a killed one left).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, readJournal, sluice, sluiceChild as child, tmpDir } from '../helpers.js';

type Test = { teardown(fn: () => void): void; equal(...args: any[]): boolean; notMatch(...args: any[]): boolean };

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
