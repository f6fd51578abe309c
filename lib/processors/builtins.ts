// The built-in processors as a worker loads them: by name, each module imported when first used.
//
// Invariant: nothing here, nor in the modules it loads, imports zod or a spec (X.spec.ts): a worker
// thread never pays for the config layer. Options reach a worker already parsed by the spec in the
// main thread (run/config.ts, run/compose.ts, the queue worker), and the modules read them as
// they come. processors/index.ts pairs each name with its spec for the main thread.
import path from 'node:path';

export interface BuiltinLoader {
  /** the module, and what its first item would otherwise wait for (the run's PDF engine); `options` are the run's, parsed */
  load(options?: Record<string, unknown>): Promise<{ default: unknown; classifyStray?: unknown }>;
  /** every item fans out (ctx.emit): one that emits no child ends at its stage (the spec says it too, from here) */
  fanOut?: true;
}

export const BUILTIN_LOADERS = {
  'pdf-text': { load: async (options?: Record<string, unknown>) => { const m = await import('./pdf-text.js'); await m.prepare(options); return m; } },
  'pdf-info': { load: async () => { const m = await import('./pdf-info.js'); await (await import('./pdf.js')).loadPdfJs(); return m; } },
  chunk: { load: () => import('./chunk.js'), fanOut: true },
  sha256: { load: () => import('./sha256.js') },
  noop: { load: () => import('./noop.js') },
  exec: { load: () => import('./exec.js') },
} satisfies Record<string, BuiltinLoader>;

export type BuiltinName = keyof typeof BUILTIN_LOADERS;

export function isBuiltin(spec: string): spec is BuiltinName {
  return Object.hasOwn(BUILTIN_LOADERS, spec);
}

/** A processor spec names a module file, not a built-in, when it starts with ./ ../ or /. */
export function isModulePath(spec: string): boolean {
  return /^(\.{1,2}\/|\/)/.test(spec);
}

/**
 * The one place a processor spec is resolved: a built-in name stays as it is; a module path
 * becomes absolute against `baseDir` (the pipeline file's folder; the cwd for --processor).
 * Resolved once, when the config is read: from then on the config carries the absolute path,
 * so the check that it exists, the config fingerprint and the worker's import all name the same
 * file, whatever the current directory.
 */
export function resolveProcessor(spec: string, baseDir: string): string {
  return isBuiltin(spec) ? spec : path.resolve(baseDir, spec);
}
