import type { Redis } from 'ioredis';
import { connect } from '../queue/connection.js';
import { RemotePool } from '../queue/remote-pool.js';
import { BUILTIN_PROCESSORS, isBuiltin } from '../processors/index.js';
import { SluiceError } from '../core/errors.js';
import type { MapStageSetup } from '../stages/map.js';
import type { ItemPool } from '../worker/pool.js';
import type { PipelineConfig } from './config.js';

/** Jobs a map stage keeps outstanding on the queue at most (its items in flight): the run's bound on Redis, whatever the item count. */
export const QUEUE_WINDOW = 256;

/**
 * A run whose map stages go through a queue (--queue): one Redis connection, and a RemotePool
 * per map stage (not shared: a job id names its stage). A stage whose processor fans out
 * (chunk) does not run over a queue yet: refused before anything runs.
 */
export function queuePools(url: string, config: string, cfg: PipelineConfig, say: (line: string) => void): { pools: (s: MapStageSetup, at: number) => ItemPool; close(): void } {
  for (const st of cfg.chain) {
    if (st.kind === 'map' && isBuiltin(st.map.processor) && BUILTIN_PROCESSORS[st.map.processor]!.spec.fanOut) {
      throw new SluiceError('SLUICE_E_CONFIG', `stage ${st.name} (${st.map.processor}) fans out into child items, which a queue does not carry yet: run it without --queue`);
    }
  }
  const redis: Redis = connect(url, say);
  return {
    pools: (s, at) => new RemotePool({ redis, config, stage: at, window: QUEUE_WINDOW, memory: { maxMemoryMb: s.map.max_memory_mb, maxRssMb: s.map.max_rss_mb ?? null } }),
    close: () => redis.disconnect(),
  };
}
