import { components, moduleProcessors, optionDocs, optionDocsOf } from '../run/registry.js';
import { referenceMarkdown } from '../run/docs.js';
import { defaultDisplay } from '../core/fsx.js';

export async function stagesCommand(json: boolean, markdown = false, processors: string[] = []): Promise<number> {
  if (markdown) {
    process.stdout.write(referenceMarkdown());
    return 0;
  }
  const list: { kind: string; name: string; description: string; here?: string; file?: string; options: ReturnType<typeof optionDocs> }[] =
    components().map((c) => ({ kind: c.kind, name: c.name, description: c.description, ...(c.here ? { here: c.here() } : {}), options: optionDocs(c) }));
  // processor modules given with --processor go after the built-in processors
  const at = list.findLastIndex((c) => c.kind === 'processor') + 1;
  const mods = (await moduleProcessors(processors)).map(({ file, info }) => ({
    kind: 'processor', name: info.name, description: info.description, file: defaultDisplay(file), options: optionDocsOf(info.options),
  }));
  list.splice(at, 0, ...mods);
  if (json) {
    for (const c of list) process.stdout.write(JSON.stringify({ v: 1, type: 'component', ...c }) + '\n');
    return 0;
  }
  const lines: string[] = [];
  for (const c of list) {
    lines.push(`${c.kind} ${c.name}${c.file ? ` (${c.file})` : ''}`, `  ${c.description}`);
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
