/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The HTML report in a real browser (Debian's Chromium through playwright-core): no console error,
// no request, charts with the counts the run has, hostile names as text, readable on a phone and
// a wide screen, printable.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { hasChromium, launchChromium, CHROMIUM_PATH } from '../../tools/chromium.js';
import { ROOT, sluice, tmpDir } from '../helpers.js';
import { HOSTILE_MESSAGE, HOSTILE_NAME, ranJob } from './report-job.js';

interface Opened { page: Page; consoleErrors: string[]; requests: string[]; dialogs: string[] }

/** The report at `file` in a new page of `browser`, with what it logs, requests and pops up recorded. */
async function open(browser: Browser, file: string, width = 1280): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const o: Opened = { page, consoleErrors: [], requests: [], dialogs: [] };
  const url = new URL(`file://${file}`).href;
  page.on('console', (m) => { if (m.type() === 'error') o.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => o.consoleErrors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) o.requests.push(r.url()); });
  page.on('dialog', (d) => { o.dialogs.push(d.message()); void d.dismiss(); });
  await page.goto(url);
  return o;
}

/** Figures read from the page's DOM. */
function domFigures(page: Page) {
  return page.evaluate(() => {
    const num = (s: string | null | undefined) => Number(s ?? NaN);
    const series = Object.fromEntries([...document.querySelectorAll('polyline.series')].map((p) => [p.getAttribute('data-series'), { declared: num(p.getAttribute('data-points')), drawn: (p.getAttribute('points') ?? '').trim().split(/\s+/).filter(Boolean).length }]));
    return {
      series,
      histogramTotal: [...document.querySelectorAll('g.bar')].reduce((n, g) => n + num(g.getAttribute('data-count')), 0),
      totals: Object.fromEntries([...document.querySelectorAll('[data-total]')].map((d) => [d.getAttribute('data-total'), d.querySelector('b')?.textContent ?? ''])),
      failures: [...document.querySelectorAll('tr.failure')].map((r) => ({ code: r.getAttribute('data-code'), count: num(r.getAttribute('data-count')) })),
      active: document.querySelectorAll('script, img, iframe, object, embed, link, form').length,
      text: document.body.innerText,
      scrollWidth: document.documentElement.scrollWidth,
      textWidth: document.getElementById('totals')!.getBoundingClientRect().width,
    };
  });
}

const timelineSamples = (stateDir: string) => fs.readFileSync(path.join(stateDir, 'progress.ndjson'), 'utf8').split('\n').filter((l) => l.includes('"type":"progress"')).length;

t.test('the HTML reports in a headless Chromium', { skip: hasChromium() ? false : `no browser at ${CHROMIUM_PATH}: apt-get install chromium (.ci/run installs it)` }, async (t) => {
  const browser = await launchChromium();
  t.teardown(() => browser.close());

  t.test('the sample pipeline\'s report, written by the run: no console error, no request, the charts drawn from every timeline sample, the histogram holding every item', async (t) => {
    const dir = tmpDir();
    fs.cpSync(path.join(ROOT, 'pipelines'), path.join(dir, 'pipelines'), { recursive: true, filter: (f) => !/[/\\](out|\.sluice)$/.test(f) });
    const r = await sluice(['run', 'pipelines/pdf-text.yaml', '--progress', 'none'], { cwd: dir });
    t.equal(r.code, 0, r.stderr);
    const o = await open(browser, path.join(dir, 'pipelines/out/report.html'));
    const d = await domFigures(o.page);
    t.same(o.consoleErrors, [], 'no console error (a blocked request would log one)');
    t.same(o.requests, [], 'no request');
    const samples = timelineSamples(path.join(dir, 'pipelines/.sluice/pdf-text'));
    t.ok(samples >= 2, `${samples} timeline samples`);
    for (const name of ['items/s', 'in flight', 'MB/s', 'RSS MB']) t.same(d.series[name], { declared: samples, drawn: samples }, `${name}: a point per sample`);
    t.equal(d.histogramTotal, 14, 'the duration histogram holds the 14 documents');
    t.match(d.totals, { ok: '14', failed: '0' });
    t.match(d.text, /The run went to its end\. 14 ok, 0 failed/);
    t.match(d.text, /Command: sluice run pipelines\/pdf-text\.yaml --progress none\./, 'the command that produced it');
    const shot = path.join(dir, 'report.png');
    await o.page.screenshot({ path: shot, fullPage: true });
    t.ok(fs.readFileSync(shot).subarray(1, 4).toString() === 'PNG' && fs.statSync(shot).size > 10_000, `a screenshot: ${shot}`);
  });

  t.test('a report with failures and hostile names: the names and messages render as text, nothing runs, no element that loads anything; readable at 375 px and 1600 px; prints', async (t) => {
    const { dir, run: r } = await ranJob();
    t.equal(r.code, 1, r.stderr);
    const out = await sluice(['report', '--state', 'st', '-o', 'report.html'], { cwd: dir });
    t.equal(out.code, 0, out.stderr);
    const o = await open(browser, path.join(dir, 'report.html'));
    const d = await domFigures(o.page);
    t.same(o.consoleErrors, [], 'no console error');
    t.same(o.requests, [], 'no request: the hostile <img src=x> is no element');
    t.same(o.dialogs, [], 'no script ran: no alert');
    t.equal(d.active, 0, 'no script, img, iframe, object, embed, link or form element');
    t.ok(d.text.includes(HOSTILE_NAME), 'the hostile file name shown as text');
    t.ok(d.text.includes(HOSTILE_MESSAGE), 'the hostile message shown as text');
    t.same(d.failures, [{ code: 'SLUICE_E_PROCESSOR', count: 2 }], 'failures by code, with their count');
    t.match(d.totals, { ok: '60', failed: '2' });
    t.equal(d.histogramTotal, 62, 'the duration histogram holds the 62 items');
    await o.page.screenshot({ path: path.join(dir, 'report-wide.png'), fullPage: true });

    await o.page.setViewportSize({ width: 375, height: 800 });
    const phone = await domFigures(o.page);
    t.ok(phone.scrollWidth <= 375, `a phone-sized screen: no sideways scrolling (page ${phone.scrollWidth} px wide)`);
    await o.page.screenshot({ path: path.join(dir, 'report-phone.png'), fullPage: true });
    await o.page.setViewportSize({ width: 1600, height: 900 });
    const wide = await domFigures(o.page);
    t.ok(wide.textWidth <= 1100 && wide.scrollWidth <= 1600, `a wide screen: the text stays a readable width (${wide.textWidth} px)`);

    const pdf = await o.page.pdf({ format: 'A4' });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
    t.ok(pdf.subarray(0, 5).toString() === '%PDF-' && pages >= 1 && pages <= 6, `printed on paper: ${pages} A4 pages`);
  });
});
