// The walker thread's helper (see thread.ts): stat, key and look up the half of each chunk
// of files it is sent, while the walker does the other half.
import { parentPort, workerData } from 'node:worker_threads';
import { checkFileSync, type CheckResult, type FileEntry } from './walk.js';
import { Keyer } from './keys.js';
import type { HelperData, HelperReply, HelperRequest } from './protocol.js';


const port = parentPort!;
// until the walker hands the checkpoint's table over, keys come back deferred
const init = workerData as HelperData;
const keyer = new Keyer(init.dedupe, () => undefined, init.countOnly);
/** when the last batch was done: the time from then to the next one's start is idle */
let lastEnd = 0;
port.on('message', (m: HelperRequest) => {
  if (m.t === 'table') {
    keyer.setTable(m.keys);
    return;
  }
  const k = keyer;
  const found = k.found;
  const skipped = k.skipped;
  const bytes = k.bytes;
  const t0 = performance.now();
  const idle = lastEnd ? t0 - lastEnd : 0;
  const results = new Array<CheckResult>(m.paths.length);
  for (let i = 0; i < results.length; i++) {
    results[i] = checkFileSync({ abs: m.paths[i] as FileEntry['abs'], rel: m.rels[i]!, link: m.links?.[i] ?? false }, k.admit);
  }
  lastEnd = performance.now();
  port.postMessage({ id: m.id, results, found: k.found - found, skipped: k.skipped - skipped, bytes: k.bytes - bytes, ms: lastEnd - t0, idle } satisfies HelperReply);
});
