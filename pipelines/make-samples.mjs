#!/usr/bin/env node
// Generates the demo documents in pipelines/samples/: small PDFs that look like the
// contents of a real document folder (an invoice with a table, a multi-page report, a
// letter, minutes, a two-column paper, a manual with code, a multilingual notice with an
// embedded subset font, a scanned receipt with no text layer, ...).
//
// Run it from the repository root after `npm ci`:   node pipelines/make-samples.mjs
// Needs: pdf-lib and @pdf-lib/fontkit (devDependencies), the DejaVu fonts
// (apt-get install fonts-dejavu-core) and pdftoppm (apt-get install poppler-utils),
// which renders the page that the "scanned" sample carries as an image.
// The output is committed; dates and IDs are fixed so reruns give the same documents.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PDFDocument, StandardFonts, rgb, degrees } from 'pdf-lib';
import fontkit from '@pdf-lib/fontkit';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.join(HERE, 'samples');
const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const A4 = [595.28, 841.89];
const LETTER = [612, 792];
const GREY = rgb(0.35, 0.35, 0.35);
const LIGHT = rgb(0.9, 0.9, 0.9);

function die(msg) {
  process.stderr.write(`make-samples: ${msg}\n`);
  process.exit(1);
}
if (!fs.existsSync(DEJAVU)) die(`${DEJAVU} not found: apt-get install fonts-dejavu-core`);

/** A document under construction: a cursor that flows text down pages. */
class Writer {
  static async create(meta, size = A4) {
    const doc = await PDFDocument.create({ updateMetadata: false });
    doc.registerFontkit(fontkit);
    const w = new Writer(doc, size);
    w.fonts = {
      regular: await doc.embedFont(StandardFonts.Helvetica),
      bold: await doc.embedFont(StandardFonts.HelveticaBold),
      serif: await doc.embedFont(StandardFonts.TimesRoman),
      serifBold: await doc.embedFont(StandardFonts.TimesRomanBold),
      serifItalic: await doc.embedFont(StandardFonts.TimesRomanItalic),
      mono: await doc.embedFont(StandardFonts.Courier),
    };
    if (meta) {
      doc.setTitle(meta.title);
      doc.setAuthor(meta.author);
      if (meta.subject) doc.setSubject(meta.subject);
      if (meta.keywords) doc.setKeywords(meta.keywords);
      doc.setCreator(meta.creator ?? 'sluice sample generator');
      doc.setProducer('pdf-lib (https://github.com/Hopding/pdf-lib)');
      doc.setCreationDate(new Date(meta.date));
      doc.setModificationDate(new Date(meta.date));
    }
    w.newPage();
    return w;
  }

  constructor(doc, size) {
    this.doc = doc;
    this.size = size;
    this.margin = 64;
  }

  newPage() {
    this.page = this.doc.addPage(this.size);
    this.y = this.size[1] - this.margin;
    return this.page;
  }

  ensure(h) {
    if (this.y - h < this.margin) this.newPage();
  }

  wrap(text, font, size, width) {
    const lines = [];
    for (const para of text.split('\n')) {
      let line = '';
      for (const word of para.split(' ')) {
        const next = line ? `${line} ${word}` : word;
        if (font.widthOfTextAtSize(next, size) > width && line) {
          lines.push(line);
          line = word;
        } else line = next;
      }
      lines.push(line);
    }
    return lines;
  }

  text(text, { font = this.fonts.serif, size = 11, gap = 4, x = this.margin, width = this.size[0] - 2 * this.margin, color } = {}) {
    for (const line of this.wrap(text, font, size, width)) {
      this.ensure(size + gap);
      this.y -= size;
      this.page.drawText(line, { x, y: this.y, size, font, color });
      this.y -= gap;
    }
  }

  heading(text, size = 16) {
    this.y -= 6;
    this.text(text, { font: this.fonts.bold, size, gap: 8 });
  }

  space(h = 10) {
    this.y -= h;
  }

  rule() {
    this.page.drawLine({ start: { x: this.margin, y: this.y }, end: { x: this.size[0] - this.margin, y: this.y }, thickness: 0.6, color: GREY });
    this.y -= 8;
  }

  /** A ruled table; widths are fractions of the text width; numeric columns right-aligned. */
  table(head, rows, widths, { size = 9.5, right = [] } = {}) {
    const total = this.size[0] - 2 * this.margin;
    const xs = [];
    let x = this.margin;
    for (const f of widths) {
      xs.push(x);
      x += f * total;
    }
    const rowH = size + 8;
    const draw = (cells, font, shade) => {
      this.ensure(rowH);
      if (shade) this.page.drawRectangle({ x: this.margin, y: this.y - rowH, width: total, height: rowH, color: LIGHT });
      cells.forEach((c, i) => {
        const s = String(c);
        const w = font.widthOfTextAtSize(s, size);
        const cx = right.includes(i) ? xs[i] + widths[i] * total - w - 4 : xs[i] + 4;
        this.page.drawText(s, { x: cx, y: this.y - size - 3, size, font });
      });
      this.y -= rowH;
      this.page.drawLine({ start: { x: this.margin, y: this.y }, end: { x: this.margin + total, y: this.y }, thickness: 0.4, color: GREY });
    };
    draw(head, this.fonts.bold, true);
    rows.forEach((r) => draw(r, this.fonts.regular, false));
    this.y -= 10;
  }

  footer(label) {
    const pages = this.doc.getPages();
    pages.forEach((p, i) => {
      p.drawText(`${label} — page ${i + 1} of ${pages.length}`, { x: this.margin, y: 30, size: 8, font: this.fonts.regular, color: GREY });
    });
  }

  async save(file) {
    const bytes = await this.doc.save({ useObjectStreams: false });
    const dest = path.join(OUT, file);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, bytes);
    return dest;
  }
}

const LOREM = [
  'The committee reviewed the figures for the period and noted that shipping volumes recovered after the slow start of the quarter, driven mostly by the northern warehouses.',
  'Costs rose faster than revenue in two regions. Freight surcharges and the renewal of the storage lease explain most of the difference; both are expected to ease next year.',
  'Customer complaints fell by a fifth after the new returns process went live. The average time to resolve a ticket is now under two working days.',
  'Staff turnover remained low. Two positions in the planning team are open and interviews are scheduled for the first half of next month.',
  'The board asked for a clearer breakdown of capital expenditure by site, and for the forecast to show the effect of the delayed software migration separately.',
];

const samples = {
  async 'invoice-2024-0117.pdf'() {
    const w = await Writer.create({ title: 'Invoice 2024-0117', author: 'Brightwater Supplies Ltd', subject: 'Invoice', date: '2024-01-17T09:30:00Z', creator: 'Brightwater Billing 4.2' });
    w.text('BRIGHTWATER SUPPLIES LTD', { font: w.fonts.bold, size: 18 });
    w.text('14 Harbour Road, Leith, Edinburgh EH6 6LT  ·  VAT GB 284 1190 37', { font: w.fonts.regular, size: 9, color: GREY });
    w.space(20);
    w.text('INVOICE 2024-0117', { font: w.fonts.bold, size: 14 });
    w.text('Date: 17 January 2024        Due: 16 February 2024        Customer no.: C-00842', { font: w.fonts.regular, size: 10 });
    w.space(6);
    w.text('Bill to: Northfield Primary School, Accounts Office, 3 Mill Lane, Dunfermline KY12 7AB', { font: w.fonts.regular, size: 10 });
    w.space(14);
    w.table(
      ['Item', 'Description', 'Qty', 'Unit price', 'Amount'],
      [
        ['A4-80', 'Copier paper A4 80 g/m², box of 5 reams', '12', '24.50', '294.00'],
        ['TN-245C', 'Toner cartridge, cyan', '3', '61.20', '183.60'],
        ['TN-245M', 'Toner cartridge, magenta', '3', '61.20', '183.60'],
        ['LAM-A3', 'Laminating pouches A3, pack of 100', '2', '18.95', '37.90'],
        ['DEL', 'Delivery, next working day', '1', '12.00', '12.00'],
      ],
      [0.13, 0.47, 0.1, 0.15, 0.15],
      { right: [2, 3, 4] },
    );
    w.table(['', '', '', 'Subtotal', '711.10'], [['', '', '', 'VAT 20%', '142.22'], ['', '', '', 'Total GBP', '853.32']], [0.13, 0.47, 0.1, 0.15, 0.15], { right: [3, 4] });
    w.text('Payment by bank transfer to sort code 80-22-60, account 10442871, quoting the invoice number. Thank you for your order.', { font: w.fonts.regular, size: 9 });
    return w.save('invoice-2024-0117.pdf');
  },

  async 'quarterly-report-q3.pdf'() {
    const w = await Writer.create({ title: 'Quarterly Operations Report, Q3 2024', author: 'Operations Planning', subject: 'Quarterly report', keywords: ['operations', 'report', 'Q3'], date: '2024-10-08T14:00:00Z' });
    w.text('Quarterly Operations Report', { font: w.fonts.serifBold, size: 24, gap: 10 });
    w.text('Third quarter 2024  -  prepared for the management board', { font: w.fonts.serifItalic, size: 12 });
    w.space(20);
    const sections = ['1. Summary', '2. Volumes', '3. Costs', '4. Customers', '5. People', '6. Outlook'];
    sections.forEach((s, i) => {
      w.heading(s);
      for (let k = 0; k < 4; k++) w.text(LOREM[(i + k) % LOREM.length]), w.space(4);
      if (s === '2. Volumes') {
        w.table(['Site', 'July', 'August', 'September', 'Change'], [
          ['Aberdeen', '4,210', '4,388', '4,902', '+8.1%'],
          ['Dundee', '3,075', '2,960', '3,341', '+4.4%'],
          ['Glasgow', '9,802', '10,115', '10,870', '+6.9%'],
          ['Inverness', '1,144', '1,230', '1,198', '-1.2%'],
        ], [0.28, 0.18, 0.18, 0.18, 0.18], { right: [1, 2, 3, 4] });
      }
    });
    w.footer('Quarterly Operations Report Q3 2024');
    return w.save('quarterly-report-q3.pdf');
  },

  async 'letter-to-tenant.pdf'() {
    const w = await Writer.create({ title: 'Notice of rent review', author: 'Kestrel Property Management', date: '2024-05-02T08:15:00Z' }, LETTER);
    w.text('Kestrel Property Management', { font: w.fonts.serifBold, size: 14 });
    w.text('22 Queen Street, Bristol BS1 4JQ', { font: w.fonts.serif, size: 10 });
    w.space(30);
    w.text('Ms J. Okafor\nFlat 3, 41 Cotham Hill\nBristol BS6 6JY', { size: 11 });
    w.space(20);
    w.text('2 May 2024');
    w.space(14);
    w.text('Dear Ms Okafor,');
    w.space(8);
    w.text('Re: Notice of rent review for Flat 3, 41 Cotham Hill', { font: w.fonts.serifBold });
    w.space(8);
    w.text('Under clause 4.2 of your tenancy agreement the rent is reviewed once a year. Following this year\'s review, the monthly rent will change from £975.00 to £1,010.00 with effect from 1 July 2024. Your standing order will need to be updated before that date.');
    w.space(8);
    w.text('We have also arranged for the communal hallway to be redecorated during the week of 10 June. The contractors will need access to the meter cupboard on the ground floor but not to your flat.');
    w.space(8);
    w.text('If you have any questions about this notice, please contact me on 0117 496 0321 or by replying to this letter.');
    w.space(20);
    w.text('Yours sincerely,');
    w.space(30);
    w.text('Daniel Reeve\nProperty Manager', { font: w.fonts.serifItalic });
    return w.save('letter-to-tenant.pdf');
  },

  async 'meeting-minutes-2024-03-12.pdf'() {
    const w = await Writer.create({ title: 'Minutes of the Residents Association, 12 March 2024', author: 'Secretary, Elm Park Residents Association', date: '2024-03-13T19:45:00Z' });
    w.heading('Elm Park Residents Association', 18);
    w.text('Minutes of the meeting held on 12 March 2024 at the Community Hall, 7.00 pm', { font: w.fonts.serifItalic });
    w.space(10);
    w.text('Present: A. Murray (chair), P. Singh (secretary), R. Davies (treasurer), L. Chen, M. Novak, T. O\'Brien. Apologies: S. Walker.');
    const items = [
      ['1. Minutes of the last meeting', 'The minutes of 13 February were approved without changes.'],
      ['2. Treasurer\'s report', 'The balance stands at £2,431.18. The spring newsletter will cost about £180 to print. The treasurer will ask the council about the small grants scheme.'],
      ['3. Street lighting', 'Three lamps on Beech Walk are still out. The secretary reported the fault again on 4 March (reference SL-55210). Action: P. Singh to follow up if not fixed by the next meeting.'],
      ['4. Spring clean-up day', 'Agreed for Saturday 20 April, 10 am to 1 pm, meeting at the play park. L. Chen will borrow litter pickers from the council depot. Volunteers to sign up on the notice board.'],
      ['5. Any other business', 'M. Novak raised parking on the corner of Oak Road; the chair will write to the highways team. No other business.'],
    ];
    for (const [h, body] of items) {
      w.text(h, { font: w.fonts.bold, size: 11, gap: 6 });
      w.text(body);
      w.space(8);
    }
    w.text('Next meeting: Tuesday 9 April 2024, 7.00 pm, Community Hall.', { font: w.fonts.serifBold });
    return w.save('meeting-minutes-2024-03-12.pdf');
  },

  async 'two-column-paper.pdf'() {
    const w = await Writer.create({ title: 'Bounded Queues for Batch Document Processing', author: 'R. Alvarez; K. Lindqvist', subject: 'Workshop paper', keywords: ['backpressure', 'batch processing'], date: '2023-11-20T10:00:00Z', creator: 'LaTeX with hyperref' }, LETTER);
    w.text('Bounded Queues for Batch Document Processing', { font: w.fonts.serifBold, size: 17, gap: 8 });
    w.text('R. Alvarez  and  K. Lindqvist', { font: w.fonts.serif, size: 11 });
    w.space(16);
    const colW = (w.size[0] - 2 * w.margin - 18) / 2;
    const body = [
      'Abstract. We study pipelines that process large folders of documents with a fixed amount of memory. A pipeline that reads faster than it can process must either block or buffer; unbounded buffering is the most common cause of failure we observed in practice.',
      '1 Introduction. Batch jobs over document collections are usually written as a loop over a directory listing. Such loops are simple but lose all progress on a crash and hold the whole listing in memory.',
      '2 Design. Each stage holds at most a fixed number of items. When a downstream stage is slow, upstream stages stop reading; memory use is therefore independent of the number of documents.',
      '3 Evaluation. On a collection of one million small files, peak memory grew by less than ten percent compared with ten thousand files, while throughput was limited by the slowest stage.',
      '4 Related work. Stream processing systems have long used credit-based flow control; our contribution is applying it to one-machine batch jobs with resumable checkpoints.',
      '5 Conclusion. Bounded queues and an append-only journal make batch document processing predictable: constant memory, exact resume, and clear failure reports.',
    ];
    const top = w.y;
    let col = 0;
    for (const para of body) {
      for (const line of w.wrap(para, w.fonts.serif, 10, colW)) {
        if (w.y - 14 < w.margin) {
          if (col === 0) { col = 1; w.y = top; } else { w.newPage(); col = 0; }
        }
        w.y -= 10;
        w.page.drawText(line, { x: w.margin + col * (colW + 18), y: w.y, size: 10, font: w.fonts.serif });
        w.y -= 3.5;
      }
      w.y -= 8;
    }
    return w.save('two-column-paper.pdf');
  },

  async 'type-specimen.pdf'() {
    const w = await Writer.create({ title: 'Type specimen', author: 'Studio Fennel', date: '2022-06-30T16:20:00Z' });
    const pangram = 'Sphinx of black quartz, judge my vow. 0123456789';
    for (const [name, key] of [['Helvetica', StandardFonts.Helvetica], ['Helvetica Bold', StandardFonts.HelveticaBold], ['Times Roman', StandardFonts.TimesRoman], ['Times Italic', StandardFonts.TimesRomanItalic], ['Courier', StandardFonts.Courier], ['Courier Bold', StandardFonts.CourierBold]]) {
      const font = await w.doc.embedFont(key);
      w.text(name, { font: w.fonts.bold, size: 10, color: GREY });
      for (const size of [9, 14, 22]) w.text(pangram, { font, size, gap: 6 });
      w.space(10);
    }
    return w.save('type-specimen.pdf');
  },

  async 'multilingual-notice.pdf'() {
    const w = await Writer.create({ title: 'Visitor notice in four languages', author: 'City Museum', date: '2024-02-14T11:00:00Z' });
    const dejavu = await w.doc.embedFont(fs.readFileSync(DEJAVU), { subset: true });
    const f = { font: dejavu, size: 11, gap: 5 };
    w.text('Visitor notice', { font: dejavu, size: 18, gap: 10 });
    w.text('The museum is closed on Mondays. Photography without flash is welcome in all galleries.', f);
    w.space(10);
    w.text('Ανακοίνωση προς τους επισκέπτες', { font: dejavu, size: 14, gap: 8 });
    w.text('Το μουσείο είναι κλειστό τις Δευτέρες. Η φωτογράφιση χωρίς φλας επιτρέπεται σε όλες τις αίθουσες.', f);
    w.space(10);
    w.text('Объявление для посетителей', { font: dejavu, size: 14, gap: 8 });
    w.text('Музей закрыт по понедельникам. Фотосъёмка без вспышки разрешена во всех залах.', f);
    w.space(10);
    w.text('Avis aux visiteurs', { font: dejavu, size: 14, gap: 8 });
    w.text('Le musée est fermé le lundi. Les photographies sans flash sont autorisées dans toutes les salles — merci de votre compréhension.', f);
    return w.save('multilingual-notice.pdf');
  },

  async 'scanned-receipt.pdf'() {
    // Render a receipt to an image with pdftoppm, then put only the image on the page:
    // what a scanner produces, and what text extraction must report as having no text.
    const src = await Writer.create(null, [300, 420]);
    src.margin = 24;
    src.y = 420 - 24;
    src.text('CORNER HARDWARE', { font: src.fonts.bold, size: 13 });
    src.text('12 Station Rd  Tel 01632 960 114', { font: src.fonts.mono, size: 7 });
    src.space(8);
    for (const [a, b] of [['Wood screws 4x40 (200)', '6.49'], ['Wall plugs brown (100)', '2.99'], ['Masking tape 25mm', '3.25'], ['Sandpaper assorted', '4.10'], ['Paint brush 2in', '5.50']]) {
      src.text(`${a.padEnd(26)}${b.padStart(7)}`, { font: src.fonts.mono, size: 8 });
    }
    src.space(6);
    src.text(`${'TOTAL'.padEnd(26)}${'22.33'.padStart(7)}`, { font: src.fonts.mono, size: 9 });
    src.text('CARD  ****4417   11/03/2024 15:42', { font: src.fonts.mono, size: 7 });
    src.text('Thank you - keep this receipt', { font: src.fonts.mono, size: 7 });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-scan-'));
    fs.writeFileSync(path.join(tmp, 'r.pdf'), await src.doc.save());
    try {
      execFileSync('pdftoppm', ['-png', '-gray', '-r', '110', '-singlefile', path.join(tmp, 'r.pdf'), path.join(tmp, 'r')], { stdio: ['ignore', 'ignore', 'inherit'] });
    } catch (e) {
      die(`pdftoppm failed (${e.message}): apt-get install poppler-utils`);
    }
    const png = fs.readFileSync(path.join(tmp, 'r.png'));
    fs.rmSync(tmp, { recursive: true, force: true });
    const doc = await PDFDocument.create({ updateMetadata: false });
    doc.setCreator('Canon CanoScan LiDE 300');
    doc.setProducer('ScanGear');
    doc.setCreationDate(new Date('2024-03-11T16:05:00Z'));
    doc.setModificationDate(new Date('2024-03-11T16:05:00Z'));
    const img = await doc.embedPng(png);
    const page = doc.addPage(A4);
    page.drawRectangle({ x: 0, y: 0, width: A4[0], height: A4[1], color: rgb(0.97, 0.97, 0.95) });
    page.drawImage(img, { x: 150, y: 300, width: 300, height: 420, rotate: degrees(1.2) });
    const dest = path.join(OUT, 'scanned-receipt.pdf');
    fs.writeFileSync(dest, await doc.save({ useObjectStreams: false }));
    return dest;
  },

  async 'product-datasheet.pdf'() {
    const w = await Writer.create({ title: 'HX-220 Humidity Sensor Datasheet', author: 'Halden Instruments', subject: 'Datasheet', date: '2023-08-01T07:00:00Z' });
    w.heading('HX-220 Digital Humidity and Temperature Sensor', 17);
    w.text('Rev. C  -  August 2023', { font: w.fonts.regular, size: 9, color: GREY });
    w.space(8);
    w.text('The HX-220 measures relative humidity and temperature and reports both over I2C. It is calibrated at the factory and needs no adjustment in the field.');
    w.space(8);
    w.table(['Parameter', 'Min', 'Typ', 'Max', 'Unit'], [
      ['Supply voltage', '2.4', '3.3', '5.5', 'V'],
      ['Supply current (measuring)', '', '290', '450', 'µA'],
      ['Humidity range', '0', '', '100', '%RH'],
      ['Humidity accuracy', '', '±2', '', '%RH'],
      ['Temperature range', '-40', '', '125', 'C'],
      ['Temperature accuracy', '', '0.2', '0.4', 'C'],
      ['Response time (63%)', '', '8', '', 's'],
    ], [0.4, 0.15, 0.15, 0.15, 0.15], { right: [1, 2, 3] });
    w.heading('Ordering information', 12);
    w.text('HX-220-T: tape and reel, 2,500 units.  HX-220-B: bulk, 100 units.  HX-220-EVB: evaluation board with USB interface.', { font: w.fonts.regular, size: 10 });
    return w.save('product-datasheet.pdf');
  },

  async 'timesheet-week-12.pdf'() {
    const w = await Writer.create({ title: 'Timesheet week 12', author: 'M. Novak', date: '2024-03-22T17:30:00Z' }, [A4[1], A4[0]]);
    w.heading('Timesheet  -  week 12 (18-22 March 2024)', 15);
    w.text('Employee: Marta Novak    Department: Field Services    Manager: A. Murray', { font: w.fonts.regular, size: 10 });
    w.space(8);
    w.table(['Project', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Total'], [
      ['P-1042 Boiler replacement', '7.5', '7.5', '4.0', '', '', '19.0'],
      ['P-1051 Survey, Oak Road', '', '', '3.5', '7.5', '', '11.0'],
      ['Training: gas safety', '', '', '', '', '6.0', '6.0'],
      ['Travel', '0.5', '0.5', '', '', '1.5', '2.5'],
      ['Total', '8.0', '8.0', '7.5', '7.5', '7.5', '38.5'],
    ], [0.37, 0.09, 0.09, 0.09, 0.09, 0.09, 0.18], { right: [1, 2, 3, 4, 5, 6] });
    w.text('I confirm that the hours above are correct.   Signed: M. Novak   Approved: A. Murray', { font: w.fonts.serifItalic, size: 10 });
    return w.save('timesheet-week-12.pdf');
  },

  async 'user-manual-excerpt.pdf'() {
    const w = await Writer.create({ title: 'Backup Agent User Manual (excerpt)', author: 'Tern Software', date: '2024-07-19T12:00:00Z' });
    const code = (s) => w.text(s, { font: w.fonts.mono, size: 9, gap: 3, x: w.margin + 16 });
    w.heading('Chapter 3. Scheduling backups', 18);
    w.text('The agent reads its schedule from a configuration file. Each entry names a source directory, a destination and a time. Backups that are missed while the machine is off run at the next start.');
    w.space(6);
    code('schedule:\n  - source: /home\n    dest: s3://backups/home\n    at: "02:30"\n  - source: /etc\n    dest: s3://backups/etc\n    at: "03:00"');
    w.space(6);
    w.heading('3.1 Checking the schedule', 13);
    w.text('Run the following command to list the next five runs and the estimated size of each:');
    code('$ tern-agent schedule --next 5\n2024-07-20 02:30  /home  ~14.2 GB\n2024-07-20 03:00  /etc   ~3.1 MB');
    for (const p of LOREM) w.text(p), w.space(4);
    w.heading('3.2 Retention', 13);
    w.text('By default the agent keeps daily backups for 14 days, weekly backups for 8 weeks and monthly backups for 12 months. Change this with the retention key:');
    code('retention: { daily: 7, weekly: 4, monthly: 24 }');
    for (const p of LOREM.slice().reverse()) w.text(p), w.space(4);
    w.heading('3.3 Troubleshooting', 13);
    w.text('If a backup fails, the agent writes the reason to its log and retries three times with increasing delays. Permanent errors, such as a missing source directory, are not retried.');
    code('$ tern-agent log --since yesterday --level error');
    for (const p of LOREM) w.text(p), w.space(4);
    w.footer('Backup Agent User Manual');
    return w.save('user-manual-excerpt.pdf');
  },

  async 'press-release.pdf'() {
    const w = await Writer.create({ title: 'Press release: new ferry timetable', author: 'Island Ferries Press Office', date: '2024-04-25T06:00:00Z' });
    w.text('FOR IMMEDIATE RELEASE', { font: w.fonts.bold, size: 10, color: GREY });
    w.space(6);
    w.text('Island Ferries announces summer timetable with extra evening sailings', { font: w.fonts.serifBold, size: 18, gap: 8 });
    w.space(6);
    w.text('OBAN, 25 April 2024 - From 17 May, Island Ferries will add two evening sailings a day between Oban and Craignure, bringing the total to eleven return crossings on weekdays. The change follows a consultation in which more than 1,400 residents and businesses took part.');
    w.space(6);
    w.text('"Islanders told us clearly that the last crossing was too early for people working on the mainland," said operations director Fiona MacLeod. "The new sailings fix that without reducing the morning service."');
    w.space(6);
    w.text('Tickets for the new sailings go on sale on 2 May. The full timetable is available at the ticket offices and from the company\'s customer line.');
    w.space(10);
    w.text('Media contact: press@example.org, 01631 555 0182', { font: w.fonts.regular, size: 9 });
    return w.save('press-release.pdf');
  },

  async 'conference-agenda.pdf'() {
    const w = await Writer.create({ title: 'Regional Archives Day: agenda', author: 'Archives Network', date: '2024-09-02T10:00:00Z' });
    w.heading('Regional Archives Day  -  Saturday 5 October 2024', 16);
    w.text('Main hall, County Library. Registration from 9.00.', { font: w.fonts.serifItalic });
    w.space(8);
    w.table(['Time', 'Session', 'Speaker'], [
      ['09:30', 'Welcome and introduction', 'H. Grant'],
      ['09:45', 'Digitising parish registers on a small budget', 'S. Ahmed'],
      ['10:30', 'OCR for handwritten records: what works today', 'P. Kowalski'],
      ['11:15', 'Coffee', ''],
      ['11:45', 'Keeping millions of files: checksums and fixity', 'E. Rossi'],
      ['12:30', 'Lunch', ''],
      ['13:30', 'Workshop: describing collections for search', 'All'],
      ['15:00', 'Close', ''],
    ], [0.14, 0.6, 0.26]);
    return w.save('conference-agenda.pdf');
  },

  async 'contracts/service-agreement.pdf'() {
    const w = await Writer.create({ title: 'Service Agreement', author: 'Kestrel Property Management', subject: 'Contract', date: '2024-01-05T09:00:00Z' });
    w.text('SERVICE AGREEMENT', { font: w.fonts.serifBold, size: 18, gap: 12 });
    w.text('This agreement is made on 5 January 2024 between Kestrel Property Management ("the Client") and Greenway Grounds Maintenance ("the Contractor").');
    const clauses = [
      'Services. The Contractor will maintain the gardens and communal grounds at the properties listed in Schedule 1, including grass cutting from March to October, hedge trimming twice a year and leaf clearance in autumn.',
      'Term. This agreement starts on 1 February 2024 and runs for twelve months. Either party may end it with one month\'s written notice.',
      'Price. The Client will pay £640 per month plus VAT, invoiced monthly in arrears and payable within 30 days.',
      'Insurance. The Contractor will hold public liability insurance of at least £5,000,000 and provide a copy of the certificate on request.',
      'Standards. Work will be carried out with reasonable skill and care. The Client may report defects, which the Contractor will put right within ten working days.',
      'Governing law. This agreement is governed by the law of England and Wales.',
    ];
    clauses.forEach((c, i) => {
      w.space(6);
      w.text(`${i + 1}. ${c}`);
    });
    w.newPage();
    w.text('Schedule 1  -  Properties', { font: w.fonts.serifBold, size: 13, gap: 8 });
    w.table(['Ref', 'Address', 'Area (m²)'], [['K-01', '41 Cotham Hill, Bristol', '420'], ['K-02', '9 Redland Grove, Bristol', '610'], ['K-03', '2-8 Clift House Road, Bristol', '1,150']], [0.15, 0.6, 0.25], { right: [2] });
    w.space(30);
    w.text('Signed for the Client: ______________________        Signed for the Contractor: ______________________', { size: 10 });
    w.footer('Service Agreement K-2024-01');
    return w.save('contracts/service-agreement.pdf');
  },
};

fs.mkdirSync(OUT, { recursive: true });
for (const [name, make] of Object.entries(samples)) {
  const file = await make();
  process.stdout.write(`${path.relative(process.cwd(), file)}  ${fs.statSync(file).size} bytes\n`);
}
