import { runQueueWorker } from '../queue/worker.js';
import { stageIdentity } from '../queue/protocol.js';
import { loadPipelineFile } from '../run/config.js';
import { parseDuration, DURATION_FORMS } from '../core/duration.js';
import { SluiceError } from '../core/errors.js';
import { defaultConcurrency } from '../stages/map.js';

/**
 * `sluice worker [PIPELINE] --queue URL`: NDJSON on stdout (a line per item, one at the start and
 * the end), messages on stderr. With a pipeline file, the worker runs only its map stages, with
 * their options (a job of another stage is refused, coded).
 */
export async function workerCommand(a: { pipeline?: string; queue: string; concurrency?: number; prefetch?: number; grace: string; progressInterval: string }, signal: AbortSignal): Promise<number> {
  const graceMs = parseDuration(a.grace);
  if (graceMs === undefined) throw new SluiceError('SLUICE_E_USAGE', `--grace: expected ${DURATION_FORMS}, got ${JSON.stringify(a.grace)}`);
  const progressMs = parseDuration(a.progressInterval);
  if (progressMs === undefined) throw new SluiceError('SLUICE_E_USAGE', `--progress-interval: expected ${DURATION_FORMS}, got ${JSON.stringify(a.progressInterval)}`);
  if (a.concurrency !== undefined && (!Number.isInteger(a.concurrency) || a.concurrency < 1)) throw new SluiceError('SLUICE_E_USAGE', `--concurrency: expected a whole number >= 1, got ${a.concurrency}`);
  if (a.prefetch !== undefined && (!Number.isInteger(a.prefetch) || a.prefetch < 0)) throw new SluiceError('SLUICE_E_USAGE', `--prefetch: expected a whole number >= 0, got ${a.prefetch}`);
  let pinned: { pipeline: string; stages: Set<string> } | undefined;
  if (a.pipeline !== undefined) {
    const cfg = loadPipelineFile(a.pipeline);
    try {
      pinned = { pipeline: a.pipeline, stages: new Set(cfg.chain.flatMap((s) => (s.kind === 'map' ? [stageIdentity(s.map)] : []))) };
    } catch (err) {
      throw new SluiceError('SLUICE_E_PROCESSOR_LOAD', `${a.pipeline}: ${(err as Error).message}`);
    }
  }
  return runQueueWorker({
    pinned, prefetch: a.prefetch,
    url: a.queue, concurrency: a.concurrency ?? defaultConcurrency(), graceMs, progressMs, signal,
    write: (line) => process.stdout.write(line + '\n'),
    say: (line) => process.stderr.write(line + '\n'),
  });
}
