// Hostile pipeline data and flags: reserved keys anywhere, --set indexes, files that are not pipelines.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, parsePipeline } from '../../lib/run/config.js';
import { applyOverrides, setPath } from '../../lib/cli/overrides.js';
import { sluice, tmpDir } from '../helpers.js';

const RESERVED = ['__proto__', 'constructor', 'prototype'];

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw err;
  }
  return [];
}

const yamlWithOptions = (opts: string, processor = './mod.mjs') =>
  `version: 1\nname: p\nsource: { walk: { roots: [docs] } }\nstages:\n  - map:\n      processor: ${processor}\n      options: ${opts}\n`;

t.test('a reserved key in map.options is a validation error naming the key, in YAML, JSON and flags alike', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'mod.mjs'), 'export default async () => ({})\n');
  for (const key of RESERVED) {
    for (const processor of ['./mod.mjs', 'noop']) {
      const found = issues(() => parsePipeline(yamlWithOptions(`{ ${key}: { polluted: true }, fine: 1 }`, processor), 'p.yaml', dir));
      t.match(found, [new RegExp(`^stages\\.0\\.map\\.options\\.${key}: key "${key}" is not allowed`)], `YAML, ${processor}: ${key} reported`);
    }
    const json = `{"version":1,"name":"p","source":{"walk":{"roots":["docs"]}},"stages":[{"map":{"processor":"./mod.mjs","options":{"deep":{"${key}":{"polluted":true}}}}}]}`;
    t.match(issues(() => parsePipeline(json, 'p.json', dir)), [new RegExp(`^stages\\.0\\.map\\.options\\.deep\\.${key}: key "${key}" is not allowed`)], `JSON, nested: ${key} reported`);
    t.match(issues(() => parsePipeline(json, '(command line)', dir, undefined, true)), [new RegExp(`options\\.deep\\.${key}: key "${key}" is not allowed`)], `flags JSON: ${key} reported`);
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
});

t.test('--set: a reserved key anywhere in the path, or in the value, is refused by name; nothing is polluted', async (t) => {
  for (const key of RESERVED) {
    for (const p of [`${key}.polluted=1`, `stages[0].${key}.polluted=1`, `source.walk.${key}=1`]) {
      t.throws(() => setPath({}, p), { code: 'SLUICE_E_USAGE', message: new RegExp(`key "${key}" is not allowed`) }, p);
    }
    const raw: Record<string, unknown> = JSON.parse('{"version":1,"name":"p","source":{"walk":{"roots":["docs"]}},"stages":[{"map":{"processor":"noop"}}]}');
    const text = JSON.stringify(raw);
    t.match(issues(() => parsePipeline(text, '(command line)', '/', (r) => applyOverrides(r, { set: [`stages[0].map.options={${key}: {polluted: true}}`] }), true)),
      [new RegExp(`options\\.${key}: key "${key}" is not allowed`)], `a --set value holding ${key}`);
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
});

t.test('--set list indexes are bounded by the list: one past the end appends, further is a clear error, no allocation', async (t) => {
  const raw = () => ({ stages: [{ dedupe: {} }, { map: { processor: 'noop' } }] as unknown[] });
  const r = raw();
  setPath(r, 'stages[1].map.timeout=30s');
  t.same(r.stages[1], { map: { processor: 'noop', timeout: '30s' } });
  setPath(r, 'stages[2].map.processor=noop');
  t.equal(r.stages.length, 3, '[length] appends one entry');
  for (const big of ['stages[10000000].map.timeout=1s', 'stages[4].x=1', 'stages[99999999999999999999]=1']) {
    const before = raw();
    t.throws(() => setPath(before, big), { code: 'SLUICE_E_USAGE', message: /--set stages\[\d+\].*: index \d+ is past the end of stages \(2 entries; \[2\] adds one\)/ }, big);
    t.equal(before.stages.length, 2, `${big}: the list is unchanged`);
  }
  t.throws(() => setPath({ source: { walk: { roots: [] } } }, 'source.walk.roots[1]=x'), /index 1 is past the end of source\.walk\.roots \(0 entries; \[0\] adds one\)/);
  t.throws(() => setPath({ stages: { a: 1 } }, 'stages[0]=x'), /stages is not a list/);
  setPath(r, 'source.walk.roots[0]=docs');
  t.same((r as Record<string, any>).source.walk.roots, ['docs'], 'a new list starts at [0]');
});

t.test('validate never prints the content of a file that is not a pipeline; it names the position', async (t) => {
  const dir = tmpDir();
  const secrets: Record<string, string> = {
    '.env': 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCY\nDB_PASSWORD=hunter2-correct-horse\n',
    'id_ed25519': '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n',
    'netrc': 'machine example.com login me password p4ssw0rdXYZ\n',
    'list.yaml': '- p4ssw0rdXYZ\n- hunter2-correct-horse\n',
    'tagged.yaml': 'token: !p4ssw0rdXYZ value\n',
    'block.yaml': 'key: |p4ssw0rdXYZ\n  text\n',
    'broken.yaml': 'password: hunter2-correct-horse\n  [x: y\n',
    'binary.bin': Buffer.from([0, 1, 2, 0xff, 0xfe, 0x70, 0x34, 0x73, 0x73]).toString('latin1') + 'p4ssw0rdXYZ',
  };
  const needles = ['wJalrXUtnFEMIK7MDENG', 'hunter2', 'p4ssw0rd', 'b3BlbnNzaC1', 'BEGIN OPENSSH'];
  for (const [name, text] of Object.entries(secrets)) {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text, name.endsWith('.bin') ? 'latin1' : 'utf8');
    const commands = name === '.env' || name === 'broken.yaml' ? [['validate', f, '--json'], ['run', f, '--progress', 'none'], ['plan', f]] : [['validate', f]];
    for (const args of commands) {
      const r = await sluice(args, { cwd: dir });
      t.equal(r.code, 2, `${args[0]} ${name}: exit 2`);
      t.match(r.stderr, /invalid pipeline .*\n  .*\(line \d+/, `${args[0]} ${name}: the position is named`);
      const leaked = needles.filter((n) => r.stderr.includes(n) || r.stdout.includes(n));
      t.same(leaked, [], `${args[0]} ${name}: nothing of the file is printed`);
    }
  }
});

t.test('a YAML bomb (billion laughs) is refused quickly with a clear error, from a file and from --set', async (t) => {
  const dir = tmpDir();
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill('*' + String.fromCharCode(96 + i)).join(',')}]`);
  const f = path.join(dir, 'bomb.yaml');
  fs.writeFileSync(f, 'version: 1\nname: b\n' + laughs.join('\n') + '\n');
  const r = await sluice(['validate', f]);
  t.equal(r.code, 2);
  t.match(r.stderr, /Excessive alias count indicates a resource exhaustion attack/);
  // the same bomb as a --set value is not expanded either: it stays text, which the schema refuses
  fs.mkdirSync(path.join(dir, 'docs'));
  const value = `{${laughs.join(', ').replace(/: &/g, ': &')}}`;
  const s = await sluice(['plan', '--input', 'docs', '--processor', 'sha256', '--set', `stages[1].map.options=${value}`], { cwd: dir });
  t.equal(s.code, 2, s.stderr);
  t.match(s.stderr, /stages\[1\]\.map\.options: expected record, got/);
});
