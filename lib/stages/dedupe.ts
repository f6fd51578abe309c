import { Transform, type TransformCallback } from 'node:stream';
import { z } from '../core/zod.js';
import type { Item } from '../core/item.js';
import type { ComponentSpec } from '../core/spec.js';
import { contentKey, contentKeyWithin, metaKey, type KeyMode } from '../checkpoint/keys.js';
import { fdLimitError, toErrorInfo, type SluiceError } from '../core/errors.js';

export const dedupeOptions = z.strictObject({
  key: z.enum(['path+size+mtime', 'content', 'none']).default('path+size+mtime')
    .describe('path+size+mtime: path below its root, size and mtime (no reading); content: sha256 of the bytes (renamed files stay done); none: skip nothing, every item runs every time (results are still recorded). A pipeline without a dedupe stage gets path+size+mtime'),
});
export type DedupeOptions = z.output<typeof dedupeOptions>;

export const spec: ComponentSpec = {
  kind: 'stage',
  name: 'dedupe',
  description: 'Give each item its checkpoint key and drop the ones an earlier run already finished (counted as skipped). O(1) per item. On by default: a pipeline without this stage dedupes with the default key; `key: none` turns it off.',
  options: dedupeOptions,
};

interface DoneLookup {
  isDone(key: string): boolean;
}

/**
 * Keys items; passes on only those `done` does not know. Content keys are read under
 * `timeoutMs` (the item's timeout), through core/input.ts (no FIFO or device is ever read).
 * A file it cannot hash is keyed by path+size+mtime and passed on: to fail in the map stage with
 * its real cause, or, when the hash timed out, already failed (`item.failure`: not read again).
 * Out of file descriptors stops the run.
 */
export class Dedupe extends Transform {
  skipped = 0;
  constructor(private readonly done: DoneLookup, private readonly mode: KeyMode, private readonly onSkip: (item: Item) => void = () => {},
    private readonly timeoutMs = 60_000, private readonly hash = contentKey) {
    super({ objectMode: true, highWaterMark: 16 });
  }

  override _transform(item: Item, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.mode === 'path+size+mtime') {
      this.route(item, metaKey(item), cb);
    } else {
      contentKeyWithin(item, this.timeoutMs, this.hash).then(
        (key) => this.route(item, key, cb),
        (err: unknown) => {
          const fd = fdLimitError(err, `hashing ${item.path}`);
          if (fd) return cb(fd);
          if ((err as SluiceError).code === 'SLUICE_E_TIMEOUT') item.failure = toErrorInfo(err);
          this.route(item, metaKey(item), cb);
        },
      );
    }
  }

  private route(item: Item, key: string, cb: TransformCallback): void {
    item.key = key;
    if (this.done.isDone(key)) {
      this.skipped++;
      this.onSkip(item);
      cb();
    } else {
      cb(null, item);
    }
  }
}
