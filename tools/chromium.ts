// Debian's Chromium driven by playwright-core: for the HTML report's browser test and its screenshots.
import fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's chromium package puts the browser (`apt-get install chromium`); playwright-core downloads nothing. */
export const CHROMIUM_PATH = '/usr/lib/chromium/chromium';

export function hasChromium(): boolean {
  return fs.existsSync(CHROMIUM_PATH);
}

/** A headless Chromium; the caller closes it. No sandbox: tests run as root, and open only local files. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
}
