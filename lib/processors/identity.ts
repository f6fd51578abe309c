import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { BUILTIN_PROCESSORS, isBuiltin } from './index.js';

/**
 * What a processor with its options is, wherever it runs: the one rule that the run's config
 * fingerprint (which items are done) and a queue job's fingerprint (which worker may run it) are
 * made of. A built-in's version is sluice's; a processor file's is its content (moving it changes
 * nothing, editing it does); options count less those at a built-in's default, with keys sorted.
 */

/** `v` with every object's keys sorted (arrays keep their order): the same JSON for the same value. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** sha256 of a file's content, or its path when it cannot be read here (the worker that loads it says why). */
export function fileDigest(file: string): string {
  try {
    return strictFileDigest(file);
  } catch {
    return file;
  }
}

/** sha256 of a file's content; throws (with the reason) when it cannot be read. */
export function strictFileDigest(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * The options that decide an item's result: a built-in processor's options less those at their
 * default, so that an option a later version adds, left at its default, redoes nothing (a change
 * of what a processor gives is its version's to announce). A processor file's, as written.
 */
export function fingerprintOptions(map: { processor: string; options: Record<string, unknown> }): Record<string, unknown> {
  const proc = isBuiltin(map.processor) ? BUILTIN_PROCESSORS[map.processor] : undefined;
  if (!proc) return map.options;
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(map.options)) {
    const rest = { ...map.options };
    delete rest[k];
    const r = proc.spec.options.safeParse(rest);
    if (r.success && JSON.stringify(sortKeys((r.data as Record<string, unknown>)[k])) === JSON.stringify(sortKeys(v))) continue;
    kept[k] = v;
  }
  return kept;
}

/** A processor as the fingerprints know it (`processor`: a built-in's name or a module's absolute path). */
export function processorId(processor: string, version: string, digest: (file: string) => string = fileDigest): string {
  return isBuiltin(processor) ? `builtin:${processor}@${version}` : `file:${digest(processor)}`;
}

/** A map stage's identity: its processor and the options that decide its results. */
export function mapIdentity(map: { processor: string; options: Record<string, unknown> }, version: string, digest?: (file: string) => string): unknown {
  return ['map', processorId(map.processor, version, digest), sortKeys(fingerprintOptions(map))];
}
