import type { ErrorInfo } from '../core/errors.js';

/** The one message the main thread sends a worker per item. */
export interface TaskMessage {
  type: 'task';
  /** built-in processor name, or an absolute path (file URL) to a module */
  processor: string;
  options: Record<string, unknown>;
  item: {
    path: string;
    file: string | Uint8Array;
    rel: string;
    size: number;
    mtime_ms: number;
  };
  /** absolute output dir, or null when outputs go inline in the result */
  outDir: string | null;
}

export type ReplyMessage =
  | { type: 'ok'; output: Record<string, unknown> }
  | { type: 'failed'; error: ErrorInfo };

export function isReply(x: unknown): x is ReplyMessage {
  const r = x as ReplyMessage | null;
  return !!r && typeof r === 'object' && (r.type === 'ok' ? typeof r.output === 'object' : r.type === 'failed' && typeof r.error === 'object');
}
