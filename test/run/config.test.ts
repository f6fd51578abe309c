import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, configHash, loadPipelineFile, parsePipeline, pipelineJsonSchema } from '../../lib/run/config.js';
import { fingerprintOptions } from '../../lib/processors/identity.js';
import { tmpDir } from '../helpers.js';

const base = `version: 1
name: docs
source:
  walk: { roots: [docs], include: ["**/*.pdf"] }
stages:
  - dedupe: { key: path+size+mtime }
  - map:
      processor: pdf-text
      timeout: 30s
`;

function issuesOf(text: string): string[] {
  try {
    parsePipeline(text, 'p.yaml', '/base');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '')}: ${i.message}${i.line ? ` @${i.line}` : ''}`);
    throw err;
  }
  return [];
}

t.test('a valid file resolves paths against its own directory and fills defaults', async (t) => {
  const cfg = parsePipeline(base, 'p.yaml', '/base');
  t.equal(cfg.name, 'docs');
  t.same(cfg.walk.roots, ['/base/docs']);
  t.same(cfg.walk.exclude, []);
  t.equal(cfg.walk.follow_symlinks, false);
  t.equal(cfg.dedupe?.key, 'path+size+mtime');
  t.equal(cfg.map.processor, 'pdf-text');
  t.equal(cfg.map.timeout, '30s');
  t.equal(cfg.map.options.max_pages, 5000, 'processor options get their defaults');
  t.equal(cfg.checkpoint.dir, '/base/.sluice');
  t.equal(cfg.outputDir, null);
});

t.test('a bad duration names the exact key and line', async (t) => {
  const msgs = issuesOf(base.replace('timeout: 30s', 'timeout: fast'));
  t.same(msgs, ['stages[1].map.timeout: expected a duration like "30s", "500ms", "2m" or a number of seconds, got "fast" @9']);
  const e = t.throws(() => parsePipeline(base.replace('timeout: 30s', 'timeout: fast'), 'p.yaml', '/b')) as unknown as ConfigError;
  t.match(e.message, /stages\[1\]\.map\.timeout: expected a duration like "30s", "500ms", "2m" or a number of seconds, got "fast" \(line 9\)/);
  t.equal(e.exitCode, 2);
});

t.test('unknown keys are errors, with a suggestion when close', async (t) => {
  t.same(issuesOf(base.replace('timeout: 30s', 'timout: 30s')), ['stages[1].map.timout: unknown key (did you mean "timeout"?) @9']);
  t.match(issuesOf(base + 'extra: 1\n')[0], /^extra: unknown key/);
  t.match(issuesOf(base.replace('dedupe:', 'dedup:'))[0], /^stages\[0\]\.dedup: unknown stage/);
});

t.test('wrong types and values name the path and what was expected', async (t) => {
  t.match(issuesOf(base.replace('version: 1', 'version: 2'))[0], /^version: expected one of 1, got 2/);
  t.match(issuesOf(base.replace('roots: [docs]', 'roots: docs'))[0], /^source\.walk\.roots: expected array, got "docs"/);
  t.match(issuesOf(base.replace('path+size+mtime', 'inode'))[0], /^stages\[0\]\.dedupe\.key: expected one of "path\+size\+mtime", "content", "none", got "inode"/);
  t.match(issuesOf(base.replace('processor: pdf-text', 'processor: ocr'))[0], /^stages\[1\]\.map\.processor: unknown processor "ocr"/);
  t.match(issuesOf(base + '      concurrency: 0\n')[0], /^stages\[1\]\.map\.concurrency: expected a value >= 1, got 0/);
  t.match(issuesOf(base + '      options: { max_pages: "many" }\n')[0], /^stages\[1\]\.map\.options\.max_pages: expected number, got "many"/);
  t.match(issuesOf(base.replace('name: docs', 'name: "../x"'))[0], /^name: expected a name of letters/);
});

t.test('structure errors: missing map, map before dedupe, missing keys', async (t) => {
  t.match(issuesOf(base.replace(/  - map:[\s\S]*$/, '')), ['stages: a map stage is required']);
  const swapped = base.replace('  - dedupe: { key: path+size+mtime }\n', '') + '  - dedupe: {}\n';
  t.match(issuesOf(swapped)[0], /stages\[1\]\.dedupe: dedupe must be the first stage/);
  t.match(issuesOf('version: 1\nname: x\nstages: [{map: {processor: noop}}]\n')[0], /^source: required/);
});

t.test('YAML-level problems: syntax, duplicate keys, non-mapping', async (t) => {
  t.match(issuesOf(base + 'name: again\n')[0], /Map keys must be unique/);
  t.ok(issuesOf('version: 1\nname: [unclosed\n').length > 0);
  t.match(issuesOf('- 1\n- 2\n')[0], /expected object, got a list/);
});

t.test('JSON pipeline files are accepted', async (t) => {
  const dir = tmpDir();
  const f = path.join(dir, 'p.json');
  fs.writeFileSync(f, JSON.stringify({ version: 1, name: 'j', source: { walk: { roots: ['.'] } }, stages: [{ map: { processor: 'noop' } }] }));
  const cfg = loadPipelineFile(f);
  t.equal(cfg.map.processor, 'noop');
  t.equal(cfg.dedupe?.key, 'path+size+mtime', 'no dedupe stage: the default key (resume is the default)');
  t.same(cfg.walk.roots, [dir]);
});

t.test('files: missing, too large, custom processor path must exist', async (t) => {
  const dir = tmpDir();
  t.throws(() => loadPipelineFile(path.join(dir, 'nope.yaml')), /cannot read: ENOENT/);
  const big = path.join(dir, 'big.yaml');
  fs.writeFileSync(big, '#'.repeat(1024 * 1024 + 1));
  t.throws(() => loadPipelineFile(big), /at most 1048576/);
  t.match(issuesOf(base.replace('processor: pdf-text', 'processor: ./nope.js'))[0], /^stages\[1\]\.map\.processor: processor module not found/);
});

t.test('the JSON Schema covers every stage', async (t) => {
  const s = JSON.stringify(pipelineJsonSchema());
  for (const k of ['dedupe', 'map', 'walk', 'max_memory_mb', 'follow_symlinks', 'fsync']) t.ok(s.includes(`"${k}"`), k);
});

t.test('hostile pipeline files: alias bombs, custom tags, prototype keys, URLs: clear errors, nothing polluted', async (t) => {
  const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    laughs.push(`${name}: &${name} [${Array(9).fill('*' + prev).join(',')}]`);
  }
  t.match(issuesOf(base + laughs.join('\n') + '\n')[0], /Excessive alias count indicates a resource exhaustion attack/);
  // the tag is not quoted back (a message never quotes the file): the line says where
  t.match(issuesOf(base.replace('[docs]', '!!js/function "function () { return 1 }"'))[0], /Unresolved tag \(a pipeline is plain YAML or JSON: no custom tags\) @4/);
  t.match(issuesOf(base.replace('timeout: 30s', 'timeout: !custom 30s'))[0], /Unresolved tag .* @9/);
  t.match(issuesOf(base + 'name: again\n')[0], /Map keys must be unique @10/, 'a duplicate key names its line');
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    t.match(issuesOf(base + `${key}: { polluted: true }\n`)[0], new RegExp(`^${key}: key "${key}" is not allowed \\(a reserved JavaScript name\\) @10`));
    t.match(issuesOf(base.replace('timeout: 30s', `timeout: 30s\n      ${key}: { polluted: true }`))[0], new RegExp(`stages\\[1\\]\\.map\\.${key}: key "${key}" is not allowed`));
  }
  const json = JSON.stringify({ version: 1, name: 'x', source: { walk: { roots: ['d'] } }, stages: [{ map: { processor: 'noop', options: { __proto__: { polluted: true } } } }] })
    .replace('"options":{}', '"options":{"__proto__":{"polluted":true}}');
  try {
    parsePipeline(json, 'p.json', '/base');
  } catch {
    // an error is fine too; what matters is below
  }
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  t.match(issuesOf(base.replace('processor: pdf-text', 'processor: https://example.com/p.js'))[0], /stages\[1\]\.map\.processor: unknown processor "https:\/\/example.com\/p.js"/);
  t.match(issuesOf(base.replace('processor: pdf-text', 'processor: data:text/javascript,export default 1'))[0], /unknown processor/);
});

t.test('the fingerprint leaves out options at their default: written out or not, or added by a later version, they redo nothing', async (t) => {
  const dir = tmpDir();
  const cfgOf = (options: string) => parsePipeline(`version: 1\nname: f\nsource:\n  walk:\n    roots: [.]\nstages:\n  - map:\n      processor: pdf-text\n      options: ${options}\n`, 'p.yaml', dir);
  const hashOf = (options: string) => configHash(cfgOf(options), '1.0.0');
  const plain = hashOf('{}');
  t.same(fingerprintOptions(cfgOf('{engine: pdfium, max_pages: 10}').map), { max_pages: 10 }, 'only what is not a default is fingerprinted');
  t.equal(hashOf('{engine: pdfium}'), plain, 'the default engine written out');
  t.equal(hashOf('{max_pages: 5000}'), plain, 'the default max_pages written out');
  t.not(hashOf('{max_pages: 10}'), plain, 'a value of its own changes it');
  t.not(hashOf('{engine: pdftotext}'), plain);
  t.not(hashOf('{engine: pdfjs}'), plain, 'another engine changes it');
});
