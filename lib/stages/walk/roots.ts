import path from 'node:path';

/**
 * What tells roots apart. An item's `rel`, which makes its default key and its output name, is
 * its path below the common folder of all roots: a directory root counts as itself, a file root
 * as the folder holding it. Each root gets the prefix from that common folder to its own folder.
 *
 * Invariant: two different files never get the same rel (two absolute paths below one folder
 * differ below it too), so several roots never share a key or an output name. A single root, or
 * several files of one folder (`--input *.pdf`), have an empty prefix: their rel, keys and output
 * names are exactly what they were before roots were told apart, so their journals stay valid.
 */
export function rootPrefixes(folders: readonly string[]): string[] {
  if (folders.length <= 1) return folders.map(() => '');
  const split = folders.map((f) => path.resolve(f).split(path.sep).filter(Boolean));
  let common = split[0]!.length;
  for (const s of split) {
    let i = 0;
    while (i < common && i < s.length && s[i] === split[0]![i]) i++;
    common = i;
  }
  return split.map((s) => (s.length > common ? s.slice(common).join('/') + '/' : ''));
}
