import type { Item } from '../core/item.js';
import { toErrorInfo } from '../core/errors.js';
import { MapStage, type MapOptions, type ItemResult } from './map.js';
import { compileFilter, type FilterOptions } from './filter.js';
import { checkProcessor } from '../worker/check.js';

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

/** Load every map stage's processor once, before anything is recorded: one that cannot load rejects (SLUICE_E_PROCESSOR_LOAD, or SLUICE_E_CONFIG for bad options). */
export async function checkProcessors(chain: readonly ChainStage[]): Promise<void> {
  for (const s of chain) if (s.kind === 'map') await checkProcessor(s.map.processor, s.map.options);
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
export type Step = (r: ItemResult) => Promise<ItemResult>;

export function mapStep(stage: MapStage, name: string, named: boolean, count?: StageCounts): Step {
  return async (r) => {
    if (r.status !== 'ok') return r;
    const item = r.output ? { ...r.item, input: r.output } : r.item;
    const out = await stage.process(item);
    count?.add(out.status, out.ms);
    return { ...out, item: r.item, ms: out.ms + r.ms, ...(named ? { stage: name } : {}) };
  };
}

export function filterStep(options: FilterOptions, name: string, count?: StageCounts): Step {
  const keep = compileFilter(options);
  return async (r) => {
    if (r.status !== 'ok') return r;
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

/** One stage's figures: items in, and how each came out (ok: passed on, or the chain's last result), time spent in the stage. */
export class StageCounts {
  in = 0;
  ok = 0;
  failed = 0;
  filtered = 0;
  private msTotal = 0;
  constructor(readonly name: string, readonly kind: ChainStage['kind']) {}
  add(status: ItemResult['status'], ms: number): void {
    this.in++;
    this[status]++;
    this.msTotal += ms;
  }
  toJSON(): { name: string; kind: string; in: number; ok: number; failed: number; filtered: number; ms: number } {
    return { name: this.name, kind: this.kind, in: this.in, ok: this.ok, failed: this.failed, filtered: this.filtered, ms: Math.round(this.msTotal) };
  }
}

/** How the map stages of a chain run: what every stage shares, the concurrency when a stage does not set its own. */
export interface ChainSetup {
  concurrency: number;
  outDir: string | null;
  outputEnospc?: string;
}

/**
 * The stages of a chain, ready to run: a MapStage (worker pool) per map, a compiled filter per
 * filter, each as a Step, with its counts. What a run does to every pool (warm, stop, close) it
 * does through here, so a chain of one map behaves as that map's stage.
 */
export class Chain {
  readonly maps: MapStage[] = [];
  readonly steps: { step: Step; name: string; kind: ChainStage['kind']; stage: MapStage | null }[] = [];
  /** per-stage figures (several stages only) */
  readonly counts: StageCounts[] | null;

  constructor(readonly stages: readonly ChainStage[], setup: ChainSetup) {
    const multi = isMultiStage(stages);
    this.counts = multi ? stages.map((s) => new StageCounts(s.name, s.kind)) : null;
    stages.forEach((s, i) => {
      const count = this.counts?.[i];
      if (s.kind === 'filter') {
        this.steps.push({ step: filterStep(s.filter, s.name, count), name: s.name, kind: 'filter', stage: null });
        return;
      }
      // the first map takes the run's concurrency (-j); a later one its own, else the same
      const concurrency = (i === stages.findIndex((x) => x.kind === 'map') ? undefined : s.map.concurrency) ?? setup.concurrency;
      const stage = new MapStage({ map: s.map, processor: s.map.processor, concurrency, outDir: setup.outDir, outputEnospc: setup.outputEnospc });
      this.maps.push(stage);
      this.steps.push({ step: mapStep(stage, s.name, multi, count), name: s.name, kind: 'map', stage });
    });
  }

  /** start every pool's workers now (a first run: every item will need them) */
  warm(): void {
    for (const m of this.maps) m.pool.warm();
  }

  /** items being processed, over all pools */
  get busy(): number {
    return this.maps.reduce((n, m) => n + m.pool.busy, 0);
  }

  get threads(): number {
    return this.maps.reduce((n, m) => n + m.pool.threads, 0);
  }

  get memoryKills(): number {
    return this.maps.reduce((n, m) => n + m.pool.memoryKills, 0);
  }

  /** a stop: what has not started in any pool is dropped */
  abortQueued(): number {
    return this.maps.reduce((n, m) => n + m.pool.abortQueued(), 0);
  }

  /** the grace period is over: everything still running is stopped */
  abortAll(): number {
    return this.maps.reduce((n, m) => n + m.pool.abortAll(), 0);
  }

  /** close every pool (MapStage.end): each processor module's complaints at teardown, with its stage's name */
  async end(cut = false): Promise<{ processor: string; message: string }[]> {
    const said: { processor: string; message: string }[] = [];
    await Promise.all(this.stages.map(async (s, i) => {
      const stage = this.steps[i]!.stage;
      if (s.kind !== 'map' || !stage) return;
      for (const message of await stage.end(cut)) said.push({ processor: s.map.processor, message });
    }));
    return said;
  }
}
