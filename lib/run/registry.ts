import { z } from '../core/zod.js';
import type { ComponentSpec } from '../core/spec.js';
import { DURATION_RE } from '../core/duration.js';
import { spec as walk } from '../stages/walk/spec.js';
import { spec as stdin } from '../stages/stdin.js';
import { spec as dedupe } from '../stages/dedupe.js';
import { spec as map } from '../stages/map.js';
import { spec as filter } from '../stages/filter.js';
import { spec as report } from './report.js';
import { BUILTIN_PROCESSORS, resolveProcessor } from '../processors/index.js';
import { checkProcessor, type ProcessorInfo } from '../worker/check.js';
import { checkpointSpec, outputSpec } from './config.js';

/** Every source, stage and processor, in pipeline order, then the other top-level keys: drives `sluice stages` and the docs. */
export function components(): ComponentSpec[] {
  return [walk, stdin, dedupe, map, filter, ...Object.values(BUILTIN_PROCESSORS).map((p) => p.spec), outputSpec, checkpointSpec, report];
}

/** How a kind reads in the docs. */
export const KIND_LABEL: Record<ComponentSpec['kind'], string> = { source: 'source', stage: 'stage', processor: 'processor', key: 'top-level key' };

interface OptionDoc { name: string; type: string; default?: unknown; required: boolean; description: string }

/** Options of a component, flattened one level deep (retries.max), from its schema. */
export function optionDocs(spec: ComponentSpec): OptionDoc[] {
  return optionDocsOf(z.toJSONSchema(spec.options, { io: 'input', unrepresentable: 'any' }));
}

/** The same from an options schema already in JSON Schema form (a processor module's, from its checking thread). */
export function optionDocsOf(schema: unknown): OptionDoc[] {
  const js = (schema ?? {}) as JsonSchema;
  const out: OptionDoc[] = [];
  const walkProps = (s: JsonSchema, prefix: string) => {
    for (const [k, v] of Object.entries(s.properties ?? {})) {
      const name = prefix + k;
      out.push({ name, type: typeName(v), ...(v.default !== undefined ? { default: v.default } : {}), required: (s.required ?? []).includes(k) && v.default === undefined, description: v.description ?? '' });
      if (v.type === 'object' && v.properties) walkProps(v, name + '.');
    }
  };
  walkProps(js, '');
  return out;
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  pattern?: string;
  anyOf?: JsonSchema[];
  additionalProperties?: unknown;
  const?: unknown;
}

function typeName(s: JsonSchema): string {
  if (s.anyOf?.some((a) => a.pattern === DURATION_RE.source)) return 'duration';
  if (s.anyOf) return s.anyOf.map(typeName).join(' | ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' | ');
  if (s.type === 'array') return `list of ${s.items ? typeName(s.items) : 'any'}`;
  if (Array.isArray(s.type)) return s.type.join(' | ');
  return s.type ?? 'any';
}

/** Processor modules named on the command line, loaded (each in a thread of its own) for what they declare. */
export async function moduleProcessors(files: string[]): Promise<{ file: string; info: ProcessorInfo }[]> {
  const out: { file: string; info: ProcessorInfo }[] = [];
  for (const f of files) {
    const file = resolveProcessor(f.startsWith('/') || f.startsWith('.') ? f : './' + f, process.cwd());
    const info = await checkProcessor(file);
    out.push({ file, info: info ?? { name: f, description: 'a processor module without a definition (a default export function): no options schema', options: null } });
  }
  return out;
}
