import { createHash } from 'node:crypto';
import type { Item } from '../core/item.js';
import { toErrorInfo } from '../core/errors.js';
import { MapStage, poolFor, poolKey, type MapOptions, type ItemResult, type MapStageSetup } from './map.js';
import type { ItemPool } from '../worker/pool.js';
import type { StageStore } from '../checkpoint/stage-store.js';
import { compileFilter, type FilterOptions } from './filter.js';
import { checkProcessor } from '../worker/check.js';
import { BUILTIN_PROCESSORS, isBuiltin } from '../processors/index.js';

// The stages after the source and dedupe, in the order of `stages:`: map stages, each with its own
// processor and pool, and filters between them. An item goes through them one after the other;
// its result is the last map's output, or where it ended: the stage that failed it, or the filter
// that dropped it. A pipeline of one map and nothing else is the single-stage pipeline it always
// was: its results carry no `stage`.

export type ChainStage =
  | { kind: 'map'; name: string; map: MapOptions }
  | { kind: 'filter'; name: string; filter: FilterOptions };

/** A stage's name: the one it was given, else its kind and its place in `stages` (map2, filter1). */
export function stageNameOf(kind: ChainStage['kind'], given: string | undefined, index: number): string {
  return given ?? `${kind}${index}`;
}

/** A chain of more than one stage puts `stage` in its results, per-stage counts in progress, summary and report. */
export function isMultiStage(chain: readonly ChainStage[]): boolean {
  return chain.length > 1;
}

/**
 * Load every map stage's processor once, before anything is recorded: one that cannot load
 * rejects (SLUICE_E_PROCESSOR_LOAD, or SLUICE_E_CONFIG for bad options). With nothing to check
 * (only built-ins: checkProcessor) it returns null rather than a promise, so a run goes on to start
 * its workers without yielding first: nothing else runs on the main thread before they boot.
 */
export function checkProcessors(chain: readonly ChainStage[]): Promise<void> | null {
  // each distinct processor and options once, all at once (a module is checked in a thread of its own)
  const distinct = new Map<string, ChainStage & { kind: 'map' }>();
  for (const s of chain) if (s.kind === 'map') distinct.set(JSON.stringify([s.map.processor, s.map.options]), s);
  const checks = [...distinct.values()].map((s) => checkProcessor(s.map.processor, s.map.options)).filter((c) => c !== null);
  if (!checks.length) return null;
  // the first stage's complaint first, as a run in order would find it
  return Promise.allSettled(checks).then((settled) => {
    for (const r of settled) if (r.status === 'rejected') throw r.reason;
  });
}

/** Where an item is between stages: a result still `ok` goes on; `failed` or `filtered` has ended. */
export function startOf(item: Item): ItemResult {
  return { item, status: 'ok', ms: 0, attempts: 0 };
}

/**
 * One step of the chain for one item: `r` ended → unchanged; else the stage's outcome. A map
 * stage gets the item with the previous map's output as `input`; its ms add up over the stages,
 * attempts are the last stage's. `stage` is set when the chain has several stages.
 */
type Step = (r: ItemResult, push: Push) => Promise<ItemResult>;

/** Hand a result to the next stage, resolving when it has room (backpressure). */
type Push = (r: ItemResult) => Promise<void>;

/** A result the rest of the chain leaves as it is: ended, or a parent whose children go on in its place. */
export function passesThrough(r: ItemResult): boolean {
  return r.status !== 'ok' || r.children !== undefined;
}

/** A child's checkpoint key: stable, from its parent's key and its index (a processor emits its children in the same order every time). */
function childKey(parent: string, index: number): string {
  return createHash('sha256').update(`${parent}/${index}`).digest('hex').slice(0, 32);
}

/** What fan-out needs from the run: the children already done (checkpoint), and where their parents wait for them. */
interface FanOutSetup {
  isDone(key: string): boolean;
  fanIn: FanIn;
  /** a child not run again: done in an earlier run */
  onSkip?(child: ItemResult): void;
}

/** One or more consecutive map stages run as one (fused: same settings, see Chain): their names and counts, in order, and where the last one is in the chain. */
interface MapGroup { names: string[]; counts?: (StageCounts | undefined)[]; last: number }

/** Where a chain keeps what its stages before the last did (checkpoint/stage-store.ts), and the fingerprint of each stage. */
interface StageRecords { store: StageStore; fingerprints: string[] }

/** The key of an item's record for the stage at `index` (see StageStore). */
function stageKey(item: string, fingerprint: string): string {
  return createHash('sha256').update(`${item}@${fingerprint}`).digest('hex').slice(0, 32);
}

/**
 * The records an item has, deepest first: for each chain place whose stage is recorded
 * (`boundaries`, in chain order) and that `has` a record for the item, the place and the key.
 * A run starts the item after the first of these whose output it can read; `sluice plan`, after
 * the first.
 */
export function* recordsOf(item: string, boundaries: readonly number[], fingerprints: readonly string[], has: (key: string) => boolean): Generator<{ at: number; key: string }> {
  for (let b = boundaries.length - 1; b >= 0; b--) {
    const at = boundaries[b]!;
    const key = stageKey(item, fingerprints[at]!);
    if (has(key)) yield { at, key };
  }
}

function mapStep(stage: MapStage, group: MapGroup, named: boolean, fan?: FanOutSetup, records?: () => StageRecords | null): Step {
  const last = group.names.length - 1;
  return async (r, push) => {
    if (passesThrough(r) || (r.from ?? 0) > group.last) return r;
    const item = r.output ? { ...r.item, input: r.output } : r.item;
    // children handed on in an earlier attempt of this item are not handed on again
    let handed = 0;
    const onChild = fan && (async (fields: Record<string, unknown>, index: number) => {
      if (index < handed) return;
      handed = index + 1;
      const parent = r.item.key!;
      const child: ItemResult = {
        item: { ...r.item, key: childKey(parent, index), parent, index, input: undefined, seq: undefined }, status: 'ok', ms: 0, attempts: 0, output: fields, stage: named ? group.names[last] : undefined,
      };
      if (fan.isDone(child.item.key!)) return fan.onSkip?.(child);
      fan.fanIn.opened(parent);
      await push(child);
    });
    const { r: out, stageMs, failedAt } = await stage.processFused(item, onChild || undefined);
    // where it ended: the stage that failed (the worker says which, even when it was lost there), else the last
    const at = out.status === 'failed' ? Math.min(failedAt ?? 0, last) : last;
    if (group.counts) {
      for (let k = 0; k < at; k++) group.counts[k]?.add('ok', stageMs?.[k] ?? 0);
      group.counts[at]?.add(out.status, at === last && !stageMs ? out.ms : stageMs?.[at] ?? 0);
    }
    // out is this call's own: amended, not copied
    const done = out;
    done.item = r.item;
    done.ms += r.ms;
    if (named) done.stage = group.names[at];
    // a stage with more after it: its output recorded, so a rerun starts the item after it
    const rec = records?.();
    if (rec && done.status === 'ok' && done.children === undefined && r.item.parent === undefined) {
      await rec.store.record(stageKey(r.item.key!, rec.fingerprints[group.last]!), {
        of: r.item.key!, path: r.item.path, ...(r.item.path_b64 ? { path_b64: r.item.path_b64 } : {}), stage: group.names[last]!, ms: done.ms, output: done.output ?? {},
      });
    }
    return done;
  };
}

/**
 * Parents and their children (fan-out): a parent is recorded only once every child it handed on
 * is recorded, so a crash in between leaves the parent to do again (its children done are not
 * redone). A parent with a failed child is recorded failed (SLUICE_E_CHILD_FAILED): --retry-failed
 * runs it again, for those children. One with a child dropped at a stop is not recorded. Holds
 * one entry per parent with children in flight: bounded by the items in flight.
 */
export class FanIn {
  private readonly open = new Map<string, { outstanding: number; failed: number; firstFailure: string | null; dropped: boolean; held: ItemResult | null; gone?: boolean }>();
  /** children handed on and not yet recorded, now and at most */
  inFlight = 0;
  peakInFlight = 0;

  opened(parent: string): void {
    let p = this.open.get(parent);
    if (!p) this.open.set(parent, (p = { outstanding: 0, failed: 0, firstFailure: null, dropped: false, held: null }));
    p.outstanding++;
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
  }

  /**
   * A result reached the end of the chain. A parent with children in flight is held ('hold');
   * one whose children are all through becomes what they make it (failed if one failed; 'drop'
   * if one was dropped). Anything else is as it is.
   */
  arrive(r: ItemResult): ItemResult | 'hold' | 'drop' {
    const p = r.item.parent === undefined && this.open.size ? this.open.get(r.item.key!) : undefined;
    if (!p) return r;
    if (r.status === 'ok' && r.children !== undefined && p.outstanding > 0) {
      p.held = r;
      return 'hold';
    }
    if (p.outstanding === 0) this.open.delete(r.item.key!);
    else p.gone = true; // the parent failed itself after emitting: recorded as it is; its children go on alone
    return r.status === 'ok' ? this.outcome(r, p) : r;
  }

  /**
   * A result was recorded (`recorded`) or dropped. For a child, the parent it releases, if any
   * (held, and this was its last child): to record, or to drop (`drop`: a child was dropped).
   */
  settle(r: ItemResult, recorded: boolean): { parent: ItemResult; drop: boolean } | null {
    if (r.item.parent === undefined) return null;
    const p = this.open.get(r.item.parent);
    if (!p) return null;
    this.inFlight--;
    p.outstanding--;
    if (!recorded) p.dropped = true;
    else if (r.status === 'failed') {
      p.failed++;
      p.firstFailure ??= `child ${r.item.index}: ${r.error?.code}: ${r.error?.message}`;
    }
    if (p.gone && p.outstanding === 0) this.open.delete(r.item.parent);
    // not held yet: its parent, when it arrives, folds these in
    if (p.outstanding > 0 || !p.held) return null;
    this.open.delete(r.item.parent);
    const o = this.outcome(p.held, p);
    return o === 'drop' ? { parent: p.held, drop: true } : { parent: o, drop: false };
  }

  private outcome(r: ItemResult, p: { failed: number; firstFailure: string | null; dropped: boolean }): ItemResult | 'drop' {
    if (p.dropped) return 'drop';
    if (!p.failed) return r;
    return { ...r, status: 'failed', error: { code: 'SLUICE_E_CHILD_FAILED', message: `${p.failed} of its ${r.children} children failed (the first: ${p.firstFailure})`, retryable: false } };
  }

  /** Parents still held at the end: a child of each was dropped (a stop); none is recorded. */
  leftOver(): ItemResult[] {
    return [...this.open.values()].flatMap((p) => (p.held ? [p.held] : []));
  }
}

function filterStep(options: FilterOptions, name: string, index: number, count?: StageCounts): Step {
  const keep = compileFilter(options);
  return async (r) => {
    if (passesThrough(r) || (r.from ?? 0) > index) return r;
    const start = performance.now();
    let out: ItemResult;
    try {
      out = (await keep(r.item, r.output)) ? r : { ...r, status: 'filtered', stage: name };
    } catch (err) {
      // its type could not be read: the real cause, as a map stage would give it
      out = { item: r.item, status: 'failed', ms: r.ms, attempts: 1, error: toErrorInfo(err), stage: name };
    }
    count?.add(out.status, performance.now() - start);
    return out;
  };
}

/** How a chain's stages run: each filter on its own; map stages in groups run fused (see fusable), each group's settings, and whether its output is recorded (a map stage comes after it). */
type Group =
  | { kind: 'filter'; at: number }
  | { kind: 'map'; fused: number[]; setup: MapStageSetup; recorded: boolean };

export function groupsOf(stages: readonly ChainStage[], setup: ChainSetup): Group[] {
  const firstMap = stages.findIndex((x) => x.kind === 'map');
  const setupOf = (s: ChainStage & { kind: 'map' }, i: number): MapStageSetup => ({
    map: s.map, processor: s.map.processor,
    // the first map takes the run's concurrency (-j); a later one its own, else the same
    concurrency: (i === firstMap ? undefined : s.map.concurrency) ?? setup.concurrency,
    outDir: setup.outDir, outputEnospc: setup.outputEnospc,
    // a built-in that fans out (chunk) always does: last, its children are the results; a module
    // may when a stage comes after it (its processor gets ctx.emit); other built-ins never do
    // (their items go to the workers in batches)
    fanOut: isBuiltin(s.map.processor) ? !!BUILTIN_PROCESSORS[s.map.processor]!.spec.fanOut : i < stages.length - 1,
  });
  const groups: Group[] = [];
  for (let i = 0; i < stages.length; i++) {
    const s = stages[i]!;
    if (s.kind === 'filter') {
      groups.push({ kind: 'filter', at: i });
      continue;
    }
    const first = setupOf(s, i);
    // consecutive maps with the same settings run as one: in the same worker task, one after
    // the other, each on the output of the one before (no trip through this thread between them)
    const fused: number[] = [i];
    for (let j = i + 1; j < stages.length; j++) {
      const next = stages[j]!;
      if (next.kind !== 'map' || !fusable(first, setupOf(next, j))) break;
      fused.push(j);
    }
    const lastAt = fused.at(-1)!;
    const mapAt = (j: number) => stages[j] as ChainStage & { kind: 'map' };
    const mapsAfter = stages.slice(lastAt + 1).some((x) => x.kind === 'map');
    const fanOut = setupOf(mapAt(lastAt), lastAt).fanOut;
    const groupSetup: MapStageSetup = {
      ...first, fanOut, childrenNeedThreads: fanOut && mapsAfter,
      ...(fused.length > 1 ? { then: fused.slice(1).map((j) => ({ processor: mapAt(j).map.processor, options: mapAt(j).map.options })) } : {}),
    };
    // recorded: a group with a map stage after it (the last map's result is the item's own record)
    groups.push({ kind: 'map', fused, setup: groupSetup, recorded: mapsAfter });
    i = lastAt;
  }
  return groups;
}

/**
 * Whether map stage `b` may run fused after `a`: both built-ins, neither fans out (a's children
 * would skip b; b's could not reach what follows from inside a's task), and the same pool and
 * item settings. Not a processor module: fused stages are recorded as one, and a user's own
 * stage is the one whose options change between runs (pdf-text then a module: a change to the
 * module must not redo pdf-text).
 */
function fusable(a: MapStageSetup, b: MapStageSetup): boolean {
  if (a.fanOut || b.fanOut || !isBuiltin(a.processor) || !isBuiltin(b.processor)) return false;
  const item = (m: MapOptions) => JSON.stringify([m.timeout, m.retries, m.quarantine_after]);
  return poolKey(a) === poolKey(b) && item(a.map) === item(b.map);
}

/** One stage's figures: items in, and how each came out (ok: passed on, or the chain's last result), time spent in the stage. */
export class StageCounts {
  in = 0;
  ok = 0;
  failed = 0;
  filtered = 0;
  /** items that did not run it: an earlier run recorded it for them */
  resumed = 0;
  private msTotal = 0;
  constructor(readonly name: string, readonly kind: ChainStage['kind']) {}
  add(status: ItemResult['status'], ms: number): void {
    this.in++;
    this[status]++;
    this.msTotal += ms;
  }
  resume(): void {
    this.resumed++;
  }
  toJSON(): { name: string; kind: string; in: number; ok: number; failed: number; filtered: number; resumed: number; ms: number } {
    return { name: this.name, kind: this.kind, in: this.in, ok: this.ok, failed: this.failed, filtered: this.filtered, resumed: this.resumed, ms: Math.round(this.msTotal) };
  }
}

/** How the map stages of a chain run: what every stage shares, the concurrency when a stage does not set its own. */
export interface ChainSetup {
  concurrency: number;
  outDir: string | null;
  outputEnospc?: string;
  /** where each map stage runs its items instead of a worker pool of this process (a queue: run/queue.ts); `at`: the stage's place */
  pools?: (setup: MapStageSetup, at: number) => ItemPool;
}

/**
 * The stages of a chain, ready to run: a MapStage (worker pool) per map, a compiled filter per
 * filter, each as a Step, with its counts. What a run does to every pool (warm, stop, close) it
 * does through here, so a chain of one map behaves as that map's stage.
 */
export class Chain {
  /** one per filter, one per group of fused maps, in order: what runs it, and the map stage when it is one */
  readonly steps: { step: Step; stage: MapStage | null }[] = [];
  /** per-stage figures (several stages only) */
  readonly counts: StageCounts[] | null;
  /** where parents wait for their children (fan-out) */
  readonly fanIn = new FanIn();
  private readonly fan: FanOutSetup = { isDone: () => false, fanIn: this.fanIn };
  /** stage records (several map groups): where, and the chain places whose output is recorded */
  private records: StageRecords | null = null;
  readonly boundaries: number[] = [];
  /** the worker pools, each once: stages share them (see the constructor) */
  private readonly pools: { key: string | null; pool: ItemPool; modules: boolean }[] = [];

  constructor(readonly stages: readonly ChainStage[], setup: ChainSetup) {
    const multi = isMultiStage(stages);
    this.counts = multi ? stages.map((s) => new StageCounts(s.name, s.kind)) : null;
    for (const g of groupsOf(stages, setup)) {
      if (g.kind === 'filter') {
        const s = stages[g.at] as ChainStage & { kind: 'filter' };
        this.steps.push({ step: filterStep(s.filter, s.name, g.at, this.counts?.[g.at]), stage: null });
        continue;
      }
      // stages with the same pool settings share one pool: no more threads (nor heaps) than one
      // stage's; but not a fan-out stage whose children need threads (see poolKey)
      const key = setup.pools ? null : poolKey(g.setup);
      let shared = key === null ? undefined : this.pools.find((p) => p.key === key);
      if (!shared) this.pools.push((shared = { key, pool: setup.pools ? setup.pools(g.setup, g.fused[0]!) : poolFor(g.setup), modules: false }));
      for (const j of g.fused) shared.modules ||= !isBuiltin((stages[j] as ChainStage & { kind: 'map' }).map.processor);
      const stage = new MapStage(g.setup, shared.pool);
      const group: MapGroup = { names: g.fused.map((j) => stages[j]!.name), counts: this.counts ? g.fused.map((j) => this.counts![j]) : undefined, last: g.fused.at(-1)! };
      if (g.recorded) this.boundaries.push(group.last);
      this.steps.push({ step: mapStep(stage, group, multi, g.setup.fanOut ? this.fan : undefined, g.recorded ? () => this.records : undefined), stage });
    }
  }

  /** Children the checkpoint has done are not run again (fan-out): its lookup, and what to do with one skipped. */
  useCheckpoint(isDone: (key: string) => boolean, onSkip?: (child: ItemResult) => void): void {
    this.fan.isDone = isDone;
    this.fan.onSkip = onSkip;
  }

  /** Whether the chain records stages (a map stage with more after it that does not fan out). */
  get recordsStages(): boolean {
    return this.boundaries.length > 0;
  }

  /** Record stages in `store`, each under its fingerprint (run/config.ts stageFingerprints). */
  useStageStore(store: StageStore, fingerprints: string[]): void {
    this.records = { store, fingerprints };
  }

  /** Whether a stage record (as read back from the store) is one a run of this chain can start from: its stage is recorded here, and its key is the one this chain's fingerprints give its item. */
  isLiveRecord(e: { key: string; of?: string; stage?: string }): boolean {
    const rec = this.records;
    if (!rec || !e.of || !e.stage) return false;
    const at = this.stages.findIndex((s) => s.name === e.stage);
    return this.boundaries.includes(at) && stageKey(e.of, rec.fingerprints[at]!) === e.key;
  }

  /**
   * Where an item starts: after the last stage an earlier run recorded for it, with that stage's
   * output, or at the first stage (a record whose output cannot be read back does not count).
   */
  async resumeAt(item: Item): Promise<ItemResult> {
    const rec = this.records;
    if (rec && item.key && item.parent === undefined) {
      for (const { at, key } of recordsOf(item.key, this.boundaries, rec.fingerprints, (k) => rec.store.has(k))) {
        const output = await rec.store.output(key);
        if (output === null) continue;
        for (let k = 0; k <= at; k++) this.counts?.[k]?.resume();
        return { item, status: 'ok', ms: 0, attempts: 0, output, from: at + 1 };
      }
    }
    return startOf(item);
  }

  /** start every pool's workers now (a first run: every item will need them) */
  warm(): void {
    for (const p of this.pools) p.pool.warm();
  }

  private sum(f: (pool: ItemPool) => number): number {
    return this.pools.reduce((n, p) => n + f(p.pool), 0);
  }

  /** the item running longest now, over all pools (null: none) */
  longestRunning(now = Date.now()): { path: string; ms: number } | null {
    let best: { path: string; ms: number } | null = null;
    for (const p of this.pools) {
      const r = p.pool.longestRunning(now);
      if (r && (!best || r.ms > best.ms)) best = r;
    }
    return best;
  }

  /** workers booted with their processor loaded, over all pools */
  get ready(): number {
    return this.sum((p) => p.ready);
  }

  /** time the items being processed have spent in their workers so far, over all pools (ms) */
  runningMs(now = Date.now()): number {
    return this.sum((p) => p.runningMs(now));
  }

  /** items being processed, over all pools */
  get busy(): number {
    return this.sum((p) => p.busy);
  }

  get threads(): number {
    return this.sum((p) => p.threads);
  }

  get memoryKills(): number {
    return this.sum((p) => p.memoryKills);
  }

  /** items a queue worker started more than once, over all pools (null: no pool is a queue's) */
  get redelivered(): number | null {
    return this.steps.some((s) => s.stage?.pool.redelivered !== undefined) ? this.sum((p) => p.redelivered ?? 0) : null;
  }

  /** items the pools hold at most (running, waiting, queued) */
  get itemCapacity(): number {
    return this.steps.reduce((n, s) => n + (s.stage?.itemCapacity ?? 0), 0);
  }

  /** the item with this key is recorded: every pool hears it (a queue lets its jobs go) */
  recorded(key: string): void {
    for (const p of this.pools) p.pool.recorded?.(key);
  }

  /** a stop: what has not started in any pool is dropped */
  abortQueued(): number {
    return this.sum((p) => p.abortQueued());
  }

  /** the grace period is over: everything still running is stopped */
  abortAll(): number {
    return this.sum((p) => p.abortAll());
  }

  /**
   * Close every pool, once: a processor module's teardown on each of its threads first (built-ins
   * have none), unless `cut` (the run was cut short: nothing more starts). Resolves to the
   * teardowns' complaints.
   */
  end(cut = false): Promise<string[]> {
    return (this.ended ??= (async () => {
      const said: string[] = [];
      await Promise.all(this.pools.map(async (p) => {
        if (cut) p.pool.halting();
        if (!cut && p.modules) said.push(...await p.pool.teardown());
        await p.pool.close().catch(() => {});
      }));
      return said;
    })());
  }

  private ended: Promise<string[]> | undefined;
}
