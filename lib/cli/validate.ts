import { loadPipelineFile } from '../core/config.js';
import { checkReportPath, stateDirFor } from '../core/pipeline.js';
import { defaultConcurrency } from '../stages/map.js';

/** Exit 0 with a one-line description, or throw ConfigError (exit 2) naming every bad key. */
export function validateCommand(file: string, json: boolean): number {
  const cfg = loadPipelineFile(file);
  checkReportPath(cfg, stateDirFor(cfg)); // a report that would overwrite the checkpoint or an input
  if (json) {
    process.stdout.write(JSON.stringify({ v: 1, type: 'valid', pipeline: cfg.name, file, processor: cfg.map.processor }) + '\n');
  } else {
    const stages = [cfg.dedupe ? `dedupe(${cfg.dedupe.key})` : null, `map(${cfg.map.processor}, concurrency ${cfg.map.concurrency ?? `${defaultConcurrency()} (cores)`}, timeout ${cfg.map.timeout})`].filter(Boolean);
    process.stdout.write(`${file}: valid pipeline "${cfg.name}": walk -> ${stages.join(' -> ')}\n`);
  }
  return 0;
}
