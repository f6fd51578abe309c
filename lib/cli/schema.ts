import path from 'node:path';
import { pipelineJsonSchema } from '../run/config.js';
import { moduleProcessors } from '../run/registry.js';

/**
 * The pipeline file's JSON Schema. With processor modules (`--processor FILE`), each one's options
 * schema goes under `$defs` (`processor-<name>`), and a map stage whose `processor` ends with that
 * file's name gets its `options` checked against it.
 */
export async function schemaCommand(processors: string[] = []): Promise<number> {
  const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'sluice pipeline', ...(pipelineJsonSchema() as object) } as Record<string, any>;
  const mods = await moduleProcessors(processors);
  if (mods.length) {
    const defs: Record<string, unknown> = { ...schema.$defs };
    const rules: unknown[] = [];
    mods.forEach(({ info }, i) => {
      const { $schema: _, ...options } = (info.options ?? {}) as Record<string, unknown>;
      const def = `processor-${info.name}`;
      defs[def] = { description: `map.options of processor ${info.name}: ${info.description}`, ...options };
      const file = path.basename(processors[i]!);
      rules.push({
        if: { properties: { processor: { type: 'string', pattern: `(^|/)${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` } }, required: ['processor'] },
        then: { properties: { options: { $ref: `#/$defs/${def}` } } },
      });
    });
    schema.$defs = defs;
    const entries = schema.properties.stages.items.anyOf as { properties: Record<string, Record<string, unknown>> }[];
    const map = entries.find((e) => e.properties.map)!.properties.map!;
    map.allOf = rules;
  }
  process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
  return 0;
}
