// The walk's stat answers as fs.lstatSync / fs.statSync do: size, mtime and errors.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SIZE_MTIME, STAT_BY, statFile } from '../../lib/stages/walk/stat.js';
import { tmpDir } from '../helpers.js';

const sizeMtime = (s: fs.Stats) => [s.size, Math.trunc(s.mtimeMs)];
const ours = (p: string | Buffer, follow: boolean) => {
  statFile(p, follow);
  return [SIZE_MTIME[0], SIZE_MTIME[1]];
};
const error = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return `${(err as NodeJS.ErrnoException).code}: ${(err as Error).message}`;
  }
  return 'no error';
};

t.test('on this Node the walk reads sizes and mtimes from the stat binding, without fs.Stats', async (t) => {
  t.equal(STAT_BY, 'binding');
});

t.test('files, links followed or not, names that are not UTF-8: the size and mtime fs gives', async (t) => {
  const dir = tmpDir();
  const file = path.join(dir, 'a.txt');
  fs.writeFileSync(file, 'x'.repeat(12345));
  fs.utimesSync(file, 1_700_000_000.123, 1_600_000_000.987654);
  fs.symlinkSync('a.txt', path.join(dir, 'link'));
  const raw = Buffer.concat([Buffer.from(dir + '/caf'), Buffer.from([0xe9]), Buffer.from('.txt')]);
  fs.writeFileSync(raw, 'abc');
  const big = path.join(dir, 'sparse');
  fs.closeSync(fs.openSync(big, 'w'));
  fs.truncateSync(big, 5 * 2 ** 30); // 5 GiB: beyond 32 bits
  for (const [p, follow] of [[file, false], [path.join(dir, 'link'), false], [path.join(dir, 'link'), true], [raw, false], [big, false], [path.relative(process.cwd(), file), false]] as const) {
    t.same(ours(p, follow), sizeMtime(follow ? fs.statSync(p) : fs.lstatSync(p)), `${String(p)}${follow ? ' (followed)' : ''}`);
  }
  t.equal(ours(file, false)[1], 1_600_000_000_987, 'mtime in whole milliseconds');
});

t.test('a missing file, a file where a directory should be, a NUL byte: the error fs throws', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'f'), '');
  for (const p of [path.join(dir, 'absent'), path.join(dir, 'f/below'), path.join(dir, 'nul\0name')]) {
    t.equal(error(() => statFile(p, false)), error(() => fs.lstatSync(p)), p.replace('\0', '\\0'));
    t.equal(error(() => statFile(p, true)), error(() => fs.statSync(p)), `${p.replace('\0', '\\0')} (followed)`);
  }
});

t.test('where Node would warn about deprecated APIs, or checks permissions, fs is used instead', async (t) => {
  const mod = new URL('../../lib/stages/walk/stat.js', import.meta.url).href;
  // through env -u NODE_OPTIONS: the test runner puts its own hooks there, which the permission model refuses
  const statBy = (flags: string[], env: Record<string, string> = {}) => spawnSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    process.execPath, ...flags, '--trace-deprecation', '--input-type=module', '-e', `import { STAT_BY } from '${mod}'; console.log(STAT_BY)`], { encoding: 'utf8' });
  for (const [name, r] of [
    ['--pending-deprecation', statBy(['--pending-deprecation'])],
    ['NODE_OPTIONS=--pending-deprecation', statBy([], { NODE_OPTIONS: '--pending-deprecation' })],
    ['NODE_PENDING_DEPRECATION=1', statBy([], { NODE_PENDING_DEPRECATION: '1' })],
    ['--experimental-permission', statBy(['--experimental-permission', '--allow-fs-read=*'])],
  ] as const) {
    t.equal(r.stdout.trim(), 'fs', name);
    // (the test runner's own spawn hook may warn in the child: only a warning from the walk counts)
    t.notMatch(r.stderr, /walk\/stat\.js/, `${name}: no deprecation warning from the walk`);
  }
  t.equal(statBy([]).stdout.trim(), 'binding', 'and without them, the binding');
});
