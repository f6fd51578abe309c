// The walk's glob test answers as picomatch does, including the forms it answers without it.
import t from 'tap';
import picomatch from 'picomatch';
import { globMatcher } from '../../lib/stages/walk/glob.js';

const NAMES = ['a', '.a', '..a', 'a.pdf', '.pdf', 'b.PDF', 'pdf', 'x.pdf.txt', '.hidden.pdf', '-', 'a b.pdf', 'café.pdf', 'notes.txt', 'a.tar.gz', 'x~', '.git', 'x.', 'y.a-b', 'z..pdf', 'xpdf'];

/** every path of 1 to 3 of those names, as a file and as a directory (trailing slash) */
function paths(): string[] {
  const out: string[] = [];
  const grow = (prefix: string, depth: number) => {
    for (const n of NAMES) {
      const p = prefix ? `${prefix}/${n}` : n;
      out.push(p, p + '/');
      if (depth < 3 && NAMES.indexOf(n) % 4 === 0) grow(p, depth + 1);
    }
  };
  grow('', 1);
  return out;
}

const PATTERNS: string[][] = [['**/*'], ['**/*.pdf'], ['**/.*'], ['**/*.txt', '**/*.pdf'], ['**/*.tar.gz'], ['**/*~'], ['**/*pdf'], ['**/*-'], ['**/*.'], ['**/*.a-b'], ['**/*..pdf'], ['**/*.PDF'], ['**/*.pdf', '**/.*'], ['*.pdf'], ['**/a/*.pdf'], ['**/*.{pdf,txt}'], ['**/[ab]*']];

t.test('every pattern gives picomatch\'s answer for files and directories at any depth', async (t) => {
  const all = paths();
  t.ok(all.length > 500, `${all.length} paths`);
  for (const patterns of PATTERNS) {
    const ours = globMatcher(patterns);
    const theirs = picomatch(patterns, { dot: true });
    const differ = all.filter((p) => ours(p) !== theirs(p));
    t.same(differ, [], `${patterns.join(', ')}: no path answered differently (${all.filter((p) => theirs(p)).length} match)`);
  }
});


t.test('random names and extension patterns: the same answers as picomatch (seeded)', async (t) => {
  let seed = 0x5eed;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const CHARS = 'ap.df_-~ Z9é';
  const name = () => Array.from({ length: 1 + rand(6) }, () => CHARS[rand(CHARS.length)]).join('');
  // names a directory listing can give: never `.` or `..`
  const listed = () => { let n = name(); while (n === '.' || n === '..') n = name(); return n; };
  const paths = Array.from({ length: 3000 }, () => Array.from({ length: 1 + rand(3) }, listed).join('/') + (rand(3) === 0 ? '/' : ''));
  const exts = Array.from({ length: 40 }, () => '**/*' + Array.from({ length: 1 + rand(2) }, () => '.' + Array.from({ length: 1 + rand(3) }, () => 'apdZ9_'[rand(6)]).join('')).join(''));
  let differ = 0;
  for (const p of [...exts, '**/.*', '**/*']) {
    const ours = globMatcher([p]);
    const theirs = picomatch(p, { dot: true });
    for (const x of paths) if (ours(x) !== theirs(x)) { differ++; if (differ < 5) t.fail(`${p} on ${JSON.stringify(x)}: ${ours(x)}, picomatch ${theirs(x)}`); }
  }
  t.equal(differ, 0, `${exts.length + 2} patterns × ${paths.length} paths`);
});
