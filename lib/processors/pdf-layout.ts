// The text of a page from pdfjs' text items, with the spacing their positions show.
//
// Invariant: items are kept in pdfjs' order and no character of theirs is changed or reordered; between two
// horizontal items only whitespace is added: a line break where the baseline moves by half a line
// or more, a space where a gap of more than a tenth of the font size separates them on one line.
// The one thing dropped is an overprinted copy ("fake bold": the start or the end of the item
// before drawn again within a fifth of the font size of where it was), which would read twice.

/** What pdf-layout needs of a pdfjs text item (TextItem). */
export interface TextItemLike {
  str: string;
  hasEOL: boolean;
  width: number;
  height: number;
  /** [a, b, c, d, e, f]: e and f are the position of the item's start on the page */
  transform: number[];
}

interface Placed { str: string; x0: number; x1: number; y: number; h: number }

/** Share of the font size a gap must pass to count as a space between words. */
const SPACE_GAP = 0.1;
/** Share of the line height the baseline must move to count as a new line. */
const NEW_LINE = 0.5;
/** Share of the font size within which a repeated string counts as drawn over itself. */
const OVERPRINT = 0.2;

export function pageText(items: Iterable<TextItemLike | { type: string }>): string {
  let out = '';
  let prev: Placed | null = null;
  for (const it of items) {
    if (!('str' in it)) continue; // marked content
    if (!it.str) {
      if (it.hasEOL && out && !out.endsWith('\n')) out += '\n';
      continue;
    }
    const [a, b, c, d, x, y] = it.transform as [number, number, number, number, number, number];
    // positions are compared only for upright horizontal text; other text is joined as pdfjs gives it
    const upright = b === 0 && c === 0 && a > 0 && d > 0;
    const here: Placed | null = upright ? { str: it.str, x0: x, x1: x + it.width, y, h: Math.abs(it.height) || d } : null;
    let str = it.str;
    if (here && prev) {
      const h = Math.max(here.h, prev.h);
      if (Math.abs(here.y - prev.y) < OVERPRINT * h) {
        // drawn again over what was just drawn: its end over the end, or its start over the start
        if (prev.str.endsWith(here.str) && Math.abs(here.x1 - prev.x1) < OVERPRINT * h) continue;
        if (here.str.startsWith(prev.str) && Math.abs(here.x0 - prev.x0) < OVERPRINT * h) {
          str = here.str.slice(prev.str.length);
          out += str;
          if (it.hasEOL) out += '\n';
          prev = here;
          continue;
        }
      }
      if (Math.abs(here.y - prev.y) >= NEW_LINE * h) {
        if (out && !out.endsWith('\n')) out += '\n';
      } else if (here.x0 > prev.x1 + SPACE_GAP * h && !/\s$/.test(out) && !/^\s/.test(str)) {
        out += ' ';
      }
    }
    out += str;
    if (it.hasEOL) out += '\n';
    prev = here;
  }
  return out;
}
