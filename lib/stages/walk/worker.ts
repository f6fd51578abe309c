// The walker thread (see thread.ts): walk, key, drop what the checkpoint has, send the rest.
import { WALKER_RESOURCE_LIMITS, threadExecArgv } from '../../core/threads.js';
import { parentPort, receiveMessageOnPort, workerData, Worker } from 'node:worker_threads';
import { countNames, walk, type FileEntry, type Offloaded, type WalkWarning } from './walk.js';
import { Keyer, type KeyTable } from './keys.js';
import { SizeTally } from '../../core/size-class.js';
import { isFdExhausted, SluiceError } from '../../core/errors.js';
import type { Item } from '../../core/item.js';
import { WALK_BATCH, WALK_CREDIT, type CountAheadMessage, type HelperData, type HelperReply, type HelperRequest, type TableMessage, type ToWalkerMessage, type WalkerData, type WalkerMessage } from './protocol.js';

const init = workerData as WalkerData;
const port = parentPort!;
const send = (m: WalkerMessage) => port.postMessage(m);

let credit = WALK_CREDIT;
let wake: (() => void) | null = null;
port.on('message', (m: ToWalkerMessage) => {
  if (typeof m === 'object') {
    countAhead(m);
    return;
  }
  credit++;
  wake?.();
});

// the helper thread boots while the walk starts; files are offloaded to it once it is up
let helper: Worker | null = null;
let helperUp = false;
let helperFound = 0;
let helperSkipped = 0;
let helperBytes = 0;
let nextId = 0;
const waiting = new Map<number, (r: Offloaded) => void>();
if (init.helper) {
  helper = new Worker(new URL('./helper.js', import.meta.url), {
    workerData: { dedupe: init.dedupe, countOnly: !!init.countOnly } satisfies HelperData,
    execArgv: threadExecArgv(),
      resourceLimits: WALKER_RESOURCE_LIMITS,
  });
  helper.once('online', () => { helperUp = true; });
  helper.on('message', (r: HelperReply) => {
    helperFound += r.found;
    helperSkipped += r.skipped;
    helperBytes += r.bytes;
    const done = waiting.get(r.id)!;
    waiting.delete(r.id);
    done({ results: r.results, ms: r.ms, idle: r.idle });
  });
  helper.on('error', (err) => {
    send({ t: 'error', code: 'SLUICE_E_FATAL', message: `walk helper thread failed: ${err.message}` });
    process.exit(1);
  });
  helper.unref();
}

let tableKeys: KeyTable | undefined;
/** The checkpoint's table once the main thread has loaded it and handed it over (blocking when `wait`). */
function pollTable(wait: boolean): KeyTable | undefined {
  if (tableKeys) return tableKeys;
  if (wait) Atomics.wait(init.ready, 0, 0);
  else if (!Atomics.load(init.ready, 0)) return undefined;
  const m = receiveMessageOnPort(init.tablePort)?.message as TableMessage | undefined;
  tableKeys = { table: m?.table ?? null, seen: m?.seen ?? null };
  helper?.postMessage({ t: 'table', keys: tableKeys } satisfies HelperRequest);
  return tableKeys;
}
const keyer = new Keyer(init.dedupe, pollTable, !!init.countOnly);

/** The count ahead's turns: this many ms of its stat calls at most between turns of the event loop. */
const AHEAD_SLICE_MS = 4;
let counting = false;
/**
 * The count ahead (run/count-ahead.ts), here beside the bounded walk rather than in a thread of
 * its own (one heap fewer): the files by name first, then stat'ed, keyed and looked up as a plan
 * does, never marking the table's seen flags (those are the bounded walk's). Its warnings are the
 * bounded walk's too, said there; a count that fails only leaves the total unknown.
 */
function countAhead(m: CountAheadMessage): void {
  if (counting) return;
  counting = true;
  const own = (wait: boolean): KeyTable | undefined => {
    const k = pollTable(wait);
    return k && { table: k.table, seen: null };
  };
  const k = new Keyer(m.lookup, own, true);
  void (async () => {
    const skip = new Set(init.skip);
    send({ t: 'ahead-names', names: await countNames(init.opts, skip) });
    const kept = new SizeTally();
    for await (const item of walk(init.opts, { skip, admit: k.admit, resolve: k.resolve, syncStat: true, sliceMs: AHEAD_SLICE_MS })) kept.add(item.size);
    send({ t: 'ahead-done', found: k.found, skipped: k.skipped, sizes: k.todo.classes.map((n, c) => n + kept.classes[c]!) });
  })().catch(() => {});
}

function offload(files: FileEntry[]): Promise<Offloaded> {
  const id = nextId++;
  // arrays of strings clone faster than objects
  const paths = files.map((f) => f.near ?? f.abs);
  const rels = files.map((f) => f.rel);
  const links = files.some((f) => f.link) ? files.map((f) => f.link) : null;
  helper!.postMessage({ t: 'batch', id, paths, rels, links } satisfies HelperRequest);
  return new Promise((resolve) => waiting.set(id, resolve));
}

const found = () => keyer.found + helperFound;
const skipped = () => keyer.skipped + helperSkipped;
// counts for the progress lines while nothing else is sent (a resume)
const counter = setInterval(() => send({ t: 'count', found: found(), skipped: skipped() }), 200);
counter.unref();

let batch: Item[] = [];
let bytes = 0;
/** with countOnly: the files kept after a deferred lookup (the keyer tallies the others) */
const kept = new SizeTally();
async function flush(): Promise<void> {
  while (credit === 0) await new Promise<void>((resolve) => { wake = resolve; });
  wake = null;
  credit--;
  send({ t: 'items', items: batch, found: found(), skipped: skipped() });
  batch = [];
}

try {
  const hooks = {
    skip: new Set(init.skip),
    admit: keyer.admit,
    resolve: keyer.resolve,
    syncStat: true,
    offload: helper ? (files: FileEntry[]) => (helperUp ? offload(files) : null) : undefined,
    onWarning: (w: WalkWarning) => send({ t: 'warning', w }),
  };
  for await (const item of walk(init.opts, hooks)) {
    bytes += item.size;
    if (init.countOnly) {
      kept.add(item.size);
      continue;
    }
    batch.push(item);
    // a full batch, or the consumer has nothing at all: send now
    if (batch.length >= WALK_BATCH || credit === WALK_CREDIT) await flush();
  }
  if (batch.length) await flush();
  clearInterval(counter);
  // the files to do by size class: a count without a helper (whose share is not tallied by class)
  const sizes = init.countOnly && !helper ? keyer.todo.classes.map((n, c) => n + kept.classes[c]!) : undefined;
  send({ t: 'done', found: found(), skipped: skipped(), bytes: bytes + keyer.bytes + helperBytes, sizes });
} catch (err) {
  if (err instanceof SluiceError) send({ t: 'error', code: err.code, message: err.message });
  else send({ t: 'error', code: isFdExhausted(err) ? 'SLUICE_E_FD_LIMIT' : 'SLUICE_E_FATAL', message: `walk failed: ${(err as Error).message}` });
}
