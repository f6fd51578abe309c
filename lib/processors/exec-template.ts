// The command template of the `exec` processor: read once, when the pipeline is validated, into
// words (argv mode) or a script (shell mode); each item then only substitutes its names.
//
// Invariant: a file name is never read as code or split. In argv mode the template is split into
// words by shell-like quoting rules before any name is known, and a placeholder is replaced inside
// its word by the name as it is, so a name is always (part of) exactly one argument. In shell mode
// the script never contains a name either: placeholders become references to positional
// parameters ("${1}" ...), and the names are passed as those parameters.
import fs from 'node:fs';
import path from 'node:path';

/** GNU parallel's replacement strings, in the order of their positional parameters in shell mode. */
const PLACEHOLDERS = ['{}', '{.}', '{/}', '{//}', '{/.}'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

/** A word of argv: literal text and placeholders, joined once the names are known. */
type Word = (string | { ph: Placeholder })[];

export interface ArgvTemplate { shell: false; words: Word[] }
export interface ShellTemplate { shell: true; script: string }
export type CommandTemplate = ArgvTemplate | ShellTemplate;

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Characters that only mean something to a shell: outside quotes, without shell: true, they are an error (they would be passed literally). */
const SHELL_ONLY = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`']);
const SPACE = new Set([' ', '\t', '\n']);
/** Inside double quotes a backslash escapes only these (POSIX). */
const DQ_ESCAPES = new Set(['$', '`', '"', '\\', '\n']);

interface Token {
  /** the template's own text for this token (shell mode copies it) */
  raw: string;
  /** what it stands for in argv mode */
  text: string;
  ph?: Placeholder;
  /** placeholder inside double quotes */
  dq?: boolean;
  /** separates words */
  space?: boolean;
  /** a quote: makes a word exist even when empty ('') */
  quote?: boolean;
}

function placeholderAt(s: string, i: number): Placeholder | undefined {
  // longest first: {//} before {/}
  for (const p of ['{//}', '{/.}', '{.}', '{/}', '{}'] as const) if (s.startsWith(p, i)) return p;
  return undefined;
}

/** Read a template with POSIX-shell quoting: '...' literal, "..." with \ escapes, \x outside quotes. */
function scan(t: string, shell: boolean): Token[] {
  const out: Token[] = [];
  let i = 0;
  let wordStart = true;
  while (i < t.length) {
    const c = t[i]!;
    if (SPACE.has(c)) {
      out.push({ raw: c, text: '', space: true });
      i++;
      wordStart = true;
      continue;
    }
    const atWordStart = wordStart;
    wordStart = false;
    if (c === "'") {
      const end = t.indexOf("'", i + 1);
      if (end === -1) throw new TemplateError(`unterminated single quote at character ${i + 1}`);
      out.push({ raw: t.slice(i, end + 1), text: t.slice(i + 1, end), quote: true });
      i = end + 1;
    } else if (c === '"') {
      out.push({ raw: '"', text: '', quote: true });
      i++;
      let closed = false;
      while (i < t.length) {
        const d = t[i]!;
        if (d === '"') { out.push({ raw: '"', text: '' }); i++; closed = true; break; }
        if (d === '\\' && i + 1 < t.length && DQ_ESCAPES.has(t[i + 1]!)) {
          out.push({ raw: t.slice(i, i + 2), text: t[i + 1] === '\n' ? '' : t[i + 1]! });
          i += 2;
          continue;
        }
        const ph = placeholderAt(t, i);
        if (ph) { out.push({ raw: ph, text: '', ph, dq: true }); i += ph.length; continue; }
        if (!shell && (d === '$' || d === '`')) throw new TemplateError(`"${d}" inside double quotes at character ${i + 1} is shell syntax; set shell: true (--shell) to run the command through /bin/sh, or use single quotes for a literal "${d}"`);
        out.push({ raw: d, text: d });
        i++;
      }
      if (!closed) throw new TemplateError('unterminated double quote');
    } else if (c === '\\') {
      if (i + 1 >= t.length) throw new TemplateError('the command ends with a backslash');
      out.push({ raw: t.slice(i, i + 2), text: t[i + 1] === '\n' ? '' : t[i + 1]! });
      i += 2;
    } else {
      const ph = placeholderAt(t, i);
      if (ph) {
        out.push({ raw: ph, text: '', ph });
        i += ph.length;
        continue;
      }
      if (!shell && (SHELL_ONLY.has(c) || (c === '~' && atWordStart))) {
        throw new TemplateError(`"${c}" at character ${i + 1} is shell syntax, but the command is not run through a shell (file names must never be read as code); set shell: true (--shell) to use pipes, redirections or variables, or quote it to pass it literally`);
      }
      out.push({ raw: c, text: c });
      i++;
    }
  }
  return out;
}

/**
 * Read a template once. Without a placeholder, the path is the last argument (as xargs and
 * GNU parallel do); in shell mode, a script that already names "$1", "$@" or "$*" gets nothing
 * appended. Throws TemplateError naming what is wrong.
 */
export function compileTemplate(cmd: string, shell: boolean): CommandTemplate {
  if (cmd.includes('\0')) throw new TemplateError('the command contains a NUL byte, which no argument can hold');
  const tokens = scan(cmd, shell);
  const hasPlaceholder = tokens.some((k) => k.ph);
  if (shell) {
    let script = tokens.map((k) => (k.ph ? (k.dq ? `\${${position(k.ph)}}` : `"\${${position(k.ph)}}"`) : k.raw)).join('');
    if (!script.trim()) throw new TemplateError('the command is empty');
    if (!hasPlaceholder && !/\$(\{?1\}?(?![0-9])|[@*]|\{[@*]\})/.test(cmd)) script += ' "$1"';
    return { shell: true, script };
  }
  const words: Word[] = [];
  let cur: Word | null = null;
  for (const k of tokens) {
    if (k.space) { cur = null; continue; }
    if (!cur) {
      if (!k.ph && !k.text && !k.quote) continue; // a line continuation makes no word
      words.push((cur = []));
    }
    if (k.ph) cur.push({ ph: k.ph });
    else if (k.text) {
      const last = cur[cur.length - 1];
      if (typeof last === 'string') cur[cur.length - 1] = last + k.text;
      else cur.push(k.text);
    }
  }
  if (!words.length) throw new TemplateError('the command is empty');
  if (!hasPlaceholder) words.push([{ ph: '{}' }]);
  return { shell: false, words };
}

/** Positional parameter of a placeholder in shell mode: {} is $1 ... {/.} is $5. */
function position(p: Placeholder): number {
  return PLACEHOLDERS.indexOf(p) + 1;
}

/**
 * What each placeholder stands for, for a path as shown (relative to the cwd, or absolute).
 * The path-valued ones ({}, {.}, {//}) never start with "-": "./" goes in front, the same file,
 * so a command never reads a name as an option. {/} and {/.} are names, given as they are.
 */
export function placeholderValues(p: string): Record<Placeholder, string> {
  const safe = (s: string) => (s.startsWith('-') ? `./${s}` : s);
  const base = path.basename(p);
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 ? base.slice(dot) : '';
  return {
    '{}': safe(p),
    '{.}': safe(p.slice(0, p.length - ext.length)),
    '{/}': base,
    '{//}': safe(path.dirname(p)),
    '{/.}': base.slice(0, base.length - ext.length),
  };
}

/** The program's argv for one item, in argv mode. */
export function argvFor(t: ArgvTemplate, p: string): string[] {
  const v = placeholderValues(p);
  return t.words.map((w) => w.map((x) => (typeof x === 'string' ? x : v[x.ph])).join(''));
}

/** `sh -c` arguments for one item, in shell mode: the names are "$1" to "$5", never part of the script. */
export function shellArgsFor(t: ShellTemplate, p: string): string[] {
  const v = placeholderValues(p);
  return ['-c', t.script, 'sh', ...PLACEHOLDERS.map((k) => v[k])];
}

/** The shell of shell: true. */
export const SHELL = '/bin/sh';

/** What a template starts: the shell (shell: true), else programOf. */
export function programToRun(t: CommandTemplate): string | null {
  return t.shell ? SHELL : programOf(t);
}

/** The program a template runs, when it is known before any item: argv mode, a first word without placeholders. */
export function programOf(t: CommandTemplate): string | null {
  if (t.shell) return null;
  const first = t.words[0]!;
  return first.every((x) => typeof x === 'string') ? first.join('') : null;
}

/**
 * Where `name` would be executed from: itself (relative to the cwd) when it has a slash, else
 * the first executable regular file of that name in PATH (as execvp looks). null: none.
 */
export function findProgram(name: string, envPath = process.env.PATH ?? '', cwd = process.cwd()): string | null {
  const ok = (f: string) => {
    try {
      if (!fs.statSync(f).isFile()) return false;
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (!name) return null;
  if (name.includes('/')) {
    const f = path.resolve(cwd, name);
    return ok(f) ? f : null;
  }
  for (const dir of envPath.split(':')) {
    const f = path.resolve(cwd, dir || '.', name);
    if (ok(f)) return f;
  }
  return null;
}
