import type { ComponentSpec } from '../core/spec.js';
import * as noop from './noop.js';
import * as sha256 from './sha256.js';
import * as pdfText from './pdf-text.js';
import * as pdfInfo from './pdf-info.js';
import * as exec from './exec.js';
import { loadPdfJs } from './pdf.js';

export interface BuiltinProcessor {
  spec: ComponentSpec;
  /** the module, and what its first item would otherwise wait for (pdfjs), loaded in a worker */
  load(): Promise<{ default: unknown }>;
}

// Each module loads pdfjs lazily, so importing this table is cheap in the main thread; a worker
// loads it with the processor, while it boots (see the preload in worker/runtime.ts).
export const BUILTIN_PROCESSORS: Record<string, BuiltinProcessor> = Object.assign(Object.create(null) as object, {
  'pdf-text': { spec: pdfText.spec, load: async () => (await loadPdfJs(), pdfText) },
  'pdf-info': { spec: pdfInfo.spec, load: async () => (await loadPdfJs(), pdfInfo) },
  sha256: { spec: sha256.spec, load: async () => sha256 },
  noop: { spec: noop.spec, load: async () => noop },
  exec: { spec: exec.spec, load: async () => exec },
});
