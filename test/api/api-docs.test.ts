// docs/api.md against the built package's types, and the code in README.md and
// docs/processors.md run as written.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, SAMPLES, tmpDir } from '../helpers.js';

const api = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
const dts = (rel: string) => fs.readFileSync(path.join(ROOT, 'dist/lib', rel), 'utf8');

/** Names a .d.ts front door exports (`export { a, b as c } from`, `export type { ... } from`). */
function exportsOf(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/^export (?:type )?\{([^}]*)\} from/gm)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop()!.trim();
      if (name) names.push(name);
    }
  }
  return names;
}

/** The members of `interface name` in a .d.ts (one per line, as tsc writes them), with those it picks from another (`extends Pick<T, 'a' | 'b'>`). */
function membersOf(text: string, name: string): string[] {
  const m = new RegExp(`export interface ${name}(?:<[^>]*>)?( extends [^{]*)? \\{\\n([\\s\\S]*?)\\n\\}`).exec(text);
  if (!m) return [];
  const picked = [...(m[1] ?? '').matchAll(/['"]([\w$]+)['"]/g)].map((x) => x[1]!);
  return [...picked, ...[...m[2]!.matchAll(/^ {4}(?:readonly )?([A-Za-z_$][\w$]*)\??[(:<]/gm)].map((x) => x[1]!)];
}

/** The text of the section under `### name` (to the next heading). */
function section(name: string): string | null {
  const m = new RegExp(`^### ${name}\\n([\\s\\S]*?)(?=^##)`, 'm').exec(api + '\n##');
  return m ? m[1]! : null;
}

t.test('every export of sluice and sluice/processor has its section in docs/api.md, and every section names an export', async (t) => {
  const exported = new Set([...exportsOf(dts('index.d.ts')), ...exportsOf(dts('processor.d.ts'))]);
  t.ok(exported.size > 40, `the front doors export ${exported.size} names`);
  for (const name of exported) t.not(section(name), null, `### ${name} is in docs/api.md`);
  const headings = [...api.matchAll(/^### (\S+)$/gm)].map((m) => m[1]!);
  for (const h of headings) t.ok(exported.has(h), `docs/api.md's ${h} is exported`);
});

t.test('each options and result type lists exactly its fields', async (t) => {
  const types: [string, string][] = [
    ['RunApiOptions', 'run/api.d.ts'], ['RunHandle', 'run/api.d.ts'], ['RunOutcome', 'run/run.d.ts'],
    ['Checkpoint', 'run/compose.d.ts'], ['WalkStageOptions', 'run/compose.d.ts'], ['MapStageOptions', 'run/compose.d.ts'],
    ['ReportStageOptions', 'run/compose.d.ts'], ['RecordHooks', 'run/record.d.ts'],
  ];
  for (const [name, file] of types) {
    const members = membersOf(dts(file), name);
    t.ok(members.length >= 2, `${name} has members in ${file} (${members.join(', ')})`);
    const text = section(name) ?? '';
    for (const m of members) t.match(text, `\`${m}`, `${name}.${m} is described`);
    const listed = [...text.matchAll(/^\| `([\w$]+)/gm)].map((x) => x[1]!);
    for (const l of listed) t.ok(members.includes(l), `${name}: the documented \`${l}\` is a field`);
  }
});

/** A scratch copy of the repository's samples, with `sluice` resolvable as a package. */
function sandbox(): string {
  const dir = tmpDir('sluice-code-');
  fs.mkdirSync(path.join(dir, 'pipelines'));
  fs.copyFileSync(path.join(ROOT, 'pipelines/pdf-text.yaml'), path.join(dir, 'pipelines/pdf-text.yaml'));
  fs.cpSync(SAMPLES, path.join(dir, 'pipelines/samples'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules/sluice'));
  fs.symlinkSync(path.join(ROOT, 'node_modules/highland'), path.join(dir, 'node_modules/highland'));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  return dir;
}

function node(dir: string, file: string) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // tap's hooks are not the user's
  return spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
}

const jsBlocks = (text: string) => [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);

t.test('the code in README.md runs as shown', async (t) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = jsBlocks(readme);
  t.ok(blocks.length >= 4, `README.md shows ${blocks.length} js examples`);
  const dir = sandbox();
  const programs = blocks.filter((b) => !b.startsWith('// word-count.mjs'));
  const processor = blocks.find((b) => b.startsWith('// word-count.mjs'));
  t.ok(processor, 'the processor example is shown');
  fs.writeFileSync(path.join(dir, 'word-count.mjs'), processor!);
  programs.forEach((code, i) => fs.writeFileSync(path.join(dir, `example-${i}.mjs`), code));

  // run(): every sample once, then the summary line
  const first = node(dir, 'example-0.mjs');
  t.equal(first.status, 0, first.stderr);
  t.match(first.stdout, /^14 ok, 0 failed, 0 skipped$/m, 'run() extracted the 14 samples');
  const again = node(dir, 'example-0.mjs');
  t.match(again.stdout, /^0 ok, 0 failed, 14 skipped$/m, 'and a second run() skips them all');

  // the stages by hand: one sha256 line per sample, then none on a rerun
  const hashes = node(dir, 'example-1.mjs');
  t.equal(hashes.status, 0, hashes.stderr);
  const lines = hashes.stdout.trim().split('\n');
  t.equal(lines.length, 14, 'one line per sample');
  for (const l of lines) t.match(l, /^[0-9a-f]{64} pipelines\/samples\/.+\.pdf$/);
  const rehash = node(dir, 'example-1.mjs');
  t.equal(rehash.status, 0, rehash.stderr);
  t.equal(rehash.stdout, '', 'a rerun over the same checkpoint does nothing');

  // highland
  const hl = node(dir, 'example-2.mjs');
  t.equal(hl.status, 0, hl.stderr);
  const small = fs.readdirSync(path.join(dir, 'pipelines/samples'), { recursive: true }).map(String)
    .filter((f) => f.endsWith('.pdf') && fs.statSync(path.join(dir, 'pipelines/samples', f)).size < 20_000);
  const shown = hl.stdout.trim().split('\n');
  t.ok(small.length > 3, `${small.length} samples are under 20 KB`);
  t.same(shown.map((l) => l.split(' ').pop()).sort(), small.map((f) => `pipelines/samples/${f}`).sort(), 'the highland chain ran exactly the files its filter kept');
  for (const l of shown) t.match(l, /^ok \d+ /, 'each with its page count');

  // the processor, used as the text says, from a pipeline object
  fs.mkdirSync(path.join(dir, 'words'));
  fs.writeFileSync(path.join(dir, 'words/a.txt'), 'one two three four\nfive six\n');
  fs.writeFileSync(path.join(dir, 'use.mjs'), [
    "import { run } from 'sluice';",
    "const h = run({ version: 1, name: 'words', source: { walk: { roots: ['words'] } }, stages: [{ map: { processor: './word-count.mjs', options: { min_length: 4 } } }] }, { progressIntervalMs: 0 });",
    "for await (const ev of h) if (ev.type === 'result') console.log(JSON.stringify(ev.output));",
    '',
  ].join('\n'));
  const used = node(dir, 'use.mjs');
  t.equal(used.status, 0, used.stderr);
  t.equal(used.stdout.trim(), '{"words":3}', 'four, five and three have at least 4 letters');
});

t.test('the processors in docs/processors.md work as written', async (t) => {
  const guide = fs.readFileSync(path.join(ROOT, 'docs/processors.md'), 'utf8');
  const blocks = jsBlocks(guide);
  t.ok(blocks.length >= 2, `the guide shows ${blocks.length} processors`);
  const dir = sandbox();
  fs.mkdirSync(path.join(dir, 'texts'));
  fs.writeFileSync(path.join(dir, 'texts/a.txt'), 'alpha beta\ngamma\n');
  for (const code of blocks) {
    const name = /^\/\/ ([\w-]+\.mjs)\n/.exec(code)?.[1];
    t.ok(name, 'each example names its file');
    fs.writeFileSync(path.join(dir, name!), code);
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/bin/sluice.js'), 'run', '--input', 'texts', '--include', '**/*.txt', '--processor', `./${name}`, '--state', `st-${name}`, '--progress', 'none'],
      { cwd: dir, env, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
    const result = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; output?: Record<string, number> }).find((e) => e.type === 'result');
    t.ok(result?.output && Object.values(result.output).some((v) => v === 2 || v === 3), `${name} gave ${JSON.stringify(result?.output)}`);
  }
});
