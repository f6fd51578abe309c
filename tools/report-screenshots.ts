// Screenshots of the HTML report for the README (docs/report-*.png): the sample pipeline's run,
// and a run over the samples plus broken and hostile PDFs from the test fixtures.
// `npm run docs:screenshots` (needs Debian's chromium: apt-get install chromium).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SLUICE = path.join(ROOT, 'dist/bin/sluice.js');
const BROKEN = ['encrypted.pdf', 'truncated.pdf', 'random-bytes.pdf', 'html.pdf', 'kids-not-array.pdf', 'empty.pdf', 'xref-loop.pdf'];

function sluice(args: string[], cwd: string): void {
  try {
    execFileSync(process.execPath, [SLUICE, ...args], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (err) {
    if ((err as { status?: number }).status !== 1) throw err; // 1: some items failed, as meant
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-shots-'));
try {
  // the README's own first command, on a copy of pipelines/
  fs.cpSync(path.join(ROOT, 'pipelines'), path.join(dir, 'pipelines'), { recursive: true, filter: (f) => !/[/\\](out|\.sluice)$/.test(f) });
  sluice(['run', 'pipelines/pdf-text.yaml', '--progress', 'none'], dir);
  // the samples and some broken PDFs
  const mixed = path.join(dir, 'mixed');
  fs.cpSync(path.join(ROOT, 'pipelines/samples'), mixed, { recursive: true });
  fs.mkdirSync(path.join(mixed, 'inbox'));
  for (const f of BROKEN) fs.copyFileSync(path.join(ROOT, 'test/fixtures/pdf', f), path.join(mixed, 'inbox', f));
  sluice(['run', '--input', 'mixed', '--processor', 'pdf-text', '--state', 'st', '--progress', 'none', '--progress-interval', '250ms'], dir);
  sluice(['report', '--state', 'st', '-o', 'mixed.html'], dir);

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 }, deviceScaleFactor: 1 });
    for (const [html, png] of [['pipelines/out/report.html', 'report-sample.png'], ['mixed.html', 'report-failures.png']] as const) {
      await page.goto(new URL(`file://${path.join(dir, html)}`).href);
      await page.screenshot({ path: path.join(ROOT, 'docs', png), fullPage: true });
      console.log(`docs/${png}`);
    }
  } finally {
    await browser.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
