import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';

const require = createRequire(import.meta.url);
const STANDARD_FONTS = path.join(path.dirname(require.resolve('pdfjs-dist/package.json')), 'standard_fonts') + '/';

parentPort!.on('message', async ({ file, out }: { file: string; out: string }) => {
  try {
    const data = new Uint8Array(await fs.promises.readFile(file));
    const doc = await getDocument({ data, isEvalSupported: false, verbosity: 0, standardFontDataUrl: STANDARD_FONTS, useSystemFonts: false, disableFontFace: true, stopAtErrors: false }).promise;
    const texts: string[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      let text = '';
      for (const it of content.items) if ('str' in it) { text += it.str; if (it.hasEOL) text += '\n'; }
      texts.push(text);
      page.cleanup();
    }
    await fs.promises.mkdir(path.dirname(out), { recursive: true });
    await fs.promises.writeFile(out, texts.join('\f'));
    const pages = doc.numPages;
    await doc.destroy();
    parentPort!.postMessage({ pages });
  } catch (err) {
    parentPort!.postMessage({ error: (err as Error).message });
  }
});
