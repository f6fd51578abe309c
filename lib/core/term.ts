/**
 * Text from outside (a file name, an error message) made safe to print on a terminal: control
 * characters (escape sequences would drive the terminal), line and paragraph separators and
 * bidirectional overrides (they reorder what follows) shown as \\xNN / \\uNNNN.
 */
export function termSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const n = c.charCodeAt(0);
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}
