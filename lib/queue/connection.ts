import { Redis } from 'ioredis';
import { redisOptions, shownUrl } from './url.js';

/**
 * A Redis connection for BullMQ from a --queue URL: `redis://[user:pass@]host[:port][/db]` or
 * `unix:///path/to.sock[?db=N]`. Commands wait while the server is away (maxRetriesPerRequest
 * null, as BullMQ's workers require) instead of failing, and the connection retries with a
 * growing delay (at most 2 s); `say` hears once when it is lost, and when it is back.
 *
 * Invariant: the URL is checked before anything connects (url.ts); a bad one is SLUICE_E_USAGE naming it.
 */
export function connect(url: string, say: (line: string) => void): Redis {
  const opts = redisOptions(url);
  const redis = new Redis({ ...opts, maxRetriesPerRequest: null, lazyConnect: false, retryStrategy: (n) => Math.min(2000, 50 * n) });
  let lost = false;
  redis.on('error', (err: Error) => {
    if (lost) return;
    lost = true;
    say(`sluice: the queue ${shownUrl(url)} is not reachable (${err.message}); waiting for it, nothing is lost`);
  });
  redis.on('ready', () => {
    if (!lost) return;
    lost = false;
    say(`sluice: the queue ${shownUrl(url)} is back`);
  });
  return redis;
}
