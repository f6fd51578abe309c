import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { referenceMarkdown } from '../lib/run/docs.js';
import { components, optionDocs } from '../lib/run/registry.js';
import { ERROR_CODES } from '../lib/core/errors.js';
import { ROOT } from './helpers.js';

t.test('docs/reference.md is what the schemas say (regenerate: sluice stages --markdown > docs/reference.md)', async (t) => {
  t.equal(fs.readFileSync(path.join(ROOT, 'docs/reference.md'), 'utf8'), referenceMarkdown());
});

t.test('every component and option has a description', async (t) => {
  for (const c of components()) {
    t.ok(c.description.length > 20, `${c.kind} ${c.name} is described`);
    for (const o of optionDocs(c)) t.ok(o.description.length > 5, `${c.name}.${o.name} is described`);
  }
});

t.test('every error code is documented and used', async (t) => {
  const src = fs.readdirSync(path.join(ROOT, 'lib'), { recursive: true }).map(String).filter((f) => f.endsWith('.ts'))
    .map((f) => fs.readFileSync(path.join(ROOT, 'lib', f), 'utf8')).join('\n');
  for (const code of Object.keys(ERROR_CODES)) {
    // the table spells codes unquoted; a quoted one is a place that raises it
    t.ok(src.includes(`'${code}'`), `${code} is raised somewhere in lib/`);
  }
  const events = fs.readFileSync(path.join(ROOT, 'docs/events.md'), 'utf8');
  for (const type of ['start', 'result', 'progress', 'warning', 'summary']) t.match(events, `| \`${type}\` |`, `event ${type} documented`);
});
