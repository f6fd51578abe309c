/**
 * Files by size class, for what a file's size predicts (the ETA's cost per class): class 0 holds
 * empty files, class c >= 1 sizes in [2^(c-1), 2^c). Invariant: SIZE_CLASSES counters, whatever
 * the number of files.
 */
export const SIZE_CLASSES = 64;

export function sizeClass(bytes: number): number {
  return bytes < 1 ? 0 : Math.min(SIZE_CLASSES - 1, 1 + Math.floor(Math.log2(bytes)));
}

/** Bytes and a count per size class, added up file by file. */
export class SizeTally {
  bytes = 0;
  readonly classes = new Float64Array(SIZE_CLASSES);

  add(size: number): void {
    this.bytes += size;
    this.classes[sizeClass(size)]!++;
  }
}
