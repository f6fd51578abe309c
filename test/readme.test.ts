// README.md must stay true: its pipeline file is the real one, the NDJSON it shows is what that
// pipeline prints, and its command examples run.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, ROOT, SAMPLES, sluice, sluiceChild, tmpDir } from './helpers.js';
import { hasRedis, REDIS_SERVER } from './queue/redis.js';

const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));
const ci = fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8');

/** Fields that differ from run to run (key hashes the mtime, which differs from clone to clone). */
const VOLATILE = new Set(['run', 'key', 'ms', 'rate', 'elapsed_s', 'rss_mb']);
const normalize = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => !VOLATILE.has(k)));

t.test('the two set-up commands come first, and CI runs exactly them', async (t) => {
  const sh = blocks.filter((b) => b.lang === 'sh').slice(0, 2).map((b) => b.body.trim());
  t.same(sh, ['npm ci && npx sluice run pipelines/pdf-text.yaml', 'npm test']);
  t.ok(readme.indexOf('```sh') < readme.indexOf('```yaml'), 'set-up commands before the pipeline file');
  t.match(ci, /^npm ci\b.*$/m, '.ci/run installs with npm ci');
  t.match(ci, /^npx sluice run pipelines\/pdf-text\.yaml\b/m, '.ci/run runs the sample pipeline as the README says');
  t.match(ci, /^npm test\b/m, '.ci/run runs npm test');
});

t.test('the pipeline file shown is pipelines/pdf-text.yaml', async (t) => {
  const yaml = blocks.find((b) => b.lang === 'yaml');
  t.equal(yaml?.body, fs.readFileSync(path.join(ROOT, 'pipelines/pdf-text.yaml'), 'utf8'));
});

t.test('the NDJSON shown is what the pipeline prints', async (t) => {
  const shown = blocks.find((b) => b.lang === 'ndjson')!.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'pipelines'));
  fs.copyFileSync(path.join(ROOT, 'pipelines/pdf-text.yaml'), path.join(dir, 'pipelines/pdf-text.yaml'));
  fs.cpSync(SAMPLES, path.join(dir, 'pipelines/samples'), { recursive: true });
  const r = await sluice(['run', 'pipelines/pdf-text.yaml'], { cwd: dir });
  t.equal(r.code, 0, r.stderr);
  const real = r.lines;
  const byType = (ls: Record<string, any>[], type: string) => ls.filter((l) => l.type === type).map(normalize);
  const sortByPath = (ls: Record<string, unknown>[]) => [...ls].sort((a, b) => String(a.path).localeCompare(String(b.path)));
  t.same(byType(real, 'start'), byType(shown, 'start'), 'start line');
  t.same(sortByPath(byType(real, 'result')), sortByPath(byType(shown, 'result')), 'one result per sample, same keys, outputs and paths');
  t.same(byType(real, 'progress').at(-1), byType(shown, 'progress').at(-1), 'final progress line');
  t.same(byType(real, 'summary'), byType(shown, 'summary'), 'summary line');
  t.ok(fs.existsSync(path.join(dir, 'pipelines/out/report.json')) && fs.existsSync(path.join(dir, 'pipelines/out/report.md')), 'report.json and report.md written');
  // the README's claim about the rerun
  const again = await sluice(['run', 'pipelines/pdf-text.yaml'], { cwd: dir });
  t.match(again.lines.at(-1), { type: 'summary', skipped: shown.filter((l) => l.type === 'result').length, ok: 0, exit_code: 0 });
  // the status and results examples
  const status = blocks.find((b) => b.lang === 'sh' && b.body.includes('sluice status'))!.body.trim().split('\n').map((l) => l.replace(/\s+#.*$/, ''));
  t.equal(status.length, 4);
  for (const cmd of status) {
    const r2 = spawnSync('bash', ['-c', cmd.replace(/^npx sluice/, `"${process.execPath}" "${BIN}"`)], { cwd: dir, encoding: 'utf8' });
    t.equal(r2.status, 0, `${cmd}: ${r2.stderr}`);
    // no run going on: it prints the last run's timeline, to its end
    if (cmd.includes('--follow')) t.match(r2.stdout, /done 14\/14 \(100%\): 0 ok, 0 failed, 14 skipped[^]*ended: 0 ok, 0 failed, 14 skipped/);
    else if (cmd.includes('sluice status')) t.match(r2.stdout, /done 14: 14 ok, 0 failed; pending 0 of 14 found/);
    else if (cmd.includes('sluice plan')) t.match(r2.stdout, /found 14: 14 already done, 0 to do \(0 bytes\)/);
    else t.equal(r2.stdout, '', 'no failed results among the samples');
  }
  // and about finding the pages that need OCR
  const ocr = shown.filter((l) => l.type === 'result' && l.output.pages_without_text > 0).map((l) => path.basename(l.path));
  t.same(ocr, ['scanned-receipt.pdf']);
});

t.test('the examples without a pipeline file run', async (t) => {
  const block = blocks.find((b) => b.lang === 'sh' && b.body.includes('--processor'))!.body;
  const dir = tmpDir();
  fs.cpSync(SAMPLES, path.join(dir, 'docs'), { recursive: true });
  const cmds = block.trim().split('\n').map((l) => l.replace(/\s+#.*$/, ''));
  t.ok(cmds.length >= 3);
  for (const cmd of cmds) {
    // the sluice part of each line, pointed at a copy of the samples; pipes into jq/head kept off
    const own = cmd.split(/\s[|>]\s/)[0]!
      .replace(/^npx sluice/, `"${process.execPath}" "${BIN}"`)
      .replace(/(--input\s+)\S+/, '$1docs');
    const r = spawnSync('bash', ['-c', `${own} --state st-${cmds.indexOf(cmd)} --progress none`], { cwd: dir, encoding: 'utf8' });
    t.equal(r.status, 0, `${cmd}\n${r.stderr}`);
    const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'result');
    t.equal(results.length, 14, `${cmd}: one result per sample`);
  }
});

t.test('the commands for more than one machine run as shown: Redis, a worker pinned to the pipeline, the run; the same results as the README shows', { skip: hasRedis() ? false : `no ${REDIS_SERVER}: apt-get install redis-server (.ci/run installs it)` }, async (t) => {
  const block = blocks.find((b) => b.lang === 'sh' && b.body.includes('sluice worker'))!.body;
  const [server, worker, run] = block.trim().split('\n').map((l) => l.replace(/\s+#.*$/, ''));
  t.match(server, /^redis-server /);
  t.match(worker, /^sluice worker pipelines\/pdf-text\.yaml --queue redis:\/\/queue-host:6379\/0/);
  t.match(run, /^sluice run pipelines\/pdf-text\.yaml --queue redis:\/\/queue-host:6379\/0$/);
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'pipelines'));
  fs.copyFileSync(path.join(ROOT, 'pipelines/pdf-text.yaml'), path.join(dir, 'pipelines/pdf-text.yaml'));
  fs.cpSync(SAMPLES, path.join(dir, 'pipelines/samples'), { recursive: true });
  // the server line as shown, on a port of its own, stopped at the end
  const port = String(20000 + Math.floor(Math.random() * 20000));
  const redis = spawn('bash', ['-c', `exec ${server!.replace('--port 6379', `--port ${port} --bind 127.0.0.1 --dir ${dir}`)}`], { stdio: 'ignore' });
  t.teardown(() => { redis.kill('SIGKILL'); });
  for (let i = 0; i < 200 && spawnSync('redis-cli', ['-p', port, 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG'; i++) await sleep(25);
  const url = `redis://127.0.0.1:${port}/0`;
  const args = (line: string) => line.replace(/^sluice /, '').replace('redis://queue-host:6379/0', url).split(/\s+/);
  const w = sluiceChild(t, args(worker!), { cwd: dir }, 120_000);
  const r = await sluice(args(run!), { cwd: dir, t });
  t.equal(r.code, 0, r.stderr);
  const shown = blocks.find((b) => b.lang === 'ndjson')!.body.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  const results = (ls: Record<string, any>[]) => ls.filter((l) => l.type === 'result').map(normalize).sort((a, b) => String(a.path).localeCompare(String(b.path)));
  t.same(results(r.lines), results(shown), 'one result per sample, the outputs the README shows');
  t.match(r.lines.at(-1), { type: 'summary', ok: 14, redelivered: 0 });
  w.proc.kill('SIGTERM');
  const end = await w.done;
  t.notOk(end.hung, 'the worker stops on SIGTERM');
  t.equal(end.stdout.split('\n').filter((l) => l.includes('"type":"result"')).length, 14, 'the worker ran every item');
});
