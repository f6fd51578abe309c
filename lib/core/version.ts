import fs from 'node:fs';

// dist/lib/core/version.js -> package.json at the top
export const VERSION: string = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
