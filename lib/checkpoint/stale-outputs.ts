// Outputs of inputs that now fail or are gone: "stale outputs". Invariants:
// - An output is stale when an entry that no longer stands for an input as it is now recorded it,
//   no current ok entry records the same file, and a regular file is there (outputAt: reached
//   through real directories, not a link). Entries that no longer stand for an input: in the
//   journal, ok entries whose key this run's complete walk did not produce (the input vanished, or
//   changed and was redone under a new key); in a journal set aside by --fresh or a changed config,
//   ok entries whose input is failed now or gone.
// - Memory is bounded by the candidates, never by the item count: candidates come only from those
//   entries, each kept as a 16-byte hash of its file in an off-heap KeySet; the journals are read
//   in passes (newest line per key, as vanished() reads them), never held. A run whose keys were
//   all seen and that has no set-aside journal to check reads nothing.
// - Nothing is removed unless asked (prune), and then only through removeOutput: regular files
//   inside the real output dir, never through a link; each removal is said.
import fs from 'node:fs';
import path from 'node:path';
import { latestLines, pathKey, type Journal, type JournalEntry, type LatestLine } from './journal.js';
import { KeySet } from './keyset.js';
import type { RunState, SetAsideOutputs } from './state.js';
import { outputAt, removeOutput } from '../core/output.js';

/** `outputs_dir` of a journal whose runs wrote to more than one output dir: its names are ambiguous, not checked. */
const MIXED = 'mixed';
/** set-aside journals still to check, at most (the oldest is dropped, and said, past this) */
const MAX_SET_ASIDE = 8;

export interface OutputsBook {
  outputs_dir: string | null;
  set_aside_outputs: SetAsideOutputs[];
  /** what stderr says: set-aside journals no longer checked (over MAX_SET_ASIDE) */
  notes: string[];
}

/**
 * run.json's record of where outputs are, for this run: the output dir the journal's names are
 * relative to (this run's, unless an earlier run of the same journal wrote elsewhere: then mixed),
 * and the set-aside journals to check, this run's included.
 */
export function outputsBook(prev: RunState | null, o: { setAside: string | null; freshJournal: boolean; outDir: string | null }): OutputsBook {
  const prevDir = prev?.outputs_dir ?? null;
  const pending = [...(prev?.set_aside_outputs ?? [])];
  if (o.setAside && prevDir && prevDir !== MIXED) pending.push({ journal: path.basename(o.setAside), dir: prevDir });
  const dropped = pending.splice(0, Math.max(0, pending.length - MAX_SET_ASIDE)).map((a) => a.journal);
  const dir = o.outDir === null ? null : path.resolve(o.outDir);
  let outputsDir: string | null;
  if (o.freshJournal || !prevDir) outputsDir = dir;
  else if (!dir || prevDir === dir) outputsDir = prevDir;
  else outputsDir = MIXED;
  const notes = dropped.map((j) => `sluice: outputs recorded in ${j} are no longer checked for stale ones (only the last ${MAX_SET_ASIDE} set-aside journals are)`);
  return { outputs_dir: outputsDir, set_aside_outputs: pending, notes };
}

export interface StaleOutputs {
  /** stale outputs found on disk */
  count: number;
  /** the first `limit` of them, as shown to the user */
  examples: string[];
  /** of those, removed (with prune) */
  pruned: number;
  /** why nothing was checked, when that is so */
  unchecked?: string;
}

interface StaleOptions {
  /** the journal after a run whose walk completed (its seen marks are complete) */
  journal: Journal;
  stateDir: string;
  book: OutputsBook;
  prune: boolean;
  limit: number;
  display: (abs: string) => string;
  say: (line: string) => void;
}

const CANDIDATE = 1;
const CLAIMED = 2;
const DONE = 3;

interface Source { file: string; dir: string; aside: SetAsideOutputs | null }

/** Find the stale outputs (and remove them with `prune`); returns them and the set-aside journals still to check. */
export async function staleOutputs(o: StaleOptions): Promise<{ stale: StaleOutputs; pending: SetAsideOutputs[] }> {
  const stale: StaleOutputs = { count: 0, examples: [], pruned: 0 };
  const { journal, book } = o;
  const asides = book.set_aside_outputs.filter((a) => a.dir !== MIXED && fs.existsSync(path.join(o.stateDir, a.journal)));
  const fromJournal = !!book.outputs_dir && book.outputs_dir !== MIXED && journal.unseen > 0;
  if (book.outputs_dir === MIXED && (asides.length || journal.unseen > 0)) {
    stale.unchecked = 'the checkpoint\'s outputs were written to more than one output dir';
    // the set-aside journals can be checked again once a new checkpoint has one output dir
    return { stale, pending: book.set_aside_outputs };
  }
  const sources: Source[] = [
    ...(fromJournal ? [{ file: journal.file, dir: book.outputs_dir!, aside: null }] : []),
    ...asides.map((a) => ({ file: path.join(o.stateDir, a.journal), dir: a.dir, aside: a })),
  ];
  if (!sources.length) return { stale, pending: [] };

  // inputs failed now (by path), for the set-aside journals: their entries for these are stale
  const failedNow = new KeySet();
  if (asides.length) {
    for await (const l of latestLines(journal.file)) {
      const e = l.entry;
      if (e && l.status === 'failed' && journal.isCurrent(l.key)) failedNow.set(pathKey(inputName(e)), 1);
    }
  }
  const candidates = new KeySet();
  for (const src of sources) {
    for await (const e of entriesOf(src, journal, failedNow)) for (const n of namesOf(e)) candidates.set(fileKey(src.dir, n), CANDIDATE);
  }
  if (!candidates.size) return { stale, pending: [] };

  // a file a current ok entry records is its output now, whatever an older entry says
  if (book.outputs_dir && book.outputs_dir !== MIXED) {
    for await (const l of latestLines(journal.file)) {
      const e = l.entry;
      if (!e || l.status !== 'ok' || !hasNames(l) || !journal.isCurrent(l.key)) continue;
      for (const n of namesOf(e)) {
        const k = fileKey(book.outputs_dir, n);
        if (candidates.get(k) === CANDIDATE) candidates.set(k, CLAIMED);
      }
    }
  }

  const pending: SetAsideOutputs[] = [];
  for (const src of sources) {
    let left = false;
    for await (const e of entriesOf(src, journal, null)) {
      for (const n of namesOf(e)) {
        const k = fileKey(src.dir, n);
        if (candidates.get(k) !== CANDIDATE) continue;
        candidates.set(k, DONE);
        if ((await outputAt(src.dir, n)).kind !== 'file') continue;
        const shown = o.display(path.join(src.dir, n));
        stale.count++;
        if (stale.examples.length < o.limit) stale.examples.push(shown);
        if (!o.prune) {
          left = true;
          continue;
        }
        const r = await removeOutput(src.dir, n);
        if (r.removed) {
          stale.pruned++;
          o.say(`sluice: removed stale output ${shown}`);
        } else {
          left = true;
          o.say(`sluice: stale output ${shown} not removed: ${r.why}`);
        }
      }
    }
    if (src.aside && left) pending.push(src.aside);
  }
  return { stale, pending };
}

/**
 * The entries of a source that no longer stand for an input: in the journal, ok entries with
 * output names whose key is not current; in a set-aside journal, ok entries with output names
 * (with `failedNow`: only those whose input is failed now or gone, the candidates).
 */
async function* entriesOf(src: Source, journal: Journal, failedNow: KeySet | null): AsyncGenerator<JournalEntry> {
  for await (const l of latestLines(src.file)) {
    if (l.status !== 'ok' || !hasNames(l)) continue;
    const e = l.entry;
    if (!e) continue; // an unreadable line (warned about where it is read)
    if (!src.aside) {
      if (!journal.isCurrent(l.key)) yield e;
      continue;
    }
    if (!failedNow || failedNow.has(pathKey(inputName(e))) || !inputExists(e)) yield e;
  }
}

/** Only lines that record output names are parsed: the rest cannot hold any. */
function hasNames(l: LatestLine): boolean {
  return l.line.includes('"outputs":[');
}

function namesOf(e: JournalEntry): string[] {
  return Array.isArray(e.outputs) ? e.outputs.filter((n): n is string => typeof n === 'string' && n !== '') : [];
}

function fileKey(dir: string, name: string): string {
  return pathKey(path.join(dir, name));
}

/** An input's identity across journals: its exact bytes when the name is not UTF-8, else its path. */
function inputName(e: JournalEntry): string {
  return e.path_b64 ? `\0b64:${e.path_b64}` : e.path;
}

function inputExists(e: JournalEntry): boolean {
  return fs.existsSync(e.path_b64 ? Buffer.from(e.path_b64, 'base64') : e.path);
}

/** run.json's fields from the book; `pending` (after a check) replaces the set-aside journals still to check. */
export function bookFields(book: OutputsBook, pending?: SetAsideOutputs[]): Pick<RunState, 'outputs_dir' | 'set_aside_outputs'> {
  const asides = pending ?? book.set_aside_outputs;
  return { outputs_dir: book.outputs_dir, ...(asides.length ? { set_aside_outputs: asides } : {}) };
}

/** What stderr says about stale outputs at the end of a run (removals were said as they happened). */
export function staleNotes(stale: StaleOutputs | null, prune: boolean, why: string | null): string[] {
  if (!stale) return prune ? [`sluice: --prune-outputs: nothing checked or removed: ${why ? `the run stopped (${why})` : 'the run did not walk all its inputs against the checkpoint'}`] : [];
  if (stale.unchecked) return [`sluice: stale outputs not checked: ${stale.unchecked} (--fresh starts a new checkpoint)`];
  const left = stale.count - stale.pruned;
  if (!left) return [];
  return [prune
    ? `sluice: ${left} stale output(s) could not be removed (see above)`
    : `sluice: ${left} output(s) belong to inputs that now fail or are gone (${stale.examples[0]}${left > 1 ? ', ...' : ''}): listed in the report; --prune-outputs removes them`];
}
