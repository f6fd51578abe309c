// Durations: units, bare seconds (as timeout(1) takes them), decimals, and errors naming the forms.
import t from 'tap';
import { parseDuration } from '../../lib/core/duration.js';
import { ConfigError, parsePipeline } from '../../lib/run/config.js';

const pipeline = (timeout: string) => `version: 1
name: d
source:
  walk: { roots: [docs] }
stages:
  - dedupe: {}
  - map:
      processor: sha256
      timeout: ${timeout}
`;

t.test('parseDuration reads units, bare seconds and decimals; anything else is not a duration', async (t) => {
  t.equal(parseDuration('500ms'), 500);
  t.equal(parseDuration('30s'), 30_000);
  t.equal(parseDuration('2m'), 120_000);
  t.equal(parseDuration('1.5h'), 5_400_000);
  t.equal(parseDuration('5'), 5000, 'bare seconds, as timeout 5');
  t.equal(parseDuration(' 2.5 '), 2500, 'decimal seconds');
  t.equal(parseDuration(3), 3000, 'a number is seconds');
  t.equal(parseDuration(0.25), 250);
  for (const bad of ['', 'fast', '-1', '5x', '1e3', 's', '.5', '5 s s', '9'.repeat(400)]) t.equal(parseDuration(bad), undefined, JSON.stringify(bad.slice(0, 12)));
  for (const bad of [-1, Infinity, NaN, 1e21]) t.equal(parseDuration(bad), undefined, String(bad));
});

t.test('a pipeline file takes timeout: 5 and timeout: 2.5 as seconds', async (t) => {
  for (const [text, ms] of [['5', 5000], ['2.5', 2500], ['"5"', 5000], ['90s', 90_000]] as const) {
    const cfg = parsePipeline(pipeline(text), 'p.yaml', '/base');
    t.equal(parseDuration(cfg.map.timeout), ms, `timeout: ${text}`);
  }
});

t.test('a bad duration names the key, the line and the accepted forms, whatever its type', async (t) => {
  for (const [text, shown] of [['fast', '"fast"'], ['-3', '-3'], ['[1]', 'a list'], ['{ s: 1 }', 'a mapping'], ['true', 'true'], ['1e400', 'Infinity']]) {
    const e = t.throws(() => parsePipeline(pipeline(text), 'p.yaml', '/b')) as unknown as ConfigError;
    t.equal(e.issues.length, 1, text);
    t.equal(e.issues[0]?.message, `expected a duration like "30s", "500ms", "2m" or a number of seconds, got ${shown}`, text);
    t.match(e.message, /stages\[1\]\.map\.timeout: .*\(line 9\)/, text);
  }
});
