// A throwaway thread that loads the run's processor once (see check.ts) and says how it went:
// for a defineProcessor module, also what it declares and whether the run's options suit it.
import { parentPort, workerData } from 'node:worker_threads';
import { z } from '../core/zod.js';
import { check } from '../core/schema-util.js';
import { loadProcessor } from './load.js';
import type { CheckReply } from './check.js';

const { spec, options } = workerData as { spec: string; options?: Record<string, unknown> };
let reply: CheckReply;
try {
  const fn = await loadProcessor(spec);
  const def = fn.definition;
  reply = { ok: true };
  if (def) {
    reply.info = {
      name: def.name, description: def.description ?? '', accepts: def.accepts ? [...def.accepts] : undefined,
      options: def.options ? z.toJSONSchema(def.options as z.ZodType, { io: 'input', unrepresentable: 'any' }) : null,
    };
    if (def.options && options) {
      const r = check(def.options as z.ZodType, options, ['map', 'options']);
      if (!r.ok) reply.issues = r.issues;
    }
  }
} catch (err) {
  const e = err as { name?: string; message?: string; code?: string };
  reply = { ok: false, name: e?.name ?? 'Error', message: e?.message ?? String(err), code: e?.code ?? null };
}
parentPort!.postMessage(reply);
