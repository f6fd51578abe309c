import { pipelineJsonSchema } from '../run/config.js';
import { moduleProcessors } from '../run/registry.js';

/** The pipeline file's JSON Schema; with processor modules, each one's options schema under `$defs` (`processor-<name>`). */
export async function schemaCommand(processors: string[] = []): Promise<number> {
  const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'sluice pipeline', ...(pipelineJsonSchema() as object) } as Record<string, unknown>;
  const mods = await moduleProcessors(processors);
  if (mods.length) {
    const defs = { ...(schema.$defs as object | undefined) } as Record<string, unknown>;
    for (const { info } of mods) defs[`processor-${info.name}`] = { description: `map.options of processor ${info.name}: ${info.description}`, ...(info.options as object ?? {}) };
    schema.$defs = defs;
  }
  process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
  return 0;
}
