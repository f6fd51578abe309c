// Errors writing outputs as a user meets them: they keep their real cause (a full disk stops the
// run and is never a bad PDF; a name too long or a directory not writable is an output error).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FIXTURES, mountTmpfs, NO_DAC_OVERRIDE, ofType, outputTemps, readJournal, resultsByPath, SAMPLES, sluice, tmpDir, tmpfsMountError } from '../helpers.js';

const samples = fs.readdirSync(SAMPLES, { recursive: true }).map(String).filter((f) => f.endsWith('.pdf')).sort();
const good = path.join(FIXTURES, 'pdf/good.pdf');

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
  t.same(outputTemps(out), [], 'no temp file left on the full disk');

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
  const res = resultsByPath(r.lines);
  t.match(res['in/ok.pdf'], { status: 'ok' });
  t.match(res[`in/${long}`], { status: 'failed', error: { code: 'SLUICE_E_OUTPUT_PATH', message: /cannot write the output x+\.pdf\.txt: ENAMETOOLONG/, retryable: false } });
  t.match(res['in/locked/doc.pdf'], { status: 'failed', error: { code: 'SLUICE_E_IO', message: /cannot write the output locked\/doc\.pdf\.txt: EACCES/, retryable: false } });
  t.notOk(ofType(r.lines, 'result').some((x) => /PDF/.test(x.error?.code ?? '')), 'no PDF error code');
  t.same(outputTemps(path.join(dir, 'out')), [], 'their temp files are removed');
});
