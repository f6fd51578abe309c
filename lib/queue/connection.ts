import { Redis, type RedisOptions } from 'ioredis';
import { SluiceError } from '../core/errors.js';

/**
 * A Redis connection for BullMQ from a --queue URL: `redis://[user:pass@]host[:port][/db]` or
 * `unix:///path/to.sock[?db=N]`. Commands wait while the server is away (maxRetriesPerRequest
 * null, as BullMQ's workers require) instead of failing, and the connection retries with a
 * growing delay (at most 2 s); `say` hears once when it is lost, and when it is back.
 *
 * Invariant: the URL is checked before anything connects; a bad one is SLUICE_E_USAGE naming it.
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

/** Why `url` is not a queue URL sluice can use, or null. */
export function queueUrlProblem(url: string): string | null {
  try {
    redisOptions(url);
    return null;
  } catch (err) {
    return (err as Error).message.replace(/^--queue /, '');
  }
}

/** The URL as messages show it: without a password. */
export function shownUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SluiceError('SLUICE_E_USAGE', `--queue ${shownUrl(url)}: not a URL (redis://host:port/db or unix:///path/to.sock)`);
  }
  const db = u.protocol === 'unix:' ? Number(u.searchParams.get('db') ?? 0) : Number(u.pathname.slice(1) || 0);
  if (!Number.isInteger(db) || db < 0) throw new SluiceError('SLUICE_E_USAGE', `--queue ${shownUrl(url)}: the database must be a number`);
  if (u.protocol === 'unix:') {
    if (!u.pathname) throw new SluiceError('SLUICE_E_USAGE', `--queue ${shownUrl(url)}: no socket path`);
    return { path: decodeURIComponent(u.pathname), db };
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new SluiceError('SLUICE_E_USAGE', `--queue ${shownUrl(url)}: the scheme must be redis:, rediss: or unix:`);
  return {
    host: u.hostname || '127.0.0.1', port: Number(u.port || 6379), db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}), ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
