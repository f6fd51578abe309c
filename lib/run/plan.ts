import { configHash, type PipelineConfig } from './config.js';
import { checkReportPath, journalBytes, ownFilesOf, stateDirFor, stateDirLevels } from './state-dir.js';
import { VERSION } from '../core/version.js';
import { Journal } from '../checkpoint/journal.js';
import { contentKeyWithin } from '../checkpoint/keys.js';
import { parseDuration } from '../core/duration.js';
import { fdLimitError } from '../core/errors.js';
import { checkStateDir, readRunState } from '../checkpoint/state.js';
import { walk } from '../stages/walk/walk.js';
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
      else bytes += item.size;
    }
  } else {
    const walker = new WalkerThread({ opts: cfg.walk, skip: [...ownFilesOf(cfg, stateDir)], dedupe: useJournal, helper: true, countOnly: true });
    try {
      const journal = useJournal ? await Journal.read(stateDir) : null;
      if (journal && mode === 'retry-failed') journal.forgetFailed();
      walker.setTable(journal ? journal.snapshot() : null);
      for await (const _ of walker.items({ onCounts: (f, s) => { found = f; done = s; } })) { /* counts only */ }
      bytes = walker.bytes;
    } finally {
      await walker.close();
    }
  }
  return {
    v: 1, type: 'plan', pipeline: cfg.name, processor: cfg.map.processor, state: defaultDisplay(stateDir), config_hash: hash,
    config_changed: changed, mode, found, done, todo: found - done, todo_bytes: bytes,
    elapsed_s: Number(((performance.now() - t0) / 1000).toFixed(3)),
  };
}

