// writeOutputFile runs the same rules over blocking calls (a worker thread's outputs) and over
// the thread pool (the main thread's stage records): both ways must agree, case by case.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { OUTPUT_TMP_DIR, writeOutputFile } from '../../lib/core/output.js';
import { tmpDir } from '../helpers.js';

const shown = (p: string) => p;

for (const how of ['blocking', 'async'] as const) {
  t.test(`${how}: an output lands whole under its name, in directories made for it, with no temp file left`, async (t) => {
    const out = path.join(tmpDir(), 'out');
    const target = await writeOutputFile(out, 'a/b/c.txt', 'text\n', shown, '', how);
    t.equal(target, path.join(out, 'a/b/c.txt'));
    t.equal(fs.readFileSync(target, 'utf8'), 'text\n');
    t.same(fs.readdirSync(path.join(out, OUTPUT_TMP_DIR)), [], 'no temp file left');
    await writeOutputFile(out, 'a/b/c.txt', 'again\n', shown, '', how);
    t.equal(fs.readFileSync(target, 'utf8'), 'again\n', 'replaced whole');
  });

  t.test(`${how}: a symbolic link on the way is refused (SLUICE_E_OUTPUT_UNSAFE), and nothing is written where it leads`, async (t) => {
    const dir = tmpDir();
    const out = path.join(dir, 'out');
    fs.mkdirSync(path.join(dir, 'elsewhere'));
    fs.mkdirSync(out);
    fs.symlinkSync(path.join(dir, 'elsewhere'), path.join(out, 'a'));
    await t.rejects(writeOutputFile(out, 'a/c.txt', 'x', shown, '', how), { code: 'SLUICE_E_OUTPUT_UNSAFE', message: /is a symbolic link \(to .*elsewhere\)/ });
    t.same(fs.readdirSync(path.join(dir, 'elsewhere')), []);
  });

  t.test(`${how}: a file in the way of a directory is SLUICE_E_OUTPUT_PATH`, async (t) => {
    const out = path.join(tmpDir(), 'out');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'a'), 'a file');
    await t.rejects(writeOutputFile(out, 'a/c.txt', 'x', shown, '', how), { code: 'SLUICE_E_OUTPUT_PATH', message: /is in the way and is not a directory/ });
  });

  t.test(`${how}: a full disk is SLUICE_E_DISK_FULL and its temp file is removed`, async (t) => {
    const out = path.join(tmpDir(), 'out');
    await t.rejects(writeOutputFile(out, 'full.txt', 'x', shown, 'full', how), { code: 'SLUICE_E_DISK_FULL' });
    t.same(fs.readdirSync(path.join(out, OUTPUT_TMP_DIR)), [], 'no temp file left');
    t.notOk(fs.existsSync(path.join(out, 'full.txt')));
  });
}
