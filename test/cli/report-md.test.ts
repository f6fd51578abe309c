// report.md from a run: what it leaves out, it says, with the command that lists it all.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, sluice, tmpDir } from '../helpers.js';

t.test('report.md says how many failures of a code it did not show, and the command it gives lists every one', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  // 8 files named .pdf that are not PDFs: 8 failures of one code, more than the 5 examples shown
  for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(dir, 'in', `fake ${i}.pdf`), '<html>not a pdf</html>');
  const r = await sluice(['run', '--input', 'in', '--processor', 'pdf-info', '--state', 'my state', '--progress', 'none', '--report', 'out/report.json', '--set', 'report.formats=[json,md]'], { cwd: dir });
  t.equal(r.code, 1, r.stderr);
  const md = fs.readFileSync(path.join(dir, 'out', 'report.md'), 'utf8');
  t.match(md, /### SLUICE_E_PDF_INVALID \(8\)/);
  const line = md.split('\n').find((l) => l.startsWith('- and '));
  t.match(line, /^- and 3 more not shown here; `sluice results --state 'my state' --status failed \| jq -r 'select\(\.error\.code == "SLUICE_E_PDF_INVALID"\) \| \.path'` lists them all$/);
  const cmd = /`(sluice results [^`]+)`/.exec(line!)![1]!;
  const listed = spawnSync('bash', ['-c', cmd.replace(/^sluice/, `"${process.execPath}" "${BIN}"`)], { cwd: dir, encoding: 'utf8' });
  t.equal(listed.status, 0, listed.stderr);
  t.equal(listed.stdout.trim().split('\n').sort().join('\n'), Array.from({ length: 8 }, (_, i) => `in/fake ${i}.pdf`).join('\n'), 'the command lists all 8');
});
