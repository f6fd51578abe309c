/** One file found by a source, as it travels through the stages. */
export interface Item {
  /** Path as the user would type it: relative to the cwd when under it, else absolute. Lossy when not UTF-8. */
  path: string;
  /** Raw bytes of `path`, base64, present only when the name is not valid UTF-8. */
  path_b64?: string;
  /** What fs calls take: a string, or the raw bytes when the name is not valid UTF-8. */
  file: string | Uint8Array;
  /** The root it was found under, as given. */
  root: string;
  /**
   * Path relative to its root (forward slashes); drives the output name and the default key.
   * With several roots, the root's own folder below the roots' common folder comes first
   * (`ra/report.pdf`, `rb/report.pdf`), so roots never share a key or an output (stages/roots.ts).
   */
  rel: string;
  size: number;
  mtime_ms: number;
  /** order of admission into the map stage (set there; --keep-order prints results in this order) */
  seq?: number;
  /** Set by dedupe: the checkpoint key. */
  key?: string;
}
