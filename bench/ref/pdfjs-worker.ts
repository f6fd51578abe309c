// One thread of the bare pdfjs loop (pdfjs-loop.ts): each PDF it is sent goes through the same
// extraction as `pdf-text -O engine=pdfjs` (the processor function itself: the same pdfjs options,
// CMaps, spacing and reading order from the glyph positions, the check for text pdfjs could not
// decode), and its text is written with a plain writeFile. No pool, no checkpoint, no output
// protocol (temp file, fsync, rename), no NDJSON: what is left of sluice's time is the pipeline's.
import fs from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import pdfText from '../../lib/processors/pdf-text.js';
import { options } from '../../lib/processors/pdf-text.spec.js';
import type { ProcessorContext, ProcessorItem } from '../../lib/core/processor.js';

// the options as sluice's main thread hands them to a worker: parsed by the spec, defaults filled in
const ctx = { options: options.parse({ engine: 'pdfjs' }), hasOutputDir: false } as unknown as ProcessorContext;

parentPort!.on('message', async ({ file, out }: { file: string; out: string }) => {
  try {
    const r = (await pdfText({ file, path: file, rel: path.basename(file) } as ProcessorItem, ctx)) as { pages: number; text: string };
    await fs.promises.mkdir(path.dirname(out), { recursive: true });
    await fs.promises.writeFile(out, r.text);
    parentPort!.postMessage({ pages: r.pages });
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message });
  }
});
