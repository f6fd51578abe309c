import path from 'node:path';

/** A word as a POSIX shell reads it back: bare when it holds nothing the shell treats specially, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** This process's command line, to show in a report: the program's name (`sluice` for the CLI) and its arguments, each a shell word. */
export function commandLine(argv: readonly string[] = process.argv): string {
  const program = path.basename(argv[1] ?? argv[0] ?? 'node').replace(/\.m?js$/, '');
  return [program, ...argv.slice(2)].map(shellWord).join(' ');
}
