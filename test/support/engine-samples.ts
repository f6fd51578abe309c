// The check every PDF text engine passes on the sample documents: the result fields and page
// count of engine pdfjs, and at least 90% of the words pdfjs finds in each sample.
import fs from 'node:fs';
import path from 'node:path';
import pdfText from '../../lib/processors/pdf-text.js';
import { options as pdfTextOptions } from '../../lib/processors/pdf-text.spec.js';
import { ItemContext } from '../../lib/worker/context.js';
import { SAMPLES } from '../helpers.js';

interface Asserts {
  ok(v: unknown, msg: string): unknown;
  same(a: unknown, b: unknown, msg: string): unknown;
  equal(a: unknown, b: unknown, msg: string): unknown;
}

const words = (s: string) => s.toLowerCase().split(/\s+/).filter(Boolean);

/** Run `engine` and pdfjs on every sample; `more` checks the engine's own result further. */
export async function sameAsPdfjsOnSamples(t: Asserts, engine: string, more?: (text: string) => void): Promise<void> {
  const samples = fs.readdirSync(SAMPLES).filter((f) => f.endsWith('.pdf')).map((f) => path.join(SAMPLES, f));
  t.ok(samples.length >= 10, `${samples.length} samples`);
  const run = (file: string, e: string) => pdfText({ path: file, file, rel: path.basename(file), size: fs.statSync(file).size, mtime_ms: 1 },
    new ItemContext(pdfTextOptions.parse({ engine: e }), null, (p: string) => p));
  for (const f of samples) {
    const a = await run(f, 'pdfjs');
    const b = await run(f, engine);
    t.same(Object.keys(b).sort(), Object.keys(a).sort(), `${path.basename(f)}: same fields`);
    t.equal(b.pages, a.pages, `${path.basename(f)}: same page count`);
    t.equal(b.chars, String(b.text).length, `${path.basename(f)}: chars is the text's length`);
    more?.(String(b.text));
    const theirs = new Set(words(String(b.text)));
    const ours = words(String(a.text));
    const found = ours.filter((w) => theirs.has(w)).length;
    t.ok(ours.length === 0 || found / ours.length >= 0.9, `${path.basename(f)}: ${found} of ${ours.length} words`);
  }
}
