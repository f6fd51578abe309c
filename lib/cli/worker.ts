import { runQueueWorker } from '../queue/worker.js';
import { parseDuration, DURATION_FORMS } from '../core/duration.js';
import { SluiceError } from '../core/errors.js';
import { defaultConcurrency } from '../stages/map.js';

/** `sluice worker --queue URL`: NDJSON on stdout (a line per item, one at the start and the end), messages on stderr. */
export async function workerCommand(a: { queue: string; concurrency?: number; grace: string; progressInterval: string }, signal: AbortSignal): Promise<number> {
  const graceMs = parseDuration(a.grace);
  if (graceMs === undefined) throw new SluiceError('SLUICE_E_USAGE', `--grace: expected ${DURATION_FORMS}, got ${JSON.stringify(a.grace)}`);
  const progressMs = parseDuration(a.progressInterval);
  if (progressMs === undefined) throw new SluiceError('SLUICE_E_USAGE', `--progress-interval: expected ${DURATION_FORMS}, got ${JSON.stringify(a.progressInterval)}`);
  if (a.concurrency !== undefined && (!Number.isInteger(a.concurrency) || a.concurrency < 1)) throw new SluiceError('SLUICE_E_USAGE', `--concurrency: expected a whole number >= 1, got ${a.concurrency}`);
  return runQueueWorker({
    url: a.queue, concurrency: a.concurrency ?? defaultConcurrency(), graceMs, progressMs, signal,
    write: (line) => process.stdout.write(line + '\n'),
    say: (line) => process.stderr.write(line + '\n'),
  });
}
