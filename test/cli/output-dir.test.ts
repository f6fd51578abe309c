// The output dir as a user meets it: several runs can share it, and nothing is written through a
// symbolic link planted in it.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostTag } from '../../lib/core/output.js';
import { FIXTURES, ofType, outputTemps, resultsByPath, sluice, tmpDir, waitForFile } from '../helpers.js';

const gate = path.join(FIXTURES, 'processors/gate.mjs');
const good = path.join(FIXTURES, 'pdf/good.pdf');

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
  await waitForFile(path.join(dir, 'gate/held'), 'run A to hold an output in flight');
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
  t.same(outputTemps(path.join(dir, 'out')), [], 'no temp file left');
});
t.test('an output directory removed under an output in flight is an I/O error, not a vanished input', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  fs.writeFileSync(path.join(dir, 'in/a.txt'), 'a');
  fs.mkdirSync(path.join(dir, 'gate'));
  const run = sluice(['run', '--input', 'in', '--processor', gate, '--out', 'out', '--state', 'st', '--progress', 'none', '-j', '1'], {
    cwd: dir, env: { ...process.env, GATE_DIR: path.join(dir, 'gate') }, t,
  });
  await waitForFile(path.join(dir, 'gate/held'), 'the run to hold its output in flight');
  fs.rmSync(path.join(dir, 'out/.sluice-tmp'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'gate/go'), '');
  const r = await run;
  t.equal(r.code, 1);
  t.match(resultsByPath(r.lines)['in/a.txt'], { status: 'failed', error: { code: 'SLUICE_E_IO', message: /cannot write the output a\.txt\.out: ENOENT/ } });
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
  t.same(outputTemps(path.join(dir, 'out')), [names.live, names.notOurs, names.otherHost].sort(), 'only the dead process\'s temp file is gone');
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
  const res = resultsByPath(r.lines);
  t.match(res['in/contracts/deal.pdf'], { status: 'failed', error: { code: 'SLUICE_E_OUTPUT_UNSAFE', message: /out\/contracts is a symbolic link/, retryable: false } });
  t.match(res['in/b.pdf'], { status: 'ok', output: { text_path: 'out/b.pdf.txt' } });
  t.same(fs.readdirSync(elsewhere), ['victim.txt'], 'nothing written where the link points');
  t.equal(fs.readFileSync(path.join(elsewhere, 'victim.txt'), 'utf8'), 'keep me', 'the file a link pointed at is unchanged');
  t.ok(fs.lstatSync(path.join(dir, 'out/b.pdf.txt')).isFile(), 'the link at the output name was replaced by the output');
  t.same(fs.readdirSync(elsewhere2), [], 'nothing written through the temp dir link');
  t.ok(fs.lstatSync(path.join(dir, 'out/.sluice-tmp')).isDirectory(), 'the temp dir is a real directory again');
  t.match(r.stderr, /\.sluice-tmp was not a directory \(a symbolic link\): removed/);
});
