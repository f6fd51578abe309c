import fs, { constants as C } from 'node:fs';
import path from 'node:path';
import { PROGRESS_FILE } from '../checkpoint/files.js';
import { openOwnFileSync, readOwnFileSync, writeAtomic } from '../core/safe-fs.js';
import type { ProgressEvent, SummaryEvent } from '../core/events.js';
import { commandLine } from '../core/shell.js';

/** A progress sample as the timeline keeps it: `t`, when (ms since the epoch); `bytes`, the bytes of the items processed so far (for MB/s). */
export type TimelineSample = ProgressEvent & { t: number; bytes?: number };
/** The first line of a timeline: which run it is. */
export interface TimelineHead { v: 1; type: 'timeline'; run: string; pid: number; started: string; command?: string }
/** A timeline's lines: its head, progress samples (`t`: when, ms since the epoch), and the run's summary at its end. */
export type TimelineLine = TimelineHead | TimelineSample | SummaryEvent;

/** Samples a timeline keeps at most: past it, the older half is thinned to every other sample. */
export const TIMELINE_MAX = 2000;

export function timelinePath(stateDir: string): string {
  return path.join(stateDir, PROGRESS_FILE);
}

/**
 * The run's progress over time, in its state dir (progress.ndjson), for the report and for other
 * processes (`sluice status --follow`): a head line, then one progress sample per interval,
 * appended, then the run's summary once it ends.
 *
 * Invariants: the file never holds more than TIMELINE_MAX samples however long the run (the
 * older half is thinned, the file rewritten atomically), and this holds no more in memory; it is
 * written only in the run's own state dir, under its lock, never through a link; a write that
 * fails (a full disk) stops the timeline, never the run (`problem` says why).
 */
export class Timeline {
  private fd: number | null = null;
  private samples: string[] = [];
  private readonly head: string;
  problem: string | null = null;

  constructor(private readonly stateDir: string, run: string, started: string) {
    this.head = JSON.stringify({ v: 1, type: 'timeline', run, pid: process.pid, started, command: commandLine() } satisfies TimelineHead);
    this.guard(() => {
      writeAtomic(timelinePath(stateDir), this.head + '\n');
      this.fd = openOwnFileSync(timelinePath(stateDir), C.O_WRONLY | C.O_APPEND);
    });
  }

  /** Append one sample; `bytes`: of the items processed so far. */
  add(p: ProgressEvent, bytes: number, now = Date.now()): void {
    if (this.fd === null) return;
    const line = JSON.stringify({ ...p, t: now, bytes } satisfies TimelineSample);
    this.samples.push(line);
    this.guard(() => {
      if (this.samples.length > TIMELINE_MAX) this.thin();
      else fs.writeSync(this.fd!, line + '\n');
    });
  }

  /** The run ended: its summary closes the timeline. */
  end(summary: SummaryEvent): void {
    if (this.fd === null) return;
    this.guard(() => fs.writeSync(this.fd!, JSON.stringify(summary) + '\n'));
    this.close();
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.samples = [];
  }

  /** Every other sample of the older half, all of the newer: the file is rewritten with them. */
  private thin(): void {
    const half = this.samples.length >> 1;
    this.samples = this.samples.slice(0, half).filter((_, i) => i % 2 === 0).concat(this.samples.slice(half));
    fs.closeSync(this.fd!);
    this.fd = null;
    writeAtomic(timelinePath(this.stateDir), [this.head, ...this.samples].join('\n') + '\n');
    this.fd = openOwnFileSync(timelinePath(this.stateDir), C.O_WRONLY | C.O_APPEND);
  }

  private guard(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.problem ??= `progress timeline ${timelinePath(this.stateDir)}: ${(err as Error).message}; no more samples are written`;
      if (this.fd !== null) this.close();
    }
  }
}

/** The progress samples among a timeline's lines. */
export function samplesOf(lines: readonly TimelineLine[]): TimelineSample[] {
  return lines.filter((l): l is TimelineSample => l.type === 'progress');
}

/** A state dir's timeline as it is now: its lines (unreadable ones skipped), or null when there is none. */
export function readTimeline(stateDir: string): TimelineLine[] | null {
  const text = readOwnFileSync(timelinePath(stateDir));
  if (text === null) return null;
  const out: TimelineLine[] = [];
  for (const l of text.split('\n')) {
    if (!l) continue;
    try {
      out.push(JSON.parse(l) as TimelineLine);
    } catch {
      // a line being written as we read: the next read has it
    }
  }
  return out;
}
