// The library side of bench/api.ts: run() in this process over DIR with noop, events iterated.
// Usage: node dist/bench/api-child.js DIR STATE CONCURRENCY
import { run } from '../lib/index.js';

const [dir, state, conc] = process.argv.slice(2) as [string, string, string];
const handle = run({ version: 1, name: 'bench-api', source: { walk: { roots: [dir] } }, stages: [{ map: { processor: 'noop', concurrency: Number(conc) } }] },
  { stateDir: state, progressIntervalMs: 0 });
let results = 0;
for await (const ev of handle) if (ev.type === 'result') results++;
const summary = await handle.summary;
process.stdout.write(JSON.stringify({ results, ok: summary.ok, exit_code: summary.exit_code }) + '\n');
