import { configHash, stageFingerprints, type PipelineConfig } from './config.js';
import { groupsOf, isMultiStage, recordsOf } from '../stages/chain.js';
import { StageStore } from '../checkpoint/stage-store.js';
import type { Item } from '../core/item.js';
import { BUILTIN_PROCESSORS } from '../processors/index.js';
import { checkReportPath, journalBytes, ownFilesOf, stateDirFor, stateDirLevels } from './state-dir.js';
import { VERSION } from '../core/version.js';
import { Journal } from '../checkpoint/journal.js';
import { contentKeyWithin } from '../checkpoint/keys.js';
import { parseDuration } from '../core/duration.js';
import { fdLimitError } from '../core/errors.js';
import { checkStateDir, readRunState } from '../checkpoint/state.js';
import { countNames, walk } from '../stages/walk/walk.js';
import { WalkerThread } from '../stages/walk/thread.js';
import { defaultDisplay } from '../core/fsx.js';

export interface Plan {
  v: 1;
  type: 'plan';
  pipeline: string;
  processor: string;
  state: string;
  config_hash: string;
  /** the processor or its options changed since the last run: a run would redo everything (without --keep-done) */
  config_changed: boolean;
  mode: 'resume' | 'fresh' | 'retry-failed';
  found: number;
  done: number;
  todo: number;
  todo_bytes: number;
  /**
   * Pipelines of several stages: per stage, how many of the items to do would run it at most (a
   * filter may drop some; an item starts after the last stage recorded for it); null after a
   * fan-out (its children are not known before it runs)
   */
  stages?: { name: string; kind: string; run: number | null }[];
  elapsed_s: number;
}

/**
 * What `sluice run` with the same arguments would do, without doing it: walk, key and look up
 * every file against the checkpoint (read-only, no lock: a run may be going on), and count.
 */
interface PlanOptions {
  /** the state dir as given (--state); else the pipeline's own */
  stateDir?: string;
  mode: Plan['mode'];
  /** --keep-done: a changed config keeps the done items */
  keepDone?: boolean;
}

export async function makePlan(cfg: PipelineConfig, a: PlanOptions): Promise<Plan> {
  const t0 = performance.now();
  const stateDir = stateDirFor(cfg, a.stateDir);
  checkReportPath(cfg, stateDir); // as run would refuse it
  checkStateDir(stateDir, stateDirLevels(a.stateDir), false); // read-only: a dir that is not sluice's own is refused, a missing one is fine
  const hash = configHash(cfg, VERSION);
  const prev = readRunState(stateDir);
  const changed = !!prev && prev.config_hash !== hash;
  const mode = a.mode;
  // the same rule as run: a fresh run or a changed config sets the journal aside
  const useJournal = !!cfg.dedupe && mode !== 'fresh' && (!changed || !!a.keepDone) && journalBytes(stateDir) > 0;
  let found = 0;
  let done = 0;
  let bytes = 0;
  const perStage = isMultiStage(cfg.chain) ? await stageCounter(cfg, stateDir, mode) : null;
  if (cfg.dedupe?.key === 'content') {
    // content keys read every byte: the main thread walks, hashes and looks up
    const journal = useJournal ? await Journal.read(stateDir) : null;
    if (journal && mode === 'retry-failed') journal.forgetFailed();
    const timeoutMs = parseDuration(cfg.map.timeout)!;
    for await (const item of walk(cfg.walk, { skip: ownFilesOf(cfg, stateDir) })) {
      found++;
      // a file that cannot be hashed (gone, not a regular file any more, a read that hangs) is to do, as in a run
      const key = await contentKeyWithin(item, timeoutMs).catch((err: unknown) => {
        const fd = fdLimitError(err, `hashing ${item.path}`);
        if (fd) throw fd;
        return null;
      });
      if (key !== null && journal?.isDone(key)) done++;
      else {
        bytes += item.size;
        perStage?.add({ ...item, key: key ?? undefined });
      }
    }
  } else {
    const journal = useJournal ? await Journal.read(stateDir) : null;
    if (journal && mode === 'retry-failed') journal.forgetFailed();
    ({ found, done, bytes } = await countWalk(cfg, stateDir, journal, perStage));
  }
  return {
    v: 1, type: 'plan', pipeline: cfg.name, processor: cfg.map.processor, state: defaultDisplay(stateDir), config_hash: hash,
    config_changed: changed, mode, found, done, todo: found - done, todo_bytes: bytes,
    ...(perStage ? { stages: perStage.result() } : {}),
    elapsed_s: Number(((performance.now() - t0) / 1000).toFixed(3)),
  };
}

/**
 * Default keys: the files a run would find, those the journal has done (none without a journal)
 * and the bytes of the others, as the run's walk finds and skips them (in the walker thread,
 * keyed and looked up against the journal's table). Each item to do goes to `perStage` when given.
 * `plan` and `status` count this way.
 */
export async function countWalk(cfg: PipelineConfig, stateDir: string, journal: Journal | null, perStage?: { add(item: Item): void } | null): Promise<{ found: number; done: number; bytes: number }> {
  let found = 0;
  let done = 0;
  // counts only, unless each item to do is needed for the stages it would run
  const walker = new WalkerThread({ opts: cfg.walk, skip: [...ownFilesOf(cfg, stateDir)], dedupe: !!journal, helper: true, countOnly: !perStage });
  try {
    walker.setTable(journal ? journal.snapshot() : null);
    for await (const item of walker.items({ onCounts: (f, s) => { found = f; done = s; } })) perStage?.add(item);
    return { found, done, bytes: walker.bytes };
  } finally {
    await walker.close();
  }
}

/**
 * `sluice plan --count`: the files a run would find, by name alone, as `find -type f | wc -l`
 * counts them: directories listed, globs, skips and links applied as the run's walk applies them,
 * no file stat'ed, read or looked up (done and to do need each file's key, and so its stat).
 */
export interface Count { v: 1; type: 'count'; pipeline: string; found: number; elapsed_s: number }

export async function countFiles(cfg: PipelineConfig, stateDir?: string): Promise<Count> {
  const t0 = performance.now();
  const found = await countNames(cfg.walk, ownFilesOf(cfg, stateDirFor(cfg, stateDir)));
  return { v: 1, type: 'count', pipeline: cfg.name, found, elapsed_s: Number(((performance.now() - t0) / 1000).toFixed(3)) };
}

/**
 * Per stage, the items to do that would run it: each from the stage after the last one recorded
 * for it (the stage records of run.ts, read-only); stages after a fan-out are not counted.
 */
async function stageCounter(cfg: PipelineConfig, stateDir: string, mode: Plan['mode']) {
  const chain = cfg.chain;
  const groups = groupsOf(chain, { concurrency: 1, outDir: cfg.outputDir });
  const boundaries = groups.flatMap((g) => (g.kind === 'map' && g.recorded ? [g.fused.at(-1)!] : []));
  // a built-in that fans out (chunk): what comes after it runs on its children. A processor module
  // may fan out too, or not: its items are counted as items
  const fanOutAt = groups.find((g) => g.kind === 'map' && g.setup.fanOut && !!BUILTIN_PROCESSORS[g.setup.processor]?.spec.fanOut);
  const unknownFrom = fanOutAt && fanOutAt.kind === 'map' ? fanOutAt.fused.at(-1)! + 1 : chain.length;
  const fingerprints = stageFingerprints(cfg, VERSION);
  const store = mode === 'fresh' || boundaries.length === 0 ? null : await StageStore.read(stateDir).catch(() => null);
  const run = chain.map(() => 0);
  return {
    add(item: Item): void {
      const deepest = store && item.key ? recordsOf(item.key, boundaries, fingerprints, store.has).next() : null;
      const from = deepest && !deepest.done ? deepest.value.at + 1 : 0;
      for (let i = from; i < chain.length; i++) run[i]!++;
    },
    result: () => chain.map((s, i) => ({ name: s.name, kind: s.kind, run: i < unknownFrom ? run[i]! : null })),
  };
}
