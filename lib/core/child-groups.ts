// Process groups of the commands that items start from worker threads, in shared memory: the way
// back to a command once the worker thread that started it is gone.
//
// Invariant: every command a processor starts (`spawnInGroup`, or core/command.ts's posix_spawn
// way, both through a `SpawnTicket`) leads a process group of its own (setsid), and from the
// moment spawn returns until the group is known to be empty, its pgid is in the table entry of
// the pool slot whose item started it. The main thread kills the slot's
// group (SIGKILL) before it stops a worker (timeout, memory watchdog, end of the grace period),
// after it loses one (crash), when the pool closes, and for every slot when the process exits;
// a worker kills the rest of a group as soon as its leader exits. So nothing a command starts
// outlives its item, except when sluice itself is SIGKILLed (no code runs then).
//
// Why shared memory: terminating a worker thread runs no more of its JavaScript, and the children
// it started are not killed with it (they belong to the process, not the thread). The slot's
// entry also closes the one window there is, between the worker asking for a spawn and learning
// the pid: the entry says SPAWNING meanwhile; the main thread waits a moment for the pid, and if
// the worker died in between, finds the command by the token in its environment.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';

/** No command running for the slot. */
const IDLE = 0;
/** The worker is between asking for a spawn and storing its pid. */
const SPAWNING = -1;
/** The main thread stopped the slot: no command may start for it until the pool reuses it. */
const FENCED = -2;
/** How long the main thread waits for a SPAWNING entry to become a pid (ms). */
const SPAWN_WAIT_MS = 200;
/** The environment variable that identifies a command (see `tokenOf`). */
export const TOKEN_VAR = 'SLUICE_EXEC_TOKEN';

/** The token of a slot's latest command: process, slot, and a counter the worker bumps per spawn. */
function tokenOf(pid: number, slot: number, seq: number): string {
  return `${pid}.${slot}.${seq}`;
}

function killPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: gone (a group: already empty)
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  killPid(-pgid, signal);
}

/** The main thread's side: one entry (state, then spawn counter) per pool slot. */
export class ChildGroups {
  readonly table: Int32Array;
  constructor(readonly slots: number) {
    this.table = new Int32Array(new SharedArrayBuffer(8 * slots));
  }

  /** A command is running (or starting) for this slot. */
  busy(slot: number): boolean {
    return Atomics.load(this.table, slot) !== IDLE;
  }

  /** The slot is given to a new task: commands may start for it again. */
  reset(slot: number): void {
    Atomics.store(this.table, slot, IDLE);
  }

  /**
   * Kill the slot's command group, if any, and keep any other from starting until `reset`.
   * Synchronous: call it before stopping the worker, and again once it is lost.
   */
  fence(slot: number): void {
    let waited = false;
    for (;;) {
      const v = Atomics.load(this.table, slot);
      if (v === FENCED) return;
      if (v === IDLE) {
        if (Atomics.compareExchange(this.table, slot, IDLE, FENCED) === IDLE) return;
      } else if (v > 0) {
        killGroup(v, 'SIGKILL');
        if (Atomics.compareExchange(this.table, slot, v, FENCED) === v) return;
      } else if (!waited) {
        // SPAWNING: the worker stores the pid a few microseconds after spawn returns
        Atomics.wait(this.table, slot, SPAWNING, SPAWN_WAIT_MS);
        waited = true;
      } else {
        // the worker died between spawn and storing the pid: find the command by its token
        killByToken(tokenOf(process.pid, slot, Atomics.load(this.table, this.slots + slot)));
        Atomics.store(this.table, slot, FENCED);
        return;
      }
    }
  }

  /** Fence every slot (the pool closes, the process exits). */
  killAll(): void {
    for (let s = 0; s < this.slots; s++) this.fence(s);
  }
}

/**
 * Kill the process group of every process whose environment carries `token` (Linux: /proc).
 * The slow path of `fence`, for a worker that died while spawning; returns how many it found.
 */
export function killByToken(token: string): number {
  const needle = Buffer.from(`\0${TOKEN_VAR}=${token}\0`);
  let found = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const env = Buffer.concat([Buffer.from([0]), fs.readFileSync(`/proc/${e}/environ`)]);
      if (env.indexOf(needle) === -1) continue;
      // pgid is the 5th field of stat, after the parenthesised command name
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'latin1');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgid > 1) killGroup(pgid, 'SIGKILL');
      try { process.kill(Number(e), 'SIGKILL'); } catch { /* gone */ }
      found++;
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

// ---- the worker's side ----------------------------------------------------------------------

let table: Int32Array | undefined;
let slot = -1;
let baseEnv: NodeJS.ProcessEnv | undefined;
let baseEnvList: string[] | undefined;

/** Called once by the worker runtime with the pool's table. */
export function bindChildTable(t: Int32Array | undefined): void {
  table = t;
}

/** Called by the worker runtime as each item starts: the slot its commands are recorded under. */
export function setChildSlot(s: number): void {
  slot = s;
}

/** Why a command was not started: the main thread is stopping this item. */
export class SlotFenced extends Error {
  constructor() {
    super('stopped: the item was being stopped when its command was to start');
    this.name = 'SlotFenced';
  }
}

/**
 * One command's way through the slot's entry: made before it starts (throws SlotFenced when the
 * main thread is stopping the item), then `started(pid)` or `failed()`, and `exited()` once
 * its leader has exited: the rest of its group is killed first, then the entry cleared, so the
 * main thread never sees the entry idle while some of the group lives. Outside a pool worker (no
 * table) nothing is recorded, and `exited` still kills the rest of the group.
 */
export class SpawnTicket {
  private readonly t: Int32Array | undefined;
  private readonly slot: number;
  private readonly token: string | undefined;
  private pid = 0;

  constructor() {
    this.t = slot >= 0 ? table : undefined;
    this.slot = slot;
    baseEnv ??= { ...process.env };
    const t = this.t;
    if (!t) return;
    const seq = Atomics.add(t, t.length / 2 + this.slot, 1) + 1;
    if (Atomics.compareExchange(t, this.slot, IDLE, SPAWNING) !== IDLE) throw new SlotFenced();
    this.token = tokenOf(process.pid, this.slot, seq);
  }

  /** The environment the command gets: the process's, plus its token inside a pool worker. */
  get env(): NodeJS.ProcessEnv {
    return this.token === undefined ? baseEnv! : { ...baseEnv, [TOKEN_VAR]: this.token };
  }

  /** `env` as NAME=value strings (for posix_spawn); the process's part is made once. */
  envList(): string[] {
    baseEnvList ??= Object.entries(baseEnv!).filter(([k]) => k !== TOKEN_VAR).map(([k, v]) => `${k}=${v}`);
    return this.token === undefined ? baseEnvList : [...baseEnvList, `${TOKEN_VAR}=${this.token}`];
  }

  /** It did not start. */
  failed(): void {
    if (this.t) release(this.t, this.slot, SPAWNING);
  }

  /** It started as the leader of group `pid`. */
  started(pid: number): void {
    this.pid = pid;
    const t = this.t;
    if (!t) return;
    if (Atomics.compareExchange(t, this.slot, SPAWNING, pid) !== SPAWNING) killGroup(pid, 'SIGKILL');
    Atomics.notify(t, this.slot);
  }

  /** Its leader exited: kill what it left in its group (with `kill`, given the group's negated pgid), then clear the entry. */
  exited(kill: (pid: number, signal: NodeJS.Signals) => void = killPid): void {
    if (!this.pid) return;
    kill(-this.pid, 'SIGKILL');
    if (this.t) release(this.t, this.slot, this.pid);
  }
}

/**
 * Start a command as the leader of a new process group (setsid) recorded in the slot's entry
 * (see SpawnTicket). Throws SlotFenced when the main thread is stopping the item.
 */
export function spawnInGroup(file: string, args: string[], opts: SpawnOptions): ChildProcess {
  const ticket = new SpawnTicket();
  let child: ChildProcess;
  try {
    child = spawn(file, args, { ...opts, detached: true, env: ticket.env });
  } catch (err) {
    ticket.failed();
    throw err;
  }
  if (!child.pid) {
    ticket.failed(); // it did not start: 'error' follows
    return child;
  }
  ticket.started(child.pid);
  child.once('exit', () => ticket.exited());
  return child;
}

function release(t: Int32Array, s: number, from: number): void {
  Atomics.compareExchange(t, s, from, IDLE);
  Atomics.notify(t, s);
}


/** Send `signal` to a command's whole group (the command and everything it started). */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid) killGroup(child.pid, signal);
}
