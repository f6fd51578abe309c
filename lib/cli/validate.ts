import { loadPipelineFile } from '../run/config.js';
import { checkReportPath, stateDirFor } from '../run/state-dir.js';
import { defaultConcurrency } from '../stages/map.js';
import { checkProcessors, isMultiStage } from '../stages/chain.js';

/**
 * Exit 0 with a one-line description, or throw ConfigError (exit 2) naming every bad key, or
 * SLUICE_E_PROCESSOR_LOAD (exit 2) when the processor module cannot load.
 */
export async function validateCommand(file: string, json: boolean): Promise<number> {
  const cfg = loadPipelineFile(file);
  checkReportPath(cfg, stateDirFor(cfg)); // a report that would overwrite the checkpoint or an input
  await checkProcessors(cfg.chain);
  if (json) {
    process.stdout.write(JSON.stringify({ v: 1, type: 'valid', pipeline: cfg.name, file, processor: cfg.map.processor }) + '\n');
  } else {
    const several = isMultiStage(cfg.chain);
    const stages = [cfg.dedupe ? `dedupe(${cfg.dedupe.key})` : null, ...cfg.chain.map((st) => {
      const name = several ? `${st.name}: ` : '';
      if (st.kind === 'filter') return `filter(${name}${Object.keys(st.filter).filter((k) => k !== 'name').join(', ') || 'keeps all'})`;
      return `map(${name}${st.map.processor}, concurrency ${st.map.concurrency ?? `${defaultConcurrency()} (cores)`}, timeout ${st.map.timeout})`;
    })].filter(Boolean);
    process.stdout.write(`${file}: valid pipeline "${cfg.name}": walk -> ${stages.join(' -> ')}\n`);
  }
  return 0;
}
