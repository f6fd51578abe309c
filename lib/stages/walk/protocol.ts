// Every message that crosses the walker's thread boundaries, typed once for both sides:
// main thread (thread.ts) ⇄ walker thread (worker.ts) ⇄ helper thread (helper.ts).
//
// Invariant: items in transit from the walker are at most WALK_BATCH × WALK_CREDIT; the walker
// sends a batch only while it holds credit, and the main thread returns one CREDIT per batch it
// has consumed.
import type { MessagePort } from 'node:worker_threads';
import type { ErrorCode } from '../../core/errors.js';
import type { Item } from '../../core/item.js';
import type { KeySetSnapshot } from '../../checkpoint/keyset.js';
import type { CheckResult, WalkOptions, WalkWarning } from './walk.js';
import type { KeyTable } from './keys.js';

/** Items sent in one message at most; a starved consumer gets them one at a time. */
export const WALK_BATCH = 64;
/** Messages of items sent and not yet consumed: with the batch, the bound on items in transit. */
export const WALK_CREDIT = 4;

/** What starts the walker thread (thread.ts → worker.ts, as workerData). */
export interface WalkerInit {
  opts: WalkOptions;
  skip: string[];
  /** look keys up in the checkpoint's table (sent once loaded) and drop the done ones */
  dedupe: boolean;
  /** start a helper thread that takes half of the stat, key and lookup work */
  helper: boolean;
  /** send no items, only the counts (and bytes): a plan */
  countOnly?: boolean;
}

/** Messages from the walker thread. */
export type WalkerMessage =
  | { t: 'items'; items: Item[]; found: number; skipped: number }
  | { t: 'count'; found: number; skipped: number }
  | { t: 'ahead-names'; names: number }
  | { t: 'ahead-done'; found: number; skipped: number; sizes: Float64Array }
  | { t: 'warning'; w: WalkWarning }
  | { t: 'error'; code: ErrorCode; message: string }
  | { t: 'done'; found: number; skipped: number; bytes: number; sizes?: Float64Array };

/** workerData of the walker thread: the init, the port the table comes on, and the flag set once it has. */
export interface WalkerData extends WalkerInit {
  tablePort: MessagePort;
  ready: Int32Array;
}

/** Main thread → walker: one batch of items was consumed, send one more. */
export type CreditMessage = 'more';
export const CREDIT: CreditMessage = 'more';

/**
 * Main thread → walker, once it has the table: count ahead (a second walk, count only, in the
 * background of the same thread: `ahead-names`, then `ahead-done`). `lookup`: look the files up
 * in the table (the checkpoint holds done items), else every file found is to do.
 */
export interface CountAheadMessage { t: 'count'; lookup: boolean }

export type ToWalkerMessage = CreditMessage | CountAheadMessage;

/** Main thread → walker, on tablePort: the checkpoint's keys (null: nothing to look up) and the seen marks to set. */
export interface TableMessage { table: KeySetSnapshot | null; seen: Uint8Array | null }

/** workerData of the helper thread. */
export interface HelperData { dedupe: boolean; countOnly: boolean }

/** Walker → helper: the table once it is known, and batches of files to stat, key and look up. */
export type HelperRequest = { t: 'table'; keys: KeyTable } | { t: 'batch'; id: number; paths: (string | Uint8Array)[]; rels: string[]; links: boolean[] | null };

/**
 * Helper → walker: one batch's results, in order, the counts it added, how long it took (ms) and
 * how long the helper had been waiting for it (idle, ms): what the walker balances the shares by.
 */
export interface HelperReply { id: number; results: CheckResult[]; found: number; skipped: number; bytes: number; ms: number; idle: number }
