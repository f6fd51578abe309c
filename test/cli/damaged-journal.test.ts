// A journal damaged in the middle (a power cut zeroes a block, two lines run together): every
// command reads past the damaged line with a warning; none ends in an internal error.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ofType, sluice, tmpDir } from '../helpers.js';

const run = (dir: string) => sluice(['run', '--input', 'in', '--processor', 'sha256', '--state', 'st', '--progress', 'none'], { cwd: dir });

/**
 * Five items recorded, then lines 2 and 3 run together: line 2's start (its key, status and the
 * start of its path: the fast path's shape), then `filler`, then line 3's end (a closing brace).
 */
async function damaged(filler: string): Promise<{ dir: string; merged: Record<string, any>; lost: Record<string, any> }> {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'in'));
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(dir, 'in', `f${i}.txt`), `item ${i}`);
  const first = await run(dir);
  if (first.code !== 0) throw new Error(first.stderr);
  const file = path.join(dir, 'st/journal.ndjson');
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const [l0, l1, l2, ...rest] = lines as [string, string, string, ...string[]];
  const bad = l1.slice(0, 70) + filler + l2.slice(-30);
  fs.writeFileSync(file, [l0, bad, ...rest].join('\n') + '\n');
  return { dir, merged: JSON.parse(l1) as Record<string, any>, lost: JSON.parse(l2) as Record<string, any> };
}

// a NUL byte makes a line unreadable for every reader (load, status, results, vanished); a line
// with the fast path's start but a body that is not JSON counts by its key and status for the load
// and status (what the fast path reads, and what the line says), and the readers that need its
// body (results, vanished inputs) skip it: in both cases with a warning, never an internal error
const blocks = {
  'a NUL-filled block': { filler: '\0'.repeat(4096), unreadable: 1, done: 4 },
  'bytes that are not JSON': { filler: 'garbage", oops {', unreadable: 0, done: 5 },
};

for (const [what, { filler, unreadable, done }] of Object.entries(blocks)) {
  t.test(`one journal line with the fast path's shape but ${what} inside: run, status and results read past it with a warning`, async (t) => {
    const { dir, merged, lost } = await damaged(filler);
    // the merged line's file is gone: the run looks for vanished inputs, which reads whole entries
    fs.rmSync(path.join(dir, merged.path as string));
    const r = await run(dir);
    t.notMatch(r.stderr, /internal error|\n\s+at /, 'no internal error, no stack trace');
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, /journal .*journal\.ndjson: skipped 1 unreadable line/, 'a warning names the journal');
    t.ok(ofType(r.lines, 'result').some((l) => l.path === lost.path), 'the item whose line was swallowed runs again');
    t.match(r.lines.at(-1), { type: 'summary', exit_code: 0 });
    const runJson = JSON.parse(fs.readFileSync(path.join(dir, 'st/run.json'), 'utf8'));
    t.not(runJson.last.ended, null, 'run.json records the end of the run');

    const res = await sluice(['results', '--state', 'st'], { cwd: dir });
    t.equal(res.code, 0, res.stderr);
    t.match(res.stderr, /skipped 1 unreadable line/);
    t.equal(res.lines.length, 4, 'the four readable entries');
    t.ok(res.lines.every((l) => l.type === 'result' && typeof l.path === 'string' && l.path !== merged.path), 'each whole');

    const st = await sluice(['status', '--state', 'st', '--json'], { cwd: dir });
    t.equal(st.code, 0, st.stderr);
    t.match(st.lines[0], { type: 'status', unreadable_lines: unreadable, done });
    if (unreadable) t.match(st.stderr, /skipped 1 unreadable line/);
  });
}
