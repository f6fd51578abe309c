// The output dir as a user meets it: errors writing outputs keep their real cause (a full disk
// stops the run, it is never a bad PDF), several runs can share one output dir, and nothing is
// written through a symbolic link planted in it.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostTag, OUTPUT_TMP_DIR } from '../../lib/worker/output.js';
import { FIXTURES, mountTmpfs, NO_DAC_OVERRIDE, ofType, readJournal, SAMPLES, sluice, tmpDir, tmpfsMountError } from '../helpers.js';

const gate = path.join(FIXTURES, 'processors/gate.mjs');
const samples = fs.readdirSync(SAMPLES, { recursive: true }).map(String).filter((f) => f.endsWith('.pdf')).sort();
const good = path.join(FIXTURES, 'pdf/good.pdf');
const byPath = (lines: Record<string, any>[]) => Object.fromEntries(ofType(lines, 'result').map((r) => [r.path as string, r]));
const tmpFiles = (out: string) => (fs.existsSync(path.join(out, OUTPUT_TMP_DIR)) ? fs.readdirSync(path.join(out, OUTPUT_TMP_DIR)).sort() : []);

async function waitFor(file: string, what: string): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    if (fs.existsSync(file)) return;
    await sleep(20);
  }
  throw new Error(`gave up waiting for ${what}`);
}

t.test('pdf-text on a real full disk (64 KB tmpfs): exit 3, no item recorded as a PDF failure, the next run with space does the rest', { skip: tmpfsMountError() }, async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 24; i++) fs.copyFileSync(path.join(SAMPLES, samples[i % samples.length]!), path.join(dir, `in/doc-${String(i).padStart(2, '0')}.pdf`));
  const out = path.join(dir, 'small');
  mountTmpfs(t, out, '64k');
  const go = () => sluice(['run', '--input', 'in', '--processor', 'pdf-text', '--out', 'small', '--state', 'st', '--progress', 'none'], { cwd: dir });

  const full = await go();
  t.equal(full.code, 3, full.stderr);
  t.match(full.stderr.split('\n')[0], /no space left writing the output of in\/doc-\d\d\.pdf: cannot write the output doc-\d\d\.pdf\.txt: ENOSPC/, 'the cause comes first');
  const kept = readJournal(path.join(dir, 'st'));
  t.ok(kept.length > 0 && kept.length < 24, `${kept.length} items recorded before the disk filled`);
  t.same(kept.filter((e) => e.status !== 'ok'), [], 'no item recorded failed (no SLUICE_E_PDF_PARSE)');
  t.same(ofType(full.lines, 'result').filter((r) => r.status !== 'ok'), [], 'no failed result shown');
  t.ok(kept.every((e) => fs.existsSync(path.join(dir, e.output.text_path))), 'every recorded item has its text');
  t.same(tmpFiles(out), [], 'no temp file left on the full disk');

  const remount = spawnSync('mount', ['-o', 'remount,size=4m', out], { encoding: 'utf8' });
  t.equal(remount.status, 0, remount.stderr);
  const next = await go();
  t.equal(next.code, 0, next.stderr);
  t.equal(ofType(next.lines, 'result').length, 24 - kept.length, 'the next run does exactly the rest');
  const all = readJournal(path.join(dir, 'st'));
  t.equal(new Set(all.filter((e) => e.status === 'ok').map((e) => e.key)).size, 24, 'all 24 done');
  t.equal(fs.readdirSync(out).filter((f) => f.endsWith('.pdf.txt')).length, 24, 'all 24 texts written');
});

t.test('an output name too long for the file system and an unwritable output directory fail as output errors, not PDF errors', async (t) => {
  const dir = tmpDir();
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'in/locked'), { recursive: true });
  const long = 'x'.repeat(251) + '.pdf'; // 255 bytes: a valid input name, its output name (+ .txt) is not
  for (const rel of ['ok.pdf', long, 'locked/doc.pdf']) fs.copyFileSync(good, path.join(dir, 'in', rel));
  fs.mkdirSync(path.join(dir, 'out/locked'), { recursive: true });
  fs.chmodSync(path.join(dir, 'out/locked'), 0o555);
  t.teardown(() => fs.chmodSync(path.join(dir, 'out/locked'), 0o755));
  const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '--out', 'out', '--state', 'st', '--progress', 'none'], { cwd: dir, prefix: NO_DAC_OVERRIDE });
  t.equal(r.code, 1, r.stderr);
  const res = byPath(r.lines);
  t.match(res['in/ok.pdf'], { status: 'ok' });
  t.match(res[`in/${long}`], { status: 'failed', error: { code: 'SLUICE_E_OUTPUT_PATH', message: /cannot write the output x+\.pdf\.txt: ENAMETOOLONG/, retryable: false } });
  t.match(res['in/locked/doc.pdf'], { status: 'failed', error: { code: 'SLUICE_E_IO', message: /cannot write the output locked\/doc\.pdf\.txt: EACCES/, retryable: false } });
  t.notOk(ofType(r.lines, 'result').some((x) => /PDF/.test(x.error?.code ?? '')), 'no PDF error code');
  t.same(tmpFiles(path.join(dir, 'out')), [], 'their temp files are removed');
});

t.test('two runs sharing an output dir: the second to start leaves the first one\'s outputs in flight alone', async (t) => {
  const dir = tmpDir();
  for (const f of ['inA/a1.txt', 'inA/a2.txt', 'inA/a3.txt', 'inB/b1.txt', 'inB/b2.txt']) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), f);
  }
  fs.mkdirSync(path.join(dir, 'gate'));
  const go = (input: string, state: string, env: NodeJS.ProcessEnv = process.env) =>
    sluice(['run', '--input', input, '--processor', gate, '--out', 'out', '--state', state, '--progress', 'none', '-j', '1'], { cwd: dir, env, t });
  // A holds its first output between writing the temp file and renaming it into place
  const a = go('inA', 'stA', { ...process.env, GATE_DIR: path.join(dir, 'gate') });
  await waitFor(path.join(dir, 'gate/held'), 'run A to hold an output in flight');
  const held = fs.readFileSync(path.join(dir, 'gate/held'), 'utf8');
  t.ok(fs.existsSync(held), 'A has a temp file in flight');
  const b = await go('inB', 'stB');
  t.equal(b.code, 0, b.stderr);
  t.ok(fs.existsSync(held), 'B, starting, did not remove it');
  fs.writeFileSync(path.join(dir, 'gate/go'), '');
  const ra = await a;
  t.equal(ra.code, 0, ra.stderr);
  t.same(ofType(ra.lines, 'result').map((r) => r.status), ['ok', 'ok', 'ok'], 'every item of A is ok (none SLUICE_E_VANISHED)');
  for (const f of ['a1', 'a2', 'a3']) t.equal(fs.readFileSync(path.join(dir, `out/${f}.txt.out`), 'utf8'), `${f}.txt\n`);
  t.same(tmpFiles(path.join(dir, 'out')), [], 'no temp file left');
});

t.test('an output directory removed under an output in flight is an I/O error, not a vanished input', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in/a.txt'), 'a');
  fs.mkdirSync(path.join(dir, 'gate'));
  const run = sluice(['run', '--input', 'in', '--processor', gate, '--out', 'out', '--state', 'st', '--progress', 'none', '-j', '1'], {
    cwd: dir, env: { ...process.env, GATE_DIR: path.join(dir, 'gate') }, t,
  });
  await waitFor(path.join(dir, 'gate/held'), 'the run to hold its output in flight');
  fs.rmSync(path.join(dir, 'out/.sluice-tmp'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'gate/go'), '');
  const r = await run;
  t.equal(r.code, 1);
  t.match(byPath(r.lines)['in/a.txt'], { status: 'failed', error: { code: 'SLUICE_E_IO', message: /cannot write the output a\.txt\.out: ENOENT/ } });
});

t.test('a run removes the temp files of runs that are gone, and only those', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in/a.txt'), 'a');
  fs.mkdirSync(path.join(dir, 'out/.sluice-tmp'), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const names = {
    dead: `${hostTag()}.${dead}.0123456789abcdef.tmp`,
    live: `${hostTag()}.${process.pid}.0123456789abcdef.tmp`,
    otherHost: `some-other-host.${dead}.0123456789abcdef.tmp`,
    notOurs: 'notes.txt',
  };
  for (const n of Object.values(names)) fs.writeFileSync(path.join(dir, 'out/.sluice-tmp', n), 'x');
  const r = await sluice(['run', '--input', 'in', '--processor', gate, '--out', 'out', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.same(tmpFiles(path.join(dir, 'out')), [names.live, names.notOurs, names.otherHost].sort(), 'only the dead process\'s temp file is gone');
});

t.test('a symbolic link inside the output dir: nothing is written through it, the item fails SLUICE_E_OUTPUT_UNSAFE, the run goes on', async (t) => {
  const dir = tmpDir();
  const elsewhere = tmpDir();
  const elsewhere2 = tmpDir();
  fs.mkdirSync(path.join(dir, 'in/contracts'), { recursive: true });
  fs.copyFileSync(good, path.join(dir, 'in/contracts/deal.pdf'));
  fs.copyFileSync(good, path.join(dir, 'in/b.pdf'));
  fs.mkdirSync(path.join(dir, 'out'));
  fs.writeFileSync(path.join(elsewhere, 'victim.txt'), 'keep me');
  fs.symlinkSync(elsewhere, path.join(dir, 'out/contracts'));
  // a link at an output's own name is replaced (renamed over), never opened
  fs.symlinkSync(path.join(elsewhere, 'victim.txt'), path.join(dir, 'out/b.pdf.txt'));
  // and one at the temp files' dir is removed before the run, never followed
  fs.symlinkSync(elsewhere2, path.join(dir, 'out/.sluice-tmp'));
  const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-text', '--out', 'out', '--state', 'st', '--progress', 'none'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  const res = byPath(r.lines);
  t.match(res['in/contracts/deal.pdf'], { status: 'failed', error: { code: 'SLUICE_E_OUTPUT_UNSAFE', message: /out\/contracts is a symbolic link/, retryable: false } });
  t.match(res['in/b.pdf'], { status: 'ok', output: { text_path: 'out/b.pdf.txt' } });
  t.same(fs.readdirSync(elsewhere), ['victim.txt'], 'nothing written where the link points');
  t.equal(fs.readFileSync(path.join(elsewhere, 'victim.txt'), 'utf8'), 'keep me', 'the file a link pointed at is unchanged');
  t.ok(fs.lstatSync(path.join(dir, 'out/b.pdf.txt')).isFile(), 'the link at the output name was replaced by the output');
  t.same(fs.readdirSync(elsewhere2), [], 'nothing written through the temp dir link');
  t.ok(fs.lstatSync(path.join(dir, 'out/.sluice-tmp')).isDirectory(), 'the temp dir is a real directory again');
  t.match(r.stderr, /\.sluice-tmp was not a directory \(a symbolic link\): removed/);
});
