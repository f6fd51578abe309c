import { countFiles, makePlan, type Plan } from '../run/plan.js';
import { configFromArgs, modeOf, type RunArgs } from './run.js';

function formatPlan(p: Plan): string {
  const lines = [
    `pipeline ${p.pipeline} (processor ${p.processor}, config ${p.config_hash}), state ${p.state}, mode ${p.mode}`,
    `found ${p.found}: ${p.done} already done, ${p.todo} to do (${formatBytes(p.todo_bytes)})`,
  ];
  if (p.config_changed) lines.push(p.stages ? 'a stage changed since the last run: a run redoes every item, from the first stage whose record no longer holds' : 'the processor or its options changed since the last run: a run redoes everything (--keep-done keeps the done items)');
  if (p.stages) lines.push(`stages (items that would run each, at most): ${p.stages.map((s) => `${s.name} ${s.run ?? '?'}`).join(', ')}${p.stages.some((s) => s.run === null) ? ' (? after a fan-out: its children are not known before it runs)' : ''}`);
  return lines.join('\n') + '\n';
}

function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

export async function planCommand(a: RunArgs & { json?: boolean; count?: boolean }): Promise<number> {
  const cfg = configFromArgs(a);
  if (a.count) {
    const c = await countFiles(cfg, a.state);
    process.stdout.write(a.json ? JSON.stringify(c) + '\n' : `found ${c.found} (names only: no file stat'ed, nothing looked up)\n`);
    return 0;
  }
  const p = await makePlan(cfg, { stateDir: a.state, mode: modeOf(a), keepDone: !!a.keepDone });
  process.stdout.write(a.json ? JSON.stringify(p) + '\n' : formatPlan(p));
  return 0;
}
