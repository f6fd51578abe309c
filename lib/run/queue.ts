import type { Redis } from 'ioredis';
import { connect } from '../queue/connection.js';
import { RemotePool } from '../queue/remote-pool.js';
import type { MapStageSetup } from '../stages/map.js';
import type { ItemPool } from '../worker/pool.js';

/** Jobs a map stage keeps outstanding on the queue at most (its items in flight): the run's bound on Redis, whatever the item count. */
export const QUEUE_WINDOW = 256;

/**
 * A run whose map stages go through a queue (--queue): one Redis connection, and a RemotePool
 * per map stage (not shared: a job id names its stage).
 */
export function queuePools(url: string, config: string, say: (line: string) => void): { pools: (s: MapStageSetup, at: number) => ItemPool; close(): void } {
  const redis: Redis = connect(url, say);
  return {
    pools: (s, at) => new RemotePool({ redis, config, stage: at, window: QUEUE_WINDOW, memory: { maxMemoryMb: s.map.max_memory_mb, maxRssMb: s.map.max_rss_mb ?? null } }),
    close: () => redis.disconnect(),
  };
}
