import { pipelineJsonSchema } from '../run/config.js';

export function schemaCommand(): number {
  process.stdout.write(JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', title: 'sluice pipeline', ...(pipelineJsonSchema() as object) }, null, 2) + '\n');
  return 0;
}
