import t from 'tap';
import _ from 'highland';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { journalSink, map, openCheckpoint, walk, type Item, type ItemResult } from '../../lib/index.js';
import { WALK_BATCH, WALK_CREDIT } from '../../lib/stages/walk/protocol.js';
import { ROOT, exitWithin, makeTree, quietEnv, readJournal, tmpDir } from '../helpers.js';
import { HWM, MAP_CONCURRENCY, MAP_IN_FLIGHT, STAT_CHUNK } from './stage-table.js';

// sluice's stages in a highland chain: _(walk) .filter .through(map) .pipe(journalSink). The
// results are right, and backpressure holds across highland (a slow end slows the walk), and the
// README's example (highland-example.mjs) does what it says.

// tap starts this process with its own --import hooks (module mocking, process info), and
// sluice's threads take the process's execArgv (core/threads.ts): each walker and pool thread
// would load tap's hooks too, which makes starting one several times slower. The stages' threads
// start without them here (the first thread reads execArgv: nothing has started one yet).
process.execArgv = process.execArgv.filter((a) => !a.includes('@tapjs'));

/** Files under `dir`: .txt ones (returned: rel → sha256) and others (.md, .bin) that must not be recorded. */
function mixedTree(dir: string, txt: number, other: number): Map<string, string> {
  const digests = new Map<string, string>();
  for (let i = 0; i < txt + other; i++) {
    const ext = i < txt ? '.txt' : i % 2 ? '.md' : '.bin';
    const rel = `s${i % 5}/t${i % 3}/file-${i}${ext}`;
    const body = `body ${i} `.repeat(1 + (i % 11));
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), body);
    if (ext === '.txt') digests.set(rel, createHash('sha256').update(body).digest('hex'));
  }
  return digests;
}

t.test('a highland chain walk → filter(.txt) → map(sha256) → journalSink records every .txt file exactly once, and no other file', async (t) => {
  const dir = tmpDir();
  const root = path.join(dir, 'tree');
  const digests = mixedTree(root, 60, 30);
  const state = path.join(dir, 'state');
  const runOnce = async () => {
    const checkpoint = await openCheckpoint(state, { warn: () => {} });
    const sink = journalSink(checkpoint);
    try {
      _<Item>(walk({ roots: [root], checkpoint }))
        .filter((item) => item.rel.endsWith('.txt'))
        .through(map({ processor: 'sha256', concurrency: MAP_CONCURRENCY }))
        .stopOnError((err) => sink.destroy(err))
        .pipe(sink);
      await finished(sink);
    } finally {
      await checkpoint.close();
    }
  };
  await runOnce();
  const lines = readJournal(state);
  const rels = lines.map((l) => path.relative(root, path.resolve(l.path as string)));
  t.equal(lines.length, 60, 'one journal line per .txt file');
  t.same([...rels].sort(), [...digests.keys()].sort(), 'every .txt file, each once, and nothing else');
  const wrong = lines.filter((l, i) => l.status !== 'ok' || l.output?.sha256 !== digests.get(rels[i]!));
  t.same(wrong, [], 'each ok, with the file\'s sha256');
  await runOnce();
  t.equal(readJournal(state).length, 60, 'a rerun through the same chain records nothing more (the walk drops what is done)');
});

t.test('backpressure holds through highland: with a slow end, the walk stays within a bound of what is done', async (t) => {
  const N = 3_000;
  const root = tmpDir();
  makeTree(root, N, 100);
  // what may be found and not yet recorded: the walk's own (a stat chunk, the batches in transit,
  // its buffer), a few items held by highland, the map stage's buffers and pool, the sink's buffer
  const SLOW = 100;
  const BOUND = STAT_CHUNK + WALK_BATCH * WALK_CREDIT + HWM + 2 * HWM + (2 * HWM + 2 * MAP_IN_FLIGHT) + HWM + 2;
  t.ok(SLOW + BOUND < N, `the tree (${N} files) is bigger than the bound (${BOUND}) plus the slow items (${SLOW})`);
  const checkpoint = await openCheckpoint(path.join(tmpDir(), 'state'), { warn: () => {} });
  t.teardown(() => checkpoint.close());
  let found = 0;
  let done = 0;
  let maxGap = 0;
  let foundWhenSlowEnded = -1;
  const sample = () => { maxGap = Math.max(maxGap, found - done); };
  const sampler = setInterval(sample, 5);
  t.teardown(() => clearInterval(sampler));
  const recordedOnce = new Set<string>();
  let twice = 0;
  const sink = journalSink(checkpoint, {
    recorded: async (r: ItemResult) => {
      sample();
      if (recordedOnce.has(r.item.path)) twice++;
      recordedOnce.add(r.item.path);
      done++;
      // a slow consumer for the first SLOW items (20 ms each), then a fast one
      if (done < SLOW) await new Promise((resolve) => setTimeout(resolve, 20));
      else if (done === SLOW) foundWhenSlowEnded = found;
    },
  });
  _<Item>(walk({ roots: [root], onCounts: (f) => { found = f; sample(); } }))
    .filter((item) => item.rel.endsWith('.txt'))
    .through(map({ processor: 'noop', concurrency: MAP_CONCURRENCY }))
    .stopOnError((err) => sink.destroy(err))
    .pipe(sink);
  await finished(sink);
  clearInterval(sampler);
  t.ok(foundWhenSlowEnded >= SLOW && foundWhenSlowEnded <= SLOW + BOUND, `after ${SLOW} slow items the walk had found ${foundWhenSlowEnded} of ${N} (at most ${SLOW} + ${BOUND})`);
  t.ok(maxGap <= BOUND, `found minus recorded peaked at ${maxGap} (bound ${BOUND} = stat chunk ${STAT_CHUNK} + ${WALK_CREDIT}×${WALK_BATCH} in transit + walk buffer ${HWM} + highland ${2 * HWM} + map ${2 * HWM}+2×${MAP_IN_FLIGHT} + sink ${HWM} + 2)`);
  t.equal(done, N, 'every file is recorded');
  t.equal(twice, 0, 'none twice');
});

t.test('the README\'s highland example prints each .txt file\'s sha256 once; a rerun prints only what changed', async (t) => {
  const example = path.join(ROOT, 'test/api/highland-example.mjs');
  const dir = tmpDir();
  const digests = mixedTree(dir, 20, 10);
  const run = async () => {
    const child = spawn(process.execPath, [example, dir], { stdio: ['ignore', 'pipe', 'pipe'], env: quietEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await exitWithin(child, 60_000);
    const printed = new Map<string, string[]>();
    for (const line of stdout.split('\n').filter(Boolean)) {
      const [rel, sha] = line.split(' ');
      printed.set(rel!, [...(printed.get(rel!) ?? []), sha!]);
    }
    return { code, stderr, printed };
  };
  const first = await run();
  t.equal(first.code, 0, `it exits 0 (stderr: ${first.stderr.slice(0, 300)})`);
  t.same([...first.printed.keys()].sort(), [...digests.keys()].sort(), 'it prints every .txt file and no other');
  t.same([...first.printed].filter(([rel, shas]) => shas.length !== 1 || shas[0] !== digests.get(rel)).map(([rel]) => rel), [], 'each once, with its sha256');
  const second = await run();
  t.equal(second.code, 0, 'a rerun exits 0');
  t.same([...second.printed.keys()], [], 'and prints nothing: all done');
  const changed = [...digests.keys()][7]!;
  fs.writeFileSync(path.join(dir, changed), 'a new body\n');
  const third = await run();
  t.same(Object.fromEntries(third.printed), { [changed]: [createHash('sha256').update('a new body\n').digest('hex')] }, 'after one file changes, a rerun prints that file only, with its new sha256');
});
