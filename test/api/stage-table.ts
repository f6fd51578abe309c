// The library's stages as one table, for the conformance suite (stage-conformance.test.ts) and
// its child processes (stage-child.ts). A stage added to the library joins every check there by
// one row here: how to build it, what it consumes, what it produces, the bound on what it may
// hold, and how to make it fail by itself.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dedupe, journalSink, map, openCheckpoint, report, walk, type Checkpoint, type ErrorCode, type Item, type ItemResult } from '../../lib/index.js';
import { WALK_BATCH, WALK_CREDIT } from '../../lib/stages/walk/protocol.js';
import { MAX_BATCH } from '../../lib/worker/pool.js';
import { FIXTURES, ROOT, exitWithin, quietEnv } from '../helpers.js';

/** What a row builds its stage over. */
export interface StageEnv {
  /** a scratch dir of this use of the row */
  dir: string;
  /** open on a state dir of its own (the caller closes it) */
  checkpoint: Checkpoint;
  /** a source stage walks these */
  roots: string[];
  /** real files that inputs point at */
  files: string[];
  /** a source stage reports here how many items it has taken in (walk: files found) */
  onFound(found: number): void;
  /** a sink stage calls this for each item it has finished (awaited: a slow downstream) */
  recorded(): Promise<void> | void;
}

export type StageStream = Readable | Duplex | Writable;

/** The error as a pipeline rejected with it (`error`: the object itself), or as a child process printed it. */
export interface Rejection { name: string; code?: string; message: string; error?: unknown }

export interface OwnError {
  /** how the stage is made to fail by itself */
  what: string;
  /** the SluiceError code it must reject the pipeline with */
  code: ErrorCode;
  /** run it: the pipeline's rejection, or null when the pipeline resolved */
  provoke(env: StageEnv): Promise<Rejection | null>;
  /** a known lib bug that makes an assertion fail today (the reason), per assertion */
  todo?: { rejects?: string; code?: string };
}

export interface StageRow {
  name: string;
  /** source: no upstream (walk); transform: upstream and downstream; sink: no downstream */
  kind: 'source' | 'transform' | 'sink';
  consumes: string;
  produces: string;
  build(env: StageEnv): StageStream;
  /** the i-th item fed to a transform or a sink */
  input?(i: number, env: StageEnv): unknown;
  /** threads the stage runs while it works (besides the process's own) */
  threads: number;
  /** most items it may have taken from upstream and not yet handed downstream, with the buffers around it */
  bound: number;
  boundWhy: string;
  ownErrors: OwnError[];
  /** a known lib bug that fails one of the suite's checks today (the reason) */
  todo?: { memory?: string };
}

/** Each stream's object-mode buffer, on each side (every stage and the rig's ends use 16). */
export const HWM = 16;
/** the walker stats files in chunks of this many (not exported: stages/walk/walk.ts STAT_CHUNK) */
export const STAT_CHUNK = 1024;
/** the map stage's concurrency in every check */
export const MAP_CONCURRENCY = 2;
/** items the map stage keeps in its pool: 2 tasks per worker (one running, one waiting), each a batch of up to MAX_BATCH */
export const MAP_IN_FLIGHT = MAP_CONCURRENCY * 2 * MAX_BATCH;

function anItem(i: number, env: StageEnv): Item {
  const file = env.files[i % env.files.length]!;
  return { path: `in/${i}.txt`, file, root: path.dirname(file), rel: `in/${i}.txt`, size: 8, mtime_ms: 1_700_000_000_000 + i };
}

function aResult(i: number, env: StageEnv): ItemResult {
  return { item: { ...anItem(i, env), key: `key-${i}` }, status: 'ok', ms: 1, attempts: 1, output: { n: i } };
}

/** A sink that takes everything and keeps nothing. */
export function devNull(): Writable {
  return new Writable({ objectMode: true, highWaterMark: HWM, write(_x, _e, cb) { cb(); } });
}

/** The pipeline's rejection, or null when it resolved. */
export async function settle(p: Promise<unknown>): Promise<Rejection | null> {
  try {
    await p;
    return null;
  } catch (err) {
    const e = err as Error & { code?: string };
    return { name: e.name, code: e.code, message: e.message, error: err };
  }
}

/** The compiled child entry (stage-child.ts), run with the test hooks of a checkout but not tap's. */
export const CHILD = path.join(ROOT, 'dist/test/api/stage-child.js');

/** Run stage-child.js with `args` (under a shell's `ulimit -n`, when given); its stdout, and its exit status (null: killed after `boundMs`). */
export async function runChild(args: string[], opts: { nofile?: number; boundMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = opts.nofile ? ['sh', '-c', `ulimit -n ${opts.nofile} && exec "$0" "$@"`, process.execPath, CHILD, ...args] : [process.execPath, CHILD, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: quietEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await exitWithin(child, opts.boundMs ?? 30_000);
  return { code, stdout, stderr };
}

/** The rejection a stage-child.js mode printed (its last line), or why there is none. */
async function childRejection(args: string[], nofile?: number): Promise<Rejection | null> {
  const r = await runChild(args, { nofile });
  const line = r.stdout.trim().split('\n').pop();
  if (r.code !== 0 || !line) return { name: 'ChildFailed', message: `child exit ${r.code}: ${r.stderr.slice(0, 500)}` };
  return JSON.parse(line) as Rejection | null;
}

export const STAGES: StageRow[] = [
  {
    name: 'walk',
    kind: 'source',
    consumes: 'a directory tree (roots)',
    produces: 'Item (keyed)',
    build: (env) => walk({ roots: env.roots, onCounts: (found) => env.onFound(found) }),
    threads: 1,
    // found counts a file once it is stat'ed: a chunk of stats not yet batched, the batches in
    // transit from the walker thread (protocol.ts), the Readable's buffer, the rig's sink buffer
    bound: STAT_CHUNK + WALK_BATCH * WALK_CREDIT + HWM + HWM + 1,
    boundWhy: `stat chunk ${STAT_CHUNK} + ${WALK_CREDIT} batches of ${WALK_BATCH} in transit + 2 buffers of ${HWM} + 1`,
    ownErrors: [{
      what: 'a root that does not exist',
      code: 'SLUICE_E_USAGE',
      provoke: (env) => settle(pipeline(walk({ roots: [path.join(env.dir, 'no-such-root')] }), devNull())),
    }],
  },
  {
    name: 'dedupe',
    kind: 'transform',
    consumes: 'Item',
    produces: 'Item (keyed; done ones dropped)',
    build: (env) => dedupe({ checkpoint: env.checkpoint }),
    input: anItem,
    threads: 0,
    bound: 4 * HWM + 2,
    boundWhy: `source buffer + dedupe's two buffers + the sink's buffer, ${HWM} each, + 2 in hand`,
    ownErrors: [{
      what: 'out of file descriptors while hashing content (in a child process under ulimit -n 256)',
      code: 'SLUICE_E_FD_LIMIT',
      provoke: (env) => childRejection(['fd-limit-dedupe', env.dir], 256),
    }],
  },
  {
    name: 'map',
    kind: 'transform',
    consumes: 'Item',
    produces: 'ItemResult',
    build: () => map({ processor: 'noop', concurrency: MAP_CONCURRENCY }),
    input: anItem,
    threads: MAP_CONCURRENCY,
    // the pool holds MAP_IN_FLIGHT items; ParallelMap pushes a finished result whether or not its
    // readable side has room, so that side can hold HWM + MAP_IN_FLIGHT
    bound: HWM + HWM + MAP_IN_FLIGHT + (HWM + MAP_IN_FLIGHT) + HWM + 2,
    boundWhy: `source ${HWM} + map's writable ${HWM} + ${MAP_IN_FLIGHT} in the pool + map's readable ${HWM}+${MAP_IN_FLIGHT} + sink ${HWM} + 2`,
    ownErrors: [{
      what: 'a processor module that cannot load',
      code: 'SLUICE_E_PROCESSOR_LOAD',
      provoke: (env) => settle(pipeline(Readable.from([anItem(0, env)]), map({ processor: path.join(FIXTURES, 'processors/broken-init.mjs'), concurrency: 1 }), devNull())),
    }],
  },
  {
    name: 'report',
    kind: 'transform',
    consumes: 'ItemResult',
    produces: 'ItemResult (unchanged; report.json at the end)',
    build: (env) => report({ path: path.join(env.dir, 'report.json') }),
    input: aResult,
    threads: 0,
    bound: 4 * HWM + 2,
    boundWhy: `source buffer + report's two buffers + the sink's buffer, ${HWM} each, + 2 in hand`,
    ownErrors: [{
      what: 'report.json under a path that is a regular file',
      code: 'SLUICE_E_IO',
      provoke: (env) => {
        const file = path.join(env.dir, 'a-file');
        fs.writeFileSync(file, 'not a folder');
        return settle(pipeline(Readable.from([aResult(0, env)]), report({ path: path.join(file, 'report.json') }), devNull()));
      },
    }],
  },
  {
    name: 'journalSink',
    kind: 'sink',
    consumes: 'ItemResult',
    produces: 'journal lines (nothing downstream)',
    build: (env) => journalSink(env.checkpoint, { recorded: () => env.recorded() }),
    input: aResult,
    threads: 0,
    bound: HWM + HWM + 2,
    boundWhy: `source buffer ${HWM} + the sink's buffer ${HWM} + 2 in hand`,
    ownErrors: [
      {
        what: 'a journal write that fails for a full disk (in a child process: the journalEnospcAfter fault, journal written per item)',
        code: 'SLUICE_E_DISK_FULL',
        provoke: (env) => childRejection(['disk-full-sink', env.dir]),
      },
      {
        what: 'a checkpoint closed before the sink writes',
        code: 'SLUICE_E_STATE',
        provoke: async (env) => {
          const cp = await openCheckpoint(path.join(env.dir, 'closed-state'), { warn: () => {} });
          await cp.close();
          return settle(pipeline(Readable.from([aResult(0, env), aResult(1, env)]), journalSink(cp)));
        },
      },
    ],
  },
];

/** A stage in a pipeline between a counting source and a gated, counting sink (as its kind has them). */
export interface Rig {
  stage: StageStream;
  /** the pipeline's rejection, or null */
  result: Promise<Rejection | null>;
  /** items the stage has taken from upstream (a source: found) */
  pulled(): number;
  /** items it has handed downstream (a sink: finished) */
  delivered(): number;
  /** the largest pulled − delivered seen at a delivery */
  maxGap(): number;
  /** let the held downstream go */
  release(): void;
}

export interface RigOptions {
  /** items fed to a transform or a sink (a source: what its roots hold) */
  n: number;
  /** the downstream takes nothing until release() */
  held?: boolean;
  /** called with the count after each delivery */
  onDelivered?: (delivered: number) => void;
  /** the upstream fails with `boom` once it has produced this many */
  upstreamFailsAt?: number;
  /** the downstream fails with `boom` at this delivery (not for a sink stage) */
  downstreamFailsAt?: number;
  boom?: Error;
}

export function rig(r: StageRow, base: Omit<StageEnv, 'onFound' | 'recorded'>, o: RigOptions): Rig {
  let pulled = 0;
  let delivered = 0;
  let maxGap = 0;
  let held = !!o.held;
  const waiting: (() => void)[] = [];
  const deliver = (): Promise<void> | void => {
    maxGap = Math.max(maxGap, pulled - delivered);
    delivered++;
    o.onDelivered?.(delivered);
    if (held) return new Promise<void>((resolve) => waiting.push(resolve));
  };
  const env: StageEnv = { ...base, onFound: (f) => { pulled = f; }, recorded: deliver };
  const stage = r.build(env);
  const streams: StageStream[] = [];
  if (r.kind !== 'source') {
    const input = r.input!;
    streams.push(new Readable({
      objectMode: true,
      highWaterMark: HWM,
      read() {
        const step = () => {
          if (o.upstreamFailsAt !== undefined && pulled >= o.upstreamFailsAt) return void this.destroy(o.boom);
          if (pulled >= o.n) return void this.push(null);
          this.push(input(pulled++, env));
        };
        // each item a turn of the event loop later, as from a file or a socket: a stage that
        // answers synchronously would otherwise keep the flow in process.nextTick for ever (no
        // timer would fire), and work a stage defers to the loop (the journal's writes) would
        // never fall behind here as it does in a run
        setImmediate(step);
      },
    }));
  }
  streams.push(stage);
  if (r.kind !== 'sink') {
    streams.push(new Writable({
      objectMode: true,
      highWaterMark: HWM,
      write(_x, _e, cb) {
        if (o.downstreamFailsAt !== undefined && delivered + 1 >= o.downstreamFailsAt) return cb(o.boom);
        const wait = deliver();
        if (wait) void wait.then(() => cb());
        else cb();
      },
    }));
  }
  const result = settle(pipeline(streams as unknown as [Readable, Writable]));
  return {
    stage, result,
    pulled: () => pulled,
    delivered: () => delivered,
    maxGap: () => maxGap,
    release: () => {
      held = false;
      for (const w of waiting.splice(0)) w();
    },
  };
}

/** Scratch env for a row under `dir`: a checkpoint of its own, a few real files, `roots`. */
export async function makeEnv(dir: string, roots: string[] = []): Promise<Omit<StageEnv, 'onFound' | 'recorded'>> {
  fs.mkdirSync(path.join(dir, 'files'), { recursive: true });
  const files = Array.from({ length: 8 }, (_, i) => {
    const f = path.join(dir, 'files', `f${i}.txt`);
    fs.writeFileSync(f, `file ${i}\n`);
    return f;
  });
  const checkpoint = await openCheckpoint(path.join(dir, 'state'), { warn: () => {} });
  return { dir, checkpoint, roots, files };
}

/** Poll `cond` every 20 ms until it holds or `ms` pass; whether it held. */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
