import type { ErrorInfo } from './errors.js';

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
  /**
   * Reached through a symbolic link the walk was told to follow, or named by the user (a root,
   * a path on stdin): readers may follow a link there. Absent: opened with O_NOFOLLOW.
   */
  follow?: true;
  /**
   * Set by a stage that already knows the item fails (dedupe, when reading its content timed
   * out): the map stage records this failure without handing the item to a processor.
   */
  failure?: ErrorInfo;
  /** In a pipeline of several stages: the output of the map stage before the one it is at. */
  input?: Record<string, unknown>;
  /** A child item (fan-out): its parent's key, and its place among the parent's children (from 0). */
  parent?: string;
  index?: number;
  /** Set by dedupe: the checkpoint key. */
  key?: string;
}
