// A processor written as a user writes one: a package (test/fixtures/packages/word-count) with
// `sluice` as a dependency and a defineProcessor default export, used by a pipeline file, by a
// program through run(), and listed by `sluice stages` / `sluice schema`. Its options are checked
// before anything runs; setup runs once per worker thread, teardown at the end.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURES, ROOT, ofType, quietEnv, readJournal, sluice, tmpDir } from '../helpers.js';
import { ERROR_CODES, run, SluiceError, type ResultEvent } from '../../lib/index.js';

const CONCURRENCY = 2;
const FILES = 12;

/**
 * A temp dir with copies of the fixture packages, each with node_modules/sluice a link to this
 * repository (as `npm install` of a local sluice would make it), and `in/` of text files: file i
 * has i + 1 words of 3 letters or more after "Hello", and two short ones ("a", "to").
 */
function setUp(): { dir: string; expected: Record<string, number> } {
  const dir = tmpDir();
  for (const pkg of ['word-count', 'bad-setup']) {
    fs.cpSync(path.join(FIXTURES, 'packages', pkg), path.join(dir, pkg), { recursive: true });
    fs.mkdirSync(path.join(dir, pkg, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(dir, pkg, 'node_modules', 'sluice'), 'dir');
  }
  fs.mkdirSync(path.join(dir, 'in'));
  const expected: Record<string, number> = {};
  for (let i = 0; i < FILES; i++) {
    const long = Array.from({ length: i + 1 }, (_, j) => `word${j}`);
    const name = `f${String(i).padStart(2, '0')}.txt`;
    fs.writeFileSync(path.join(dir, 'in', name), `Hello a to ${long.join(' ')}\n`);
    expected[`in/${name}`] = long.length + 1; // + "Hello"
  }
  return { dir, expected };
}

function pipelineYaml(options: string, processor = './word-count/index.mjs', concurrency = CONCURRENCY): string {
  return `version: 1\nname: wc\nsource: { walk: { roots: [in] } }\nstages:\n  - map:\n      processor: ${processor}\n      concurrency: ${concurrency}\n      options: ${options}\n`;
}

type Output = { words: number; first: string | null; setup_id: string; setups: number; setup_min_length: number };

/** What the results say about setup and teardown: the outputs hold the setup ids; each worker that set up left a marker naming its id and its item count. */
function checkSetupAndTeardown(t: Test, outputs: Output[], markers: string) {
  const ids = new Set(outputs.map((o) => o.setup_id));
  t.ok(ids.size >= 1 && ids.size <= CONCURRENCY, `setup ran once per worker thread, not per item: ${ids.size} setup ids over ${outputs.length} items, concurrency ${CONCURRENCY}`);
  t.ok(outputs.every((o) => o.setups === 1), 'no thread ran setup twice');
  t.ok(outputs.every((o) => o.setup_min_length === 3), 'setup was given the parsed options');
  const done = fs.readdirSync(markers).filter((f) => f.endsWith('.done')).sort();
  t.same(done, [...ids].map((id) => `${id}.done`).sort(), 'teardown ran in every worker that set up (one marker each)');
  const items = done.map((f) => (JSON.parse(fs.readFileSync(path.join(markers, f), 'utf8')) as { items: number }).items);
  t.equal(items.reduce((a, b) => a + b, 0), outputs.length, 'teardown got the state setup made, the items counted in it');
}

t.test('a defineProcessor package used by a pipeline file: every count right, setup once per worker, teardown at the end', async (t) => {
  const { dir, expected } = setUp();
  const markers = path.join(dir, 'markers');
  fs.mkdirSync(markers);
  fs.writeFileSync(path.join(dir, 'p.yaml'), pipelineYaml('{ min_length: 3 }'));
  const r = await sluice(['run', 'p.yaml', '--state', 'st', '--progress', 'none'], { cwd: dir, env: quietEnv({ WORD_COUNT_MARKERS: markers }) });
  t.equal(r.code, 0, r.stderr);
  const results = ofType(r.lines, 'result');
  t.same(results.map((x) => x.path).sort(), Object.keys(expected).sort(), 'one result per file');
  t.ok(results.every((x) => x.status === 'ok'), 'all ok');
  t.same(Object.fromEntries(results.map((x) => [x.path, x.output.words])), expected, 'words of 3 letters or more counted ("a" and "to" not)');
  t.ok(results.every((x) => x.output.first === 'hello'), 'lowercase defaults to true');
  checkSetupAndTeardown(t, results.map((x) => x.output as Output), markers);
  t.equal(readJournal(path.join(dir, 'st')).filter((l) => l.status === 'ok').length, FILES, 'each item journaled done');
});

t.test('the same package used by a program through run(): the same outputs', async (t) => {
  const { dir, expected } = setUp();
  const markers = path.join(dir, 'markers');
  fs.mkdirSync(markers);
  // worker threads take the environment as it is when they start
  const before = process.env.WORD_COUNT_MARKERS;
  process.env.WORD_COUNT_MARKERS = markers;
  t.teardown(() => {
    if (before === undefined) delete process.env.WORD_COUNT_MARKERS;
    else process.env.WORD_COUNT_MARKERS = before;
  });
  const handle = run({
    version: 1, name: 'wc',
    source: { walk: { roots: [path.join(dir, 'in')] } },
    stages: [{ map: { processor: path.join(dir, 'word-count/index.mjs'), concurrency: CONCURRENCY, options: { min_length: 3 } } }],
  }, { stateDir: path.join(dir, 'st'), progressIntervalMs: 0, baseDir: dir });
  const results: ResultEvent[] = [];
  for await (const ev of handle) if (ev.type === 'result') results.push(ev);
  const summary = await handle.summary;
  t.equal(summary.exit_code, 0);
  t.equal(summary.ok, FILES);
  const byRel = Object.fromEntries(results.map((x) => [path.relative(dir, path.resolve(x.path)), (x.output as Output).words]));
  t.same(byRel, expected, 'the same counts as through the CLI');
  t.ok(results.every((x) => (x.output as Output).first === 'hello'));
  checkSetupAndTeardown(t, results.map((x) => x.output as Output), markers);
});

const BAD: { what: string; options: string; message: RegExp }[] = [
  { what: 'a value out of range', options: '{ min_length: 0 }', message: /map\.options\.min_length: .*>= 1/ },
  { what: 'an unknown key', options: '{ min_lenght: 3 }', message: /map\.options\.min_lenght: unknown key \(did you mean "min_length"\?\)/ },
];

t.test('a bad option (out of range, or an unknown key) stops the run before anything runs, naming the key: exit 2 from sluice run and sluice validate, SLUICE_E_CONFIG from run()', async (t) => {
  const { dir } = setUp();
  BAD.forEach((b, i) => fs.writeFileSync(path.join(dir, `bad${i}.yaml`), pipelineYaml(b.options)));
  const spawned = await Promise.all(BAD.map((_, i) => Promise.all([
    sluice(['run', `bad${i}.yaml`, '--state', `st${i}`, '--progress', 'none'], { cwd: dir, env: quietEnv() }),
    sluice(['validate', `bad${i}.yaml`], { cwd: dir, env: quietEnv() }),
  ])));
  for (const [i, { what, message }] of BAD.entries()) {
    const [r, v] = spawned[i]!;
    t.equal(r.code, 2, `${what}: sluice run exits 2`);
    t.match(r.stderr, message, `${what}: sluice run names the key`);
    t.match(r.stderr, /processor word-count/, `${what}: and the processor`);
    t.same(r.lines, [], `${what}: no event at all, nothing started`);
    t.same(readJournal(path.join(dir, `st${i}`)), [], `${what}: nothing journaled`);
    t.equal(v.code, 2, `${what}: sluice validate exits 2`);
    t.match(v.stderr, message, `${what}: sluice validate names the key`);

    const handle = run(path.join(dir, `bad${i}.yaml`), { stateDir: path.join(dir, `st-api${i}`), progressIntervalMs: 0 });
    const err = await handle.summary.then(() => null, (e: unknown) => e);
    t.ok(err instanceof SluiceError, `${what}: run().summary rejects with a SluiceError`);
    t.equal((err as SluiceError).code, 'SLUICE_E_CONFIG', `${what}: SLUICE_E_CONFIG`);
    t.match((err as SluiceError).message, message, `${what}: naming the key`);
    t.same(readJournal(path.join(dir, `st-api${i}`)), [], `${what}: nothing journaled by run() either`);
  }
});

t.test('sluice stages and sluice schema list a processor module with its options and defaults', async (t) => {
  const { dir } = setUp();
  const mod = './word-count/index.mjs';
  const [text, json, schema] = await Promise.all([
    sluice(['stages', '--processor', mod], { cwd: dir, env: quietEnv() }),
    sluice(['stages', '--processor', mod, '--json'], { cwd: dir, env: quietEnv() }),
    sluice(['schema', '--processor', mod], { cwd: dir, env: quietEnv() }),
  ]);
  t.equal(text.code, 0, text.stderr);
  const section = text.stdout.split('\n\n').find((s) => s.startsWith('processor word-count'));
  t.ok(section, 'a section "processor word-count"');
  t.match(section, /\n\s+min_length: integer \(default 1\) - words shorter than this are not counted/, 'min_length, its type, default and description');
  t.match(section, /\n\s+lowercase: boolean \(default true\)/, 'lowercase and its default');

  t.equal(json.code, 0, json.stderr);
  const comps = json.lines.filter((l) => l.type === 'component' && l.kind === 'processor' && l.name === 'word-count');
  t.equal(comps.length, 1, 'one component line for it');
  t.match(comps[0]!.options, [
    { name: 'min_length', type: 'integer', default: 1, required: false },
    { name: 'lowercase', type: 'boolean', default: true, required: false },
  ]);
  t.ok(json.lines.some((l) => l.kind === 'processor' && l.name === 'sha256'), 'the built-ins are still listed');

  t.equal(schema.code, 0, schema.stderr);
  const s = JSON.parse(schema.stdout) as { $defs?: Record<string, { properties?: Record<string, Record<string, unknown>>; additionalProperties?: unknown }> };
  const def = s.$defs?.['processor-word-count'];
  t.ok(def, '$defs has processor-word-count');
  t.match(def?.properties?.min_length, { type: 'integer', default: 1, minimum: 1 });
  t.match(def?.properties?.lowercase, { type: 'boolean', default: true });
  t.equal(def?.additionalProperties, false, 'strictObject: no other key');
});

t.test('a setup that throws stops the run (SLUICE_E_PROCESSOR_LOAD, exit 2); no item is journaled as failed', async (t) => {
  const { dir } = setUp();
  fs.writeFileSync(path.join(dir, 'p.yaml'), pipelineYaml('{ model: gone.bin }', './bad-setup/index.mjs', 1));
  const r = await sluice(['run', 'p.yaml', '--state', 'st', '--progress', 'none'], { cwd: dir, env: quietEnv() });
  t.equal(ERROR_CODES.SLUICE_E_PROCESSOR_LOAD.exit, 2);
  t.equal(r.code, ERROR_CODES.SLUICE_E_PROCESSOR_LOAD.exit, 'exit 2, the exit code of SLUICE_E_PROCESSOR_LOAD');
  t.match(r.stderr, /processor bad-setup: setup failed: cannot open model gone\.bin/);
  const summary = ofType(r.lines, 'summary')[0];
  t.match(summary, { exit_code: 2, ok: 0, failed: 0, error: { code: 'SLUICE_E_PROCESSOR_LOAD' } });
  t.same(ofType(r.lines, 'result'), [], 'no result event');
  t.same(readJournal(path.join(dir, 'st')).filter((l) => l.status === 'failed'), [], 'nothing journaled as failed');
  t.same(readJournal(path.join(dir, 'st')).filter((l) => l.key), [], 'nothing journaled at all');
});
