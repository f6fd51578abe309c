import { z } from './zod.js';
import type { ComponentSpec } from './spec.js';
import { spec as walk } from '../stages/walk-spec.js';
import { spec as stdin } from '../stages/stdin.js';
import { spec as dedupe } from '../stages/dedupe.js';
import { spec as map } from '../stages/map.js';
import { spec as report } from '../stages/report.js';
import { BUILTIN_PROCESSORS } from '../processors/index.js';

/** Every source, stage and processor, in pipeline order: drives `sluice stages` and the docs. */
export function components(): ComponentSpec[] {
  return [walk, stdin, dedupe, map, report, ...Object.values(BUILTIN_PROCESSORS).map((p) => p.spec)];
}

export interface OptionDoc { name: string; type: string; default?: unknown; required: boolean; description: string }

/** Options of a component, flattened one level deep (retries.max), from its schema. */
export function optionDocs(spec: ComponentSpec): OptionDoc[] {
  const js = z.toJSONSchema(spec.options, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
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
  additionalProperties?: unknown;
}

function typeName(s: JsonSchema): string {
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' | ');
  if (s.type === 'array') return `list of ${s.items ? typeName(s.items) : 'any'}`;
  if (s.type === 'string' && s.pattern?.includes('ms|s|m|h')) return 'duration';
  if (Array.isArray(s.type)) return s.type.join(' | ');
  return s.type ?? 'any';
}
