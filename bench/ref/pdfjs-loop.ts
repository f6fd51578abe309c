// Reference for rows 4 and 9: a bare two-thread pdfjs-dist loop over a directory of PDFs, each
// through pdf-text's own extraction with engine pdfjs (pdfjs-worker.ts: the same pdfjs version,
// options and text layout), each text written to a file (plain writeFile, no fsync). No walk
// stage, no checkpoint, no NDJSON.
// Usage: node dist/bench/ref/pdfjs-loop.js DIR OUTDIR [threads]
// Prints one JSON line: files, pages, failed, wall_s, first_ms (first file done), pages_per_s.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const [dir, out] = [process.argv[2]!, process.argv[3]!];
const threads = Number(process.argv[4] ?? 2);
const t0 = performance.now();
const files = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.toLowerCase().endsWith('.pdf')).sort();
let next = 0;
let pages = 0;
let failed = 0;
let first = 0;
await Promise.all(Array.from({ length: threads }, () => new Promise<void>((resolve, reject) => {
  const w = new Worker(new URL('./pdfjs-worker.js', import.meta.url), { stdout: true });
  const feed = () => {
    if (next >= files.length) { void w.terminate().then(() => resolve()); return; }
    const f = files[next++]!;
    w.postMessage({ file: path.join(dir, f), out: path.join(out, f + '.txt') });
  };
  w.on('message', (m: { pages?: number; error?: string }) => {
    first ||= performance.now() - t0;
    if (m.error) failed++;
    else pages += m.pages!;
    feed();
  });
  w.on('error', reject);
  feed();
})));
const wall = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ ref: 'pdfjs-loop', files: files.length, pages, failed, threads, wall_s: wall, first_ms: first, pages_per_s: pages / wall }));
