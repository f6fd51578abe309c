// A --queue URL, read without loading a Redis client: `redis://[user:pass@]host[:port][/db]`,
// `rediss://...` or `unix:///path/to.sock[?db=N]`. Invariant: everything that checks or shows a
// queue URL comes here (a type-only import of ioredis), so a run without a queue never loads
// BullMQ or ioredis (a quarter of a second at every start).
import type { RedisOptions } from 'ioredis';
import { SluiceError } from '../core/errors.js';

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

/** The connection options of a queue URL; SLUICE_E_USAGE naming it when it is not one. */
export function redisOptions(url: string): RedisOptions {
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
