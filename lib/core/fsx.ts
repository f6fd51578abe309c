import { promises as fsp } from 'node:fs';

/**
 * fsync a directory: a rename or a new file in it is durable only once its directory is synced.
 * Whatever says "done" (a journal line, a compacted journal) must come after this.
 */
export async function syncDir(dir: string): Promise<void> {
  const dh = await fsp.open(dir, 'r');
  try {
    await dh.datasync();
  } finally {
    await dh.close();
  }
}
