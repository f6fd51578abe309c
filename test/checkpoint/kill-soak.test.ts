// Crash safety: SIGKILL a run at random moments, rerun, repeat, let it finish. Every input must
// end up recorded done exactly once with a complete output, and an item may be processed again
// only if a kill caught it in flight. (bench/kill-soak.ts runs the long version.)
import t from 'tap';
import { killSoak } from '../support/kill-soak.js';
import fs from 'node:fs';
import path from 'node:path';
import { Journal, latestLines } from '../../lib/checkpoint/journal.js';
import { tmpDir } from '../helpers.js';

const ITEMS = 2000;
const ROUNDS = 3;
const KILLS = 11;
const JOBS = 2;

t.test(`kill -9 soak: ${ROUNDS} rounds of ${KILLS} kills over ${ITEMS} items`, async (t) => {
  let trials = 0;
  let redone = 0;
  let maxInFlight = 0;
  let caughtWorking = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // the middle round saves the key table at every open that parsed a line, so that runs are
    // killed while saving it and start from it and the lines after it
    const env = round === 1 ? { SLUICE_KEY_SNAPSHOT_MIN_BYTES: '1' } : undefined;
    const dir = tmpDir('sluice-soak-');
    const r = await killSoak({ dir, items: ITEMS, kills: KILLS, jobs: JOBS, env });
    if (env) {
      // the snapshot saved amid the kills holds what a full parse of the journal gives
      const copy = tmpDir();
      fs.copyFileSync(path.join(dir, 'st/journal.ndjson'), path.join(copy, 'journal.ndjson'));
      const fromSnapshot = await Journal.read(path.join(dir, 'st'));
      const full = await Journal.read(copy);
      t.ok(fromSnapshot.fromSnapshot > 0, `round ${round}: the key snapshot is there and used`);
      t.same([fromSnapshot.size, fromSnapshot.lines, fromSnapshot.counts()], [full.size, full.lines, full.counts()], `round ${round}: its table is the journal's`);
      let differ = 0;
      for await (const l of latestLines(path.join(copy, 'journal.ndjson'))) if (fromSnapshot.isOk(l.key) !== full.isOk(l.key) || !fromSnapshot.isDone(l.key)) differ++;
      t.equal(differ, 0, `round ${round}: the same status for every key`);
    }
    trials += r.kills;
    redone += r.redone;
    maxInFlight = Math.max(maxInFlight, ...r.inFlight);
    caughtWorking += r.inFlight.filter((n) => n > 0).length;
    t.comment(`round ${round}: seed ${r.seed} (SOAK_SEED=${r.seed} replays its kill times)`);
    t.equal(r.finalExit, 0, `round ${round}: the last run finishes`);
    t.equal(r.badLines, 0, `round ${round}: every whole journal line parses after every kill (only a torn last line may not)`);
    t.equal(r.distinctKeys, ITEMS, `round ${round}: every input recorded done`);
    t.equal(r.journalLines, ITEMS, `round ${round}: no journal line duplicated`);
    t.same(r.missingOrPartialOutputs, [], `round ${round}: no output missing or partial`);
    t.same(r.strayFiles, [], `round ${round}: no temp or stray file among the outputs`);
    t.same(r.stateTemps, [], `round ${round}: no temp file left in the state dir`);
    t.same(r.unexplained, [], `round ${round}: an item ran twice only when a kill caught it in flight`);
    t.ok(Math.max(...r.inFlight) <= JOBS + 32, `round ${round}: in flight at a kill stays small (max ${Math.max(...r.inFlight)})`);
    t.comment(`round ${round}: ${r.kills} kills, ${r.runs} runs, in flight at kills ${r.inFlight.join(',')}, redone ${r.redone}, torn tails ${r.torn}`);
  }
  t.ok(trials >= 30, `${trials} kill trials`);
  // a soak whose kills all land before the first item (or after the last) proves nothing
  t.ok(caughtWorking >= trials / 4, `${caughtWorking} of ${trials} kills caught items in flight`);
  t.comment(`${trials} kills; ${redone} items redone in total; max in flight at a kill ${maxInFlight}`);
});
