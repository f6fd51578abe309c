// The long kill -9 soak (the test suite runs 33 kills): rounds of SIGKILL-at-a-random-moment
// and rerun over 2,000 items with a 0-20 ms processor, then a run to completion; checks every
// round and prints the figures. Usage: node dist/bench/kill-soak.js [--rounds 10] [--kills 21] [--items 2000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killSoak } from '../test/support/kill-soak.js';
import { machine } from './lib.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
};
const rounds = arg('rounds', 10);
const kills = arg('kills', 21);
const items = arg('items', 2000);
const jobs = arg('j', 2);

console.log(`# kill -9 soak: ${rounds} rounds x ${kills} kills over ${items} items, -j ${jobs} — ${machine()}`);
let trials = 0;
let redone = 0;
let torn = 0;
let bad = 0;
const inFlight: number[] = [];
for (let r = 0; r < rounds; r++) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-soak-bench-'));
  const res = await killSoak({ dir, items, kills, jobs });
  fs.rmSync(dir, { recursive: true, force: true });
  trials += res.kills;
  redone += res.redone;
  torn += res.torn;
  inFlight.push(...res.inFlight);
  const ok = res.finalExit === 0 && res.badLines === 0 && res.distinctKeys === items && res.journalLines === items && !res.missingOrPartialOutputs.length
    && !res.strayFiles.length && !res.unexplained.length;
  if (!ok) bad++;
  console.log(`  round ${r + 1}: ${res.kills} kills, ${res.runs} runs, journal ${res.journalLines} lines / ${res.distinctKeys} keys, missing or partial outputs ${res.missingOrPartialOutputs.length}, stray ${res.strayFiles.length}, redone ${res.redone}, unexplained ${res.unexplained.length}, in flight max ${Math.max(...res.inFlight)}, torn tails ${res.torn}, bad lines ${res.badLines}, seed ${res.seed}: ${ok ? 'ok' : 'FAIL ' + JSON.stringify(res)}`);
}
const caught = inFlight.reduce((a, b) => a + b, 0);
console.log(`trials (kills): ${trials}; rounds failed: ${bad}; items redone: ${redone} (sum of items in flight at the kills: ${caught}); max in flight at a kill: ${Math.max(...inFlight)}; kills with nothing in flight: ${inFlight.filter((n) => n === 0).length}; torn journal tails repaired: ${torn}`);
console.log(JSON.stringify({ bench: 'kill-soak', machine: machine(), rounds, kills_per_round: kills, items, trials, rounds_failed: bad, redone, in_flight_sum: caught, in_flight_max: Math.max(...inFlight), torn }));
process.exitCode = bad ? 1 : 0;
