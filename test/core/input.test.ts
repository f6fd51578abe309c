// Reading inputs: a FIFO, a device or a symlink put where the walk saw a regular file is never
// read (and never blocks); content keys are bounded in time; a huge non-PDF costs one small read.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inputChunks, openInput } from '../../lib/core/input.js';
import { contentKey, contentKeyWithin, metaKey } from '../../lib/checkpoint/keys.js';
import { Dedupe } from '../../lib/stages/dedupe.js';
import { readPdfBytes } from '../../lib/processors/pdf.js';
import sha256 from '../../lib/processors/sha256.js';
import { toErrorInfo } from '../../lib/core/errors.js';
import type { Item } from '../../lib/core/item.js';
import { tmpDir } from '../helpers.js';

/** Settles with the promise, or with 'still waiting' after `ms`: a bound on waiting, not a speed test. */
function within<T>(p: Promise<T>, ms = 10_000): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout;
  return Promise.race([p.finally(() => clearTimeout(timer)), new Promise<'still waiting'>((r) => { timer = setTimeout(() => r('still waiting'), ms); timer.unref(); })]);
}

const settle = (p: Promise<unknown>) => p.then((v) => ({ ok: v }), (err: unknown) => ({ err: err as { code?: string; message?: string } }));

function fifo(dir: string, name = 'pipe.pdf'): string {
  const f = path.join(dir, name);
  execFileSync('mkfifo', [f]);
  return f;
}

t.test('a FIFO where a regular file was is refused at open with SLUICE_E_NOT_REGULAR, without waiting for a writer', async (t) => {
  const f = fifo(tmpDir());
  const item = { file: f, path: 'in/pipe.pdf' };
  t.match(await within(settle(openInput(item))), { err: { code: 'SLUICE_E_NOT_REGULAR', message: /in\/pipe\.pdf is a FIFO now/ } });
  t.match(await within(settle(readPdfBytes(item))), { err: { code: 'SLUICE_E_NOT_REGULAR' } }, 'pdf-text and pdf-info');
  t.match(await within(settle(sha256({ ...item, rel: 'pipe.pdf', size: 0, mtime_ms: 0 }))), { err: { code: 'SLUICE_E_NOT_REGULAR' } }, 'sha256');
  t.match(await within(settle(contentKey(item))), { err: { code: 'SLUICE_E_NOT_REGULAR' } }, 'dedupe content keys');
});

t.test('a symlink where the walk saw a regular file is not followed; one the user asked for is', async (t) => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'secret'), 'not yours');
  const link = path.join(dir, 'doc.txt');
  fs.symlinkSync(path.join(dir, 'secret'), link);
  t.match(await settle(openInput({ file: link, path: 'doc.txt' })), { err: { code: 'SLUICE_E_NOT_REGULAR', message: /symbolic link/ } });
  const followed = await openInput({ file: link, path: 'doc.txt', follow: true });
  t.equal(followed.size, 9);
  await followed.fh.close();
  // a followed link to a device is still not a regular file
  fs.symlinkSync('/dev/zero', path.join(dir, 'zero'));
  t.match(await settle(openInput({ file: path.join(dir, 'zero'), path: 'zero', follow: true })), { err: { code: 'SLUICE_E_NOT_REGULAR', message: /character device/ } });
  t.match(await settle(openInput({ file: dir, path: 'dir', follow: true })), { err: { code: 'SLUICE_E_NOT_REGULAR', message: /directory/ } });
  t.match(await settle(openInput({ file: path.join(dir, 'gone'), path: 'gone' })), { err: { code: 'ENOENT' } }, 'a vanished file keeps its cause');
});

t.test('inputChunks reads every byte of a file larger than one chunk', async (t) => {
  const dir = tmpDir();
  const data = Buffer.alloc(3 * 1024 + 17, 7);
  fs.writeFileSync(path.join(dir, 'f'), data);
  let n = 0;
  for await (const c of inputChunks({ file: path.join(dir, 'f'), path: 'f' }, 1024)) n += c.length;
  t.equal(n, data.length);
});

t.test('pdf-text checks the %PDF- header on the first bytes: a 3 GiB file that is not a PDF is refused, not read whole', async (t) => {
  const f = path.join(tmpDir(), 'huge.pdf');
  const fd = fs.openSync(f, 'w');
  fs.writeSync(fd, 'MZ not a pdf');
  fs.ftruncateSync(fd, 3 * 2 ** 30); // sparse: takes no disk
  fs.closeSync(fd);
  t.match(await settle(readPdfBytes({ file: f, path: 'huge.pdf' })), { err: { code: 'SLUICE_E_PDF_INVALID', message: /no %PDF- header in the first 1024 bytes/ } });
  const empty = path.join(tmpDir(), 'empty.pdf');
  fs.writeFileSync(empty, '');
  t.match(await settle(readPdfBytes({ file: empty, path: 'empty.pdf' })), { err: { code: 'SLUICE_E_PDF_EMPTY' } });
});

t.test('content dedupe with a FIFO in a walked file\'s place passes it on, keyed by path+size+mtime, instead of hanging', async (t) => {
  const dir = tmpDir();
  const item: Item = { path: 'in/pipe.pdf', file: fifo(dir), root: dir, rel: 'pipe.pdf', size: 10, mtime_ms: 1 };
  const out: Item[] = [];
  const run = pipeline(Readable.from([item]), new Dedupe({ isDone: () => false }, 'content'), new Writable({ objectMode: true, write(i: Item, _e, cb) { out.push(i); cb(); } }));
  t.not(await within(run), 'still waiting', 'the stage finished');
  t.equal(out.length, 1);
  t.equal(out[0]!.key, metaKey(item));
  t.equal(out[0]!.failure, undefined, 'the map stage fails it with its own cause (SLUICE_E_NOT_REGULAR)');
});

t.test('a content key that does not come within the timeout fails the item with SLUICE_E_TIMEOUT; the stage goes on', async (t) => {
  const never = () => new Promise<string>(() => {});
  t.match(await settle(contentKeyWithin({ file: 'x', path: 'in/x' }, 50, never)), { err: { code: 'SLUICE_E_TIMEOUT', message: /took longer than 50 ms/ } });
  const items: Item[] = ['a', 'b'].map((n) => ({ path: `in/${n}`, file: `/nonexistent/${n}`, root: '/', rel: n, size: 1, mtime_ms: 1 }));
  const out: Item[] = [];
  await pipeline(Readable.from(items), new Dedupe({ isDone: () => false }, 'content', () => {}, 50, never),
    new Writable({ objectMode: true, write(i: Item, _e, cb) { out.push(i); cb(); } }));
  t.same(out.map((i) => [i.rel, i.failure?.code]), [['a', 'SLUICE_E_TIMEOUT'], ['b', 'SLUICE_E_TIMEOUT']]);
});

t.test('out of file descriptors while hashing stops the stage with SLUICE_E_FD_LIMIT', async (t) => {
  const emfile = () => Promise.reject(Object.assign(new Error('EMFILE: too many open files, open \'x\''), { code: 'EMFILE' }));
  const item: Item = { path: 'in/a', file: '/x', root: '/', rel: 'a', size: 1, mtime_ms: 1 };
  const run = pipeline(Readable.from([item]), new Dedupe({ isDone: () => false }, 'content', () => {}, 1000, emfile), new Writable({ objectMode: true, write(_i, _e, cb) { cb(); } }));
  await t.rejects(run, { code: 'SLUICE_E_FD_LIMIT' });
});

t.test('EMFILE and ENFILE are SLUICE_E_FD_LIMIT, whatever threw them', async (t) => {
  for (const code of ['EMFILE', 'ENFILE']) t.match(toErrorInfo(Object.assign(new Error(`${code}: too many open files`), { code })), { code: 'SLUICE_E_FD_LIMIT' });
});
