// Child process of the stage conformance suite (run by stage-table.ts runChild):
//   destroy-all DIR      build each row of STAGES over DIR in turn, destroy the stage mid-run,
//                        print a JSON line for it, and return: the process must then exit by itself
//   fd-limit-dedupe DIR  hash content with every file descriptor taken; print the rejection
//   disk-full-sink DIR   record into a journal whose writes fail with ENOSPC (a fault hook, which a
//                        process reads once, as it starts: so here, not in the test's process)
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dedupe, journalSink, openCheckpoint, type ItemResult } from '../../lib/index.js';
import { makeTree } from '../helpers.js';
import { STAGES, devNull, makeEnv, rig, settle, waitFor, type Rejection } from './stage-table.js';

/** A rejection as JSON (without the error object itself). */
const plain = (r: Rejection | null) => r && { name: r.name, code: r.code, message: r.message };
const say = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');

const [mode, dir] = process.argv.slice(2) as [string, string];

if (mode === 'destroy-all') {
  const tree = path.join(dir, 'tree');
  makeTree(tree, 2000, 100);
  for (const r of STAGES) {
    const env = await makeEnv(path.join(dir, r.name), [tree]);
    const rg = rig(r, env, { n: 1e9 });
    const reached = await waitFor(() => rg.delivered() >= 32, 20_000);
    rg.stage.destroy();
    const rejection = await rg.result;
    await env.checkpoint.close();
    say({ stage: r.name, reached, delivered: rg.delivered(), rejection: plain(rejection) });
  }
} else if (mode === 'fd-limit-dedupe') {
  const file = path.join(dir, 'content.txt');
  fs.writeFileSync(file, 'hello\n');
  const checkpoint = await openCheckpoint(path.join(dir, 'fd-state'), { warn: () => {} });
  const taken: number[] = [];
  try {
    for (;;) taken.push(fs.openSync('/dev/null', 'r'));
  } catch {
    // every descriptor is taken
  }
  const item = { path: 'content.txt', file, root: dir, rel: 'content.txt', size: 6, mtime_ms: 1 };
  const rejection = await settle(pipeline(Readable.from([item]), dedupe({ checkpoint, key: 'content' }), devNull()));
  for (const fd of taken) fs.closeSync(fd);
  await checkpoint.close();
  say(plain(rejection));
} else if (mode === 'disk-full-sink') {
  const checkpoint = await openCheckpoint(path.join(dir, 'full-disk-state'), { batchItems: 1, warn: () => {}, faults: { journalEnospcAfter: 1 } });
  const results: ItemResult[] = [0, 1].map((i) => ({
    item: { path: `r${i}`, file: `r${i}`, root: dir, rel: `r${i}`, size: 1, mtime_ms: 1, key: `key-${i}` }, status: 'ok', ms: 1, attempts: 1, output: {},
  }));
  const rejection = await settle(pipeline(Readable.from(results), journalSink(checkpoint)));
  await checkpoint.close().catch(() => {});
  say(plain(rejection));
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exitCode = 2;
}
