// The exec processor: its command template (read once, then names substituted per word), and the
// processor called in-process (the CLI tests run it in workers: test/cli/exec.test.ts).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import exec from '../../lib/processors/exec.js';
import { options as execOptions, spec } from '../../lib/processors/exec.spec.js';
import { argvFor, compileTemplate, findProgram, placeholderValues, shellArgsFor, type ArgvTemplate, type ShellTemplate } from '../../lib/processors/exec-template.js';
import { ItemContext } from '../../lib/worker/context.js';
import { check } from '../../lib/core/schema-util.js';
import { tmpDir } from '../helpers.js';
import { alive, gone, killAll, pidFrom } from '../support/procs.js';

const argv = (cmd: string, p: string) => argvFor(compileTemplate(cmd, false) as ArgvTemplate, p);
const item = (file: string, rel = path.basename(file)) => ({ path: file, file, rel, size: 0, mtime_ms: 1 });
const ctx = (options: Record<string, unknown>, out: string | null = null, signal?: AbortSignal) => {
  const c = new ItemContext(execOptions.parse(options), out, (p: string) => p);
  return { options: c.options, hasOutputDir: c.hasOutputDir, writeOutput: c.writeOutput.bind(c), ...(signal ? { signal } : {}) };
};
const failure = (p: Promise<unknown>) => p.then(() => null, (e: { code: string; message: string }) => e);

t.test('placeholders are replaced in each word: {} the path, {.} without its extension, {/} the name, {//} the dir, {/.} the name without extension', async (t) => {
  t.same(argv('convert {} {.}.png out/{/} {//} {/.}', 'docs/a.b/report.final.pdf'),
    ['convert', 'docs/a.b/report.final.pdf', 'docs/a.b/report.final.png', 'out/report.final.pdf', 'docs/a.b', 'report.final']);
  t.same(placeholderValues('.bashrc'), { '{}': '.bashrc', '{.}': '.bashrc', '{/}': '.bashrc', '{//}': '.', '{/.}': '.bashrc' }, 'a leading dot is not an extension; a file in the cwd has dir "."');
  t.same(placeholderValues('/abs/x.tar.gz'), { '{}': '/abs/x.tar.gz', '{.}': '/abs/x.tar', '{/}': 'x.tar.gz', '{//}': '/abs', '{/.}': 'x.tar' });
});

t.test('a file name is one argument whatever it holds: spaces, quotes, $(...), ;, backquotes, a newline', async (t) => {
  for (const name of ['a b.pdf', `it's "q".pdf`, '$(touch pwned).pdf', 'x; rm -rf ~.pdf', '`id`.pdf', 'new\nline.pdf', '{}.pdf']) {
    t.same(argv('cat {}', `dir/${name}`), ['cat', `dir/${name}`], JSON.stringify(name));
    t.same(argv('cp {} out/{/}.txt', name), ['cp', name, `out/${name}.txt`], `${JSON.stringify(name)} inside a word`);
  }
});

t.test('a path that would start with "-" gets "./" in front ({}, {.}, {//}); the names {/} and {/.} are given as they are', async (t) => {
  t.same(argv('cat {} {.} {/} {/.}', '-n.txt'), ['cat', './-n.txt', './-n', '-n.txt', '-n']);
  t.same(argv('ls {//}', '-d/x'), ['ls', './-d']);
});

t.test('the template is split like a shell would: quotes group words, single quotes keep a placeholder literal, backslashes escape', async (t) => {
  t.same(argv(`sh -c 'echo "$0" {}' "two words" {} ''`, 'f'), ['sh', '-c', 'echo "$0" {}', 'two words', 'f', '']);
  t.same(argv('echo a\\ b "x\\"y" \'\' "{/}"', 'd/f'), ['echo', 'a b', 'x"y', '', 'f']);
  t.same(argv('echo one\\\ntwo', 'f'), ['echo', 'one' + 'two', 'f'], 'a backslash-newline joins lines');
});

t.test('a template without a placeholder gets the path as its last argument', async (t) => {
  t.same(argv('wc -c', 'a b.txt'), ['wc', '-c', 'a b.txt']);
  t.same(argv("echo '{}'", 'f'), ['echo', '{}', 'f'], 'a quoted placeholder is literal, so the path is appended');
});

t.test('shell syntax outside quotes is refused without shell: true, and the message says to set it', async (t) => {
  for (const cmd of ['cat {} | wc', 'cat {} > out', 'a; b', 'echo $HOME', 'echo `id`', 'cp {} ~/x', 'echo "$HOME"', 'a && b']) {
    t.throws(() => compileTemplate(cmd, false), { name: 'TemplateError', message: /shell syntax.*shell: true/ }, cmd);
  }
  t.same(argv("echo '|' '$HOME' \\;", 'f'), ['echo', '|', '$HOME', ';', 'f'], 'quoted or escaped, it is passed literally');
});

t.test('an unterminated quote, a trailing backslash, a NUL byte or an empty command is refused', async (t) => {
  for (const [cmd, msg] of [[`echo 'a`, /unterminated single quote/], ['echo "a', /unterminated double quote/], ['echo \\', /ends with a backslash/], ['  ', /empty/], ['cat\0 {}', /NUL byte/]] as const) {
    t.throws(() => compileTemplate(cmd, false), { name: 'TemplateError', message: msg }, cmd);
  }
});

t.test('with shell: true the names are positional parameters of sh -c, never part of the script', async (t) => {
  const tpl = compileTemplate(`pdftotext {} - | wc -w > "{.}.count" 2>'{}'`, true) as ShellTemplate;
  t.equal(tpl.script, `pdftotext "\${1}" - | wc -w > "\${2}.count" 2>'{}'`);
  const name = 'a $(touch pwned); "b".pdf';
  t.same(shellArgsFor(tpl, name), ['-c', tpl.script, 'sh', name, 'a $(touch pwned); "b"', name, '.', 'a $(touch pwned); "b"']);
  t.equal((compileTemplate('wc -c', true) as ShellTemplate).script, 'wc -c "$1"', 'no placeholder: "$1" is appended');
  t.equal((compileTemplate('wc -c < "$1"', true) as ShellTemplate).script, 'wc -c < "$1"', 'a script that names $1 gets nothing appended');
});

t.test('a program is looked up on PATH as execvp does, and must be an executable file', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'plain'), 'not executable', { mode: 0o644 });
  fs.mkdirSync(path.join(dir, 'adir'));
  t.equal(findProgram('tool', `/nonexistent:${dir}`), path.join(dir, 'tool'));
  t.equal(findProgram('plain', dir), null);
  t.equal(findProgram('adir', dir), null);
  t.equal(findProgram('./tool', '', dir), path.join(dir, 'tool'), 'a name with a slash is a path, relative to the cwd');
  t.equal(findProgram('tool', '/usr/bin'), null);
});

t.test('the options schema names a missing program and a bad template under cmd', async (t) => {
  const bad = check(spec.options, { cmd: 'no-such-program-sluice-test {}' }, ['options']);
  t.match(bad, { ok: false, issues: [{ path: ['options', 'cmd'], message: 'program not found on PATH: no-such-program-sluice-test' }] });
  const bad2 = check(spec.options, { cmd: 'cat {} | wc' }, ['options']);
  t.match(bad2, { ok: false, issues: [{ path: ['options', 'cmd'], message: /shell syntax/ }] });
  const good = check(spec.options, { cmd: 'cat {}' });
  t.match(good, { ok: true, value: { cmd: 'cat {}', shell: false, suffix: '.out', max_inline: 65536 } });
  t.match(check(spec.options, { cmd: '{}' }), { ok: true }, 'a program given by a placeholder is not looked up');
});

t.test('exec: stdout comes back inline, capped at max_inline on a character boundary, with stdout_truncated', async (t) => {
  const dir = tmpDir();
  const f = path.join(dir, 'a.txt');
  fs.writeFileSync(f, 'é'.repeat(10)); // 20 bytes
  t.same(await exec(item(f), ctx({ cmd: 'cat' })), { stdout: 'é'.repeat(10), stdout_bytes: 20 });
  t.same(await exec(item(f), ctx({ cmd: 'cat', max_inline: 5 })), { stdout: 'éé', stdout_bytes: 20, stdout_truncated: true });
});

t.test('exec: with an output dir, stdout goes to <out>/<rel><suffix>', async (t) => {
  const dir = tmpDir();
  const f = path.join(dir, 'a.txt');
  fs.writeFileSync(f, 'hello');
  const out = path.join(dir, 'out');
  const r = await exec(item(f, 'sub/a.txt'), ctx({ cmd: 'cat', suffix: '.copy' }, out));
  t.same(r, { stdout_path: path.join(out, 'sub/a.txt.copy'), stdout_bytes: 5 });
  t.equal(fs.readFileSync(path.join(out, 'sub/a.txt.copy'), 'utf8'), 'hello');
  const big = await failure(exec(item(f), ctx({ cmd: 'sh -c \'yes | head -c 100000\'', max_output: 1000 }, out)));
  t.match(big, { code: 'SLUICE_E_EXEC_OUTPUT', message: /stdout passed max_output \(1000 bytes\)/ });
});

t.test('exec: a non-zero exit is SLUICE_E_EXEC_STATUS and a signal SLUICE_E_EXEC_SIGNAL, each with the tail of stderr', async (t) => {
  const dir = tmpDir();
  const f = path.join(dir, 'a.txt');
  fs.writeFileSync(f, 'x');
  const status = await failure(exec(item(f), ctx({ cmd: `sh -c 'echo first line >&2; echo "bad input: $1" >&2; exit 3' sh {}` })));
  t.match(status, { code: 'SLUICE_E_EXEC_STATUS', message: `sh: exit status 3; stderr: first line\nbad input: ${f}` });
  const sig = await failure(exec(item(f), ctx({ cmd: `sh -c 'echo dying >&2; kill -SEGV $$'` })));
  t.match(sig, { code: 'SLUICE_E_EXEC_SIGNAL', message: 'sh: killed by SIGSEGV; stderr: dying' });
  const long = await failure(exec(item(f), ctx({ cmd: `sh -c 'yes error | head -n 5000 >&2; exit 1'` })));
  t.ok(long!.message.length < 2200 && long!.message.endsWith('error\nerror'), 'only the tail of a long stderr');
  t.match(long!.message, /stderr: \.\.\.error/);
});

t.test('exec: a program that vanished after start-up, or a name that is not UTF-8, is SLUICE_E_EXEC_START', async (t) => {
  const dir = tmpDir();
  const f = path.join(dir, 'a.txt');
  fs.writeFileSync(f, 'x');
  t.match(await failure(exec(item(f), ctx({ cmd: path.join(dir, 'gone') }))), { code: 'SLUICE_E_EXEC_START', message: /could not start: ENOENT/ });
  const raw = Buffer.concat([Buffer.from(dir + '/caf'), Buffer.from([0xe9]), Buffer.from('.txt')]);
  t.match(await failure(exec({ ...item(f), file: raw as unknown as string }, ctx({ cmd: 'cat' }))), { code: 'SLUICE_E_EXEC_START', message: /not valid UTF-8/ });
});

t.test('exec: at the deadline (ctx.signal) the whole process group is stopped and the item fails SLUICE_E_TIMEOUT with the stderr tail', async (t) => {
  const dir = tmpDir();
  const f = path.join(dir, 'a.txt');
  fs.writeFileSync(f, 'x');
  const pidFile = path.join(dir, 'grandchild.pid');
  const pids: number[] = [];
  t.teardown(() => killAll(pids));
  const ac = new AbortController();
  const running = failure(exec(item(f), ctx({ cmd: `sh -c 'sleep 1000 & echo $! > "$1"; echo started >&2; wait' sh ${pidFile}` }, null, ac.signal)));
  const grandchild = await pidFrom(pidFile);
  pids.push(grandchild);
  t.ok(alive(grandchild), 'the grandchild runs');
  ac.abort(new (await import('../../lib/core/processor.js')).ItemTimeout(1234));
  t.match(await running, { code: 'SLUICE_E_TIMEOUT', message: 'no result after 1234 ms (map.timeout): sh and its process group were stopped; stderr: started' });
  t.ok(await gone(grandchild), `grandchild ${grandchild} is gone`);
});
