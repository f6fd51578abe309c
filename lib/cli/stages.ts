import { components, optionDocs } from '../run/registry.js';
import { referenceMarkdown } from '../run/docs.js';

export function stagesCommand(json: boolean, markdown = false): number {
  if (markdown) {
    process.stdout.write(referenceMarkdown());
    return 0;
  }
  const list = components().map((c) => ({ kind: c.kind, name: c.name, description: c.description, ...(c.here ? { here: c.here() } : {}), options: optionDocs(c) }));
  if (json) {
    for (const c of list) process.stdout.write(JSON.stringify({ v: 1, type: 'component', ...c }) + '\n');
    return 0;
  }
  const lines: string[] = [];
  for (const c of list) {
    lines.push(`${c.kind} ${c.name}`, `  ${c.description}`);
    if (c.here) lines.push(`  Here: ${c.here}`);
    for (const o of c.options) {
      const def = o.default !== undefined ? ` (default ${JSON.stringify(o.default)})` : o.required ? ' (required)' : '';
      lines.push(`    ${o.name}: ${o.type}${def}${o.description ? ` - ${o.description}` : ''}`);
    }
    lines.push('');
  }
  process.stdout.write(lines.join('\n'));
  return 0;
}
