// A TypeScript program that depends on sluice compiles against the built package (its .d.ts
// files, found through package.json "exports"), with the types doing their job: events narrow on
// `type`, a defineProcessor's options type comes from its zod schema and its state from setup.
// A second file misusing the API must fail to compile, on the lines that misuse it.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT, quietEnv, tmpDir, track } from '../helpers.js';

const TSC = path.join(ROOT, 'node_modules/.bin/tsc');

const CONSUMER = `import { pipeline } from 'node:stream/promises';
import {
  ERROR_CODES, SluiceError, journalSink, map, openCheckpoint, run, walk,
  type ErrorCode, type ItemResult, type ResultEvent, type RunHandle, type SummaryEvent,
} from 'sluice';
import { defineProcessor, z } from 'sluice/processor';

export async function viaRun(dir: string): Promise<{ ok: boolean; failed: ErrorCode[] }> {
  const handle: RunHandle = run(
    { version: 1, name: 'typed', source: { walk: { roots: [dir] } }, stages: [{ map: { processor: 'sha256' } }] },
    { stateDir: dir + '/.state', progressIntervalMs: 0, concurrency: 2, mode: 'fresh', signal: AbortSignal.timeout(60_000) },
  );
  const failed: ErrorCode[] = [];
  for await (const ev of handle) {
    if (ev.type === 'result') {
      const output: Record<string, unknown> | undefined = ev.output;
      const code: ErrorCode | undefined = ev.error?.code;
      if (code !== undefined) failed.push(code);
      void output;
    } else if (ev.type === 'summary') {
      const exit: number = ev.exit_code;
      void exit;
    }
  }
  const summary: SummaryEvent = await handle.summary;
  const exit: number = (await handle.outcome).exitCode;
  return { ok: summary.ok > 0 && exit === 0, failed };
}

export async function composed(dir: string, stateDir: string): Promise<number> {
  const checkpoint = await openCheckpoint(stateDir);
  let done = 0;
  try {
    await pipeline(
      walk({ roots: [dir], checkpoint }),
      map({ processor: 'sha256', concurrency: 2, timeout: '30s' }),
      journalSink(checkpoint, {
        recorded: (r: ItemResult, ev: ResultEvent) => {
          if (r.status === 'ok' && ev.key) done++;
        },
      }),
    );
  } finally {
    await checkpoint.close();
  }
  return done;
}

export default defineProcessor({
  name: 'typed-word-count',
  options: z.strictObject({
    min_length: z.number().int().min(1).default(1),
    label: z.string().optional(),
  }),
  setup(options) {
    return { startedAt: Date.now(), prefix: options.label ?? 'words' };
  },
  async process(item, ctx) {
    const min: string = ctx.options.min_length.toFixed();
    const startedAt: number = ctx.state.startedAt;
    return { rel: item.rel, min, prefix: ctx.state.prefix.toUpperCase(), startedAt };
  },
  teardown(state) {
    const startedAt: number = state.startedAt;
    void startedAt;
  },
});

export function describe(err: unknown): string {
  if (err instanceof SluiceError) {
    const code: ErrorCode = err.code;
    const exit: number = ERROR_CODES[code].exit;
    return code + ' (exit ' + exit + ', retryable ' + err.retryable + ')';
  }
  return String(err);
}
`;

// Each line marked `// TSxxxx` must be an error with that code, and no other line may be one.
const MISUSE = `import { map, run } from 'sluice';
import { defineProcessor, z } from 'sluice/processor';

run(123); // TS2345
map({ processor: 1 }); // TS2322
run({ version: 1, name: 'x', source: { walk: { roots: ['.'] } }, stages: [{ map: { procesor: 'sha256' } }] }); // TS2561

export const p = defineProcessor({
  name: 'misused',
  options: z.strictObject({ min_length: z.number().default(1) }),
  setup: () => ({ startedAt: 0 }),
  process(_item, ctx) {
    const upper = ctx.options.min_length.toUpperCase(); // TS2339
    const when: string = ctx.state.startedAt; // TS2322
    const typo = ctx.options.min_lenght; // TS2551
    return { upper, when, typo };
  },
});

export async function events(): Promise<void> {
  for await (const ev of run('p.yaml')) {
    void ev.output; // TS2339
  }
}
`;

function tsconfig(file: string, skipLibCheck: boolean): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'], types: ['node'],
      strict: true, noEmit: true, skipLibCheck,
    },
    files: [file],
  }, null, 2);
}

/** A consumer project in a temp dir: sluice and @types/node linked in as npm would install them. */
function project(): string {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  fs.mkdirSync(path.join(dir, 'node_modules/@types'), { recursive: true });
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules/sluice'), 'dir');
  fs.symlinkSync(path.join(ROOT, 'node_modules/@types/node'), path.join(dir, 'node_modules/@types/node'), 'dir');
  fs.writeFileSync(path.join(dir, 'consumer.ts'), CONSUMER);
  fs.writeFileSync(path.join(dir, 'misuse.ts'), MISUSE);
  // the consumer with the library's own .d.ts files checked too (and zod's and node's they pull in)
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), tsconfig('consumer.ts', false));
  fs.writeFileSync(path.join(dir, 'tsconfig.misuse.json'), tsconfig('misuse.ts', true));
  return dir;
}

/** The repository's own tsc, killed at the end of the test if it is still running. */
function tsc(t: Test, dir: string, config: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, [TSC, '-p', path.join(dir, config), '--pretty', 'false'], { cwd: dir, env: quietEnv(), stdio: ['ignore', 'pipe', 'pipe'] }));
    t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

t.test('package.json "exports" maps sluice and sluice/processor to built .js and .d.ts files', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
  for (const [sub, entry] of [['.', 'index'], ['./processor', 'processor']] as const) {
    const e = pkg.exports[sub];
    t.same(e, { types: `./dist/lib/${entry}.d.ts`, default: `./dist/lib/${entry}.js` }, `exports["${sub}"]`);
    t.ok(e && fs.existsSync(path.join(ROOT, e.types)), `${e?.types} exists`);
    t.ok(e && fs.existsSync(path.join(ROOT, e.default)), `${e?.default} exists`);
  }
  t.equal(Object.keys(pkg.exports['.']!)[0], 'types', '"types" comes first (TypeScript takes the first condition that matches)');
  // resolved as a consumer resolves it: the package's self-reference goes through the same map
  t.equal(import.meta.resolve('sluice'), new URL('dist/lib/index.js', `file://${ROOT}/`).href);
  t.equal(import.meta.resolve('sluice/processor'), new URL('dist/lib/processor.js', `file://${ROOT}/`).href);
  // (a specifier in a variable: this file must compile before dist/ exists)
  const [main, sub] = ['sluice', 'sluice/processor'];
  const api = await import(main) as Record<string, unknown>;
  const proc = await import(sub) as Record<string, unknown>;
  t.equal(typeof api.run, 'function');
  t.equal(proc.defineProcessor, api.defineProcessor, 'one defineProcessor, whichever entry it comes from');
});

t.test('a strict TypeScript consumer compiles against the built package; a misuse of the API fails on the lines that misuse it', async (t) => {
  const dir = project();
  const [good, bad] = await Promise.all([tsc(t, dir, 'tsconfig.json'), tsc(t, dir, 'tsconfig.misuse.json')]);

  t.equal(good.code, 0, `tsc passes on consumer.ts with skipLibCheck false:\n${good.out}`);
  t.equal(good.out.trim(), '', 'no diagnostics');

  t.not(bad.code, 0, 'tsc fails on misuse.ts');
  const expected = MISUSE.split('\n').flatMap((l, i) => {
    const m = / \/\/ (TS\d+)$/.exec(l);
    return m ? [`misuse.ts(${i + 1}) ${m[1]}`] : [];
  });
  t.equal(expected.length, 7, 'seven misuses marked');
  const got = [...bad.out.matchAll(/^(\S+)\((\d+),\d+\): error (TS\d+):/gm)].map((m) => `${m[1]}(${m[2]}) ${m[3]}`);
  t.same([...new Set(got)].sort(), expected.sort(), `each misuse, and nothing else, is an error:\n${bad.out}`);
  t.match(bad.out, /Property 'toUpperCase' does not exist on type 'number'/, 'ctx.options.min_length is the number the schema says');
  t.match(bad.out, /Property 'output' does not exist on type '\w+'/, 'an event is a union: output only after narrowing on type');
});
