// Durations on the command line take bare seconds, as `timeout 5` and `parallel --timeout 5` do.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, sluice, tmpDir } from '../helpers.js';

t.test('--timeout 5, --grace 3 and --progress-interval 0.5 are seconds; --set map.timeout=2.5 too', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'docs'));
  fs.writeFileSync(path.join(dir, 'docs', 'a.txt'), 'a');
  const r = await sluice(['run', '--input', 'docs', '--processor', 'sha256', '--timeout', '5', '--grace', '3', '--progress-interval', '0.5', '--state', 'st'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  t.match(ofType(r.lines, 'result'), [{ path: 'docs/a.txt', status: 'ok' }]);
  const set = await sluice(['run', '--input', 'docs', '--processor', 'sha256', '--set', 'stages[1].map.timeout=2.5', '--state', 'st2', '--progress', 'none'], { cwd: dir });
  t.equal(set.code, 0, set.stderr);
});

t.test('a bad duration flag exits 2 naming the flag and the accepted forms', async (t) => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'docs'));
  const cases: [string[], RegExp][] = [
    [['--timeout', 'soon'], /--timeout: expected a duration like "30s", "500ms", "2m" or a number of seconds, got "soon"/],
    [['--grace', 'soon'], /--grace: expected a duration like "30s", "500ms", "2m" or a number of seconds, got "soon"/],
    [['--progress-interval', '0.01'], /--progress-interval: expected a duration like .* or a number of seconds, at least 50ms, got "0.01"/],
  ];
  for (const [flags, re] of cases) {
    const r = await sluice(['run', '--input', 'docs', '--processor', 'sha256', '--state', 'st', ...flags], { cwd: dir });
    t.equal(r.code, 2, flags[0]);
    t.match(r.stderr, re, flags[0]);
    t.equal(r.stdout, '', 'nothing on stdout');
  }
});
