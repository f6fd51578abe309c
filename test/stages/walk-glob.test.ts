// The walk's glob test answers as picomatch does, including the forms it answers without it.
import t from 'tap';
import picomatch from 'picomatch';
import { globMatcher } from '../../lib/stages/walk/glob.js';

const NAMES = ['a', '.a', '..a', 'a.pdf', '.pdf', 'b.PDF', 'pdf', 'x.pdf.txt', '.hidden.pdf', '-', 'a b.pdf', 'café.pdf', 'notes.txt', 'a.tar.gz', 'x~', '.git'];

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

const PATTERNS: string[][] = [['**/*'], ['**/*.pdf'], ['**/.*'], ['**/*.txt', '**/*.pdf'], ['**/*.tar.gz'], ['**/*~'], ['**/*.pdf', '**/.*'], ['*.pdf'], ['**/a/*.pdf'], ['**/*.{pdf,txt}'], ['**/[ab]*']];

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

