// Forced schedules (`rewind record --schedule FILE`): the chaos machinery's holds, with the
// decisions taken from a target order of turns (another recording's, or one analyze builds)
// instead of a hash. A delivery is held while a turn the target puts before it has not run
// yet and could still run (its operation exists); deliveries the target does not name come
// after all the turns it names; turns whose operations do not exist yet hold nothing back. What waits longer than
// the bounded hold is released, and the turns it waited for are reported as missed: a
// schedule the live run cannot follow never hangs it.
//
// The CLI writes the target as JSON (src/analyze/schedule-file.ts); each process takes the
// entry of its program (the n-th process of a program the n-th entry).
import path from 'node:path';
import { programName } from '../trace/store.js';
import { CHAOS_CLAIM, Chaos, type Delivering, type Lane } from './chaos.js';
import { thread, timerDelay, timerStart } from '../node/fields.js';
import { original, writeStderr } from '../node/originals.js';

/**
 * Two timers of different delays due less than this apart (ms) ran in an order timing
 * decided (which was created a few milliseconds earlier), not one the program did: a target
 * may have them either way (agentkeepalive #23: the socket's 200 ms idle timer and the
 * client's 201 ms poll, created a moment apart; socket.io #3358: a 5 ms timer and the 1 ms
 * one a refused connection sets), so the later may go first. Timers of one delay, and timers
 * due further apart, keep Node's order.
 */
const TIMER_TIE_MS = 8;

/** What the CLI hands each process: its turns in the target order, as [op, k] (the k-th delivery of op). */
export interface ScheduleEntry {
  program: string | null;
  thread: boolean;
  turns: [number, number][];
  randomSeed?: [number, number, number, number];
}

export interface ScheduleSpec {
  rewindSchedule: 1;
  /** Where the target order came from, for the header and reports. */
  from: string;
  /** How long a delivery may be held waiting for turns that do not come, ms. */
  waitMs: number;
  processes: ScheduleEntry[];
}

interface Waiting {
  lane: Lane;
  run: () => void;
  index: number | undefined;
  key: string;
  since: number;
  ref: boolean;
  owner: object | null;
  cancelled: boolean;
  discard: (() => void) | null;
}

/**
 * The target's turns not run yet, by place: the smallest operation id among places [lo, hi)
 * in O(log n), so that a schedule of 10^5 turns costs no more per delivery than a short one.
 */
class Pending {
  private readonly size: number;
  private readonly tree: Float64Array;
  constructor(ops: Int32Array) {
    let size = 1;
    while (size < ops.length) size *= 2;
    this.size = size;
    this.tree = new Float64Array(2 * size).fill(Infinity);
    this.tree.set(ops, size);
    for (let i = size - 1; i >= 1; i--) this.tree[i] = Math.min(this.tree[2 * i], this.tree[2 * i + 1]);
  }

  done(place: number): void {
    let i = place + this.size;
    this.tree[i] = Infinity;
    for (i >>= 1; i >= 1; i >>= 1) this.tree[i] = Math.min(this.tree[2 * i], this.tree[2 * i + 1]);
  }

  min(lo: number, hi: number): number {
    let res = Infinity;
    for (lo += this.size, hi += this.size; lo < hi; lo >>= 1, hi >>= 1) {
      if (lo & 1) res = Math.min(res, this.tree[lo++]);
      if (hi & 1) res = Math.min(res, this.tree[--hi]);
    }
    return res;
  }
}

const MISSED = 1;
const RAN = 2;

export class ScheduleChaos extends Chaos {
  /** How many operations the session has created (ids 1 to this): set once the session exists. */
  private opsCreated: () => number = () => Number.MAX_SAFE_INTEGER;
  /** Deliveries so far of each operation, counted as the log counts them. */
  private readonly delivered = new Map<number, number>();
  /** Turns of the target that never came (released after the bounded hold), as op.k. */
  readonly missed: string[] = [];
  readonly schedule: { from: string; turns: number };
  private readonly index = new Map<string, number>();
  private readonly ops: Int32Array;
  private readonly ks: Int32Array;
  private readonly state: Uint8Array;
  private readonly pending: Pending;
  private lowest = 0;
  private waiting: Waiting[] = [];
  private stepping: NodeJS.Immediate | null = null;
  private deadline: NodeJS.Timeout | null = null;

  constructor(
    entry: ScheduleEntry,
    from: string,
    private readonly waitMs: number,
  ) {
    super(0, 'schedule');
    entry.turns.forEach(([op, k], i) => this.index.set(`${op}.${k}`, i));
    this.ops = Int32Array.from(entry.turns, ([op]) => op);
    this.ks = Int32Array.from(entry.turns, ([, k]) => k);
    this.state = new Uint8Array(entry.turns.length);
    this.pending = new Pending(this.ops);
    this.schedule = { from, turns: entry.turns.length };
    if (entry.randomSeed) Object.assign(this, { randomSeed: entry.randomSeed });
  }

  /** Follows the session: what it created, and each turn it logs (held here or not: a worker's message is not). */
  follow(s: { readonly opsCreated: number; onTurn: ((op: number) => void) | null }): void {
    this.opsCreated = () => s.opsCreated;
    s.onTurn = (op) => {
      const k = this.delivered.get(op) ?? 0;
      this.delivered.set(op, k + 1);
      const i = this.index.get(`${op}.${k}`);
      if (i === undefined || this.state[i] !== 0) return;
      this.state[i] = RAN;
      this.pending.done(i);
      while (this.lowest < this.state.length && this.state[this.lowest] !== 0) this.lowest++;
      if (this.waiting.length) this.arm();
    };
  }

  override deliver(lane: Lane, d: Delivering, run: () => void): void {
    const key = `${d.op}.${d.n}`;
    const w: Waiting = {
      lane,
      run,
      key,
      index: this.index.get(key),
      since: original.monoMs(),
      ref: d.ref ?? true,
      owner: d.owner ?? null,
      cancelled: false,
      discard: d.discard ?? null,
    };
    if (this.laneWaits(w, this.waiting.length) || this.blocked(w.index)) {
      this.waiting.push(w);
      this.arm();
      return;
    }
    this.enter(w);
  }

  /** Runs a delivery; the turn it logs marks its place in the target as run (see follow). */
  private enter(w: Waiting): void {
    if (this.waiting.length) this.arm(); // before running: a callback that throws must not stall what waits
    w.run();
  }

  /** Some earlier delivery of this lane waits (among the first `before` waiting): `w` goes after it. */
  private laneWaits(w: Waiting, before: number): boolean {
    for (let i = 0; i < before; i++) {
      const x = this.waiting[i];
      if (x.lane === w.lane && !x.cancelled && !this.timerTie(x, w)) return true;
    }
    return false;
  }

  /** `w`, a timer firing, may overtake `x`, one Node fired before it (see TIMER_TIE_MS), when the target puts it first. */
  private timerTie(x: Waiting, w: Waiting): boolean {
    if (w.lane !== this.timers || x.owner === null || w.owner === null || w.index === undefined) return false;
    if (x.index !== undefined && x.index < w.index) return false;
    const [dx, dw] = [timerDelay(x.owner), timerDelay(w.owner)];
    const [sx, sw] = [timerStart(x.owner), timerStart(w.owner)];
    if (typeof dx !== 'number' || typeof dw !== 'number' || typeof sx !== 'number' || typeof sw !== 'number')
      return false;
    return dx !== dw && Math.abs(sw + dw - (sx + dx)) < TIMER_TIE_MS;
  }

  /**
   * A turn the target puts before turn `index` has not run and its operation exists. A
   * delivery the target does not name comes after all of its turns: the run the target was
   * taken from ended (or went on) without it.
   */
  private blocked(index: number | undefined): boolean {
    const until = index ?? this.state.length;
    return this.pending.min(this.lowest, until) <= this.opsCreated();
  }

  private arm(): void {
    if (this.stepping === null) this.stepping = original.setImmediate(this.step);
  }

  /** Releases the first waiting delivery free to go, one per loop iteration; else waits for the deadline. */
  private readonly step = (): void => {
    this.stepping = null;
    this.waiting = this.waiting.filter((w) => !w.cancelled);
    for (let i = 0; i < this.waiting.length; i++) {
      const w = this.waiting[i];
      if (this.laneWaits(w, i) || this.blocked(w.index)) continue;
      this.waiting.splice(i, 1);
      this.clearDeadline();
      this.enter(w);
      return;
    }
    if (this.waiting.length) this.setDeadline();
    else this.clearDeadline();
  };

  private setDeadline(): void {
    this.clearDeadline();
    const oldest = this.waiting[0];
    this.deadline = original.setTimeout(this.expire, Math.max(0, oldest.since + this.waitMs - original.monoMs()));
    if (!this.waiting.some((w) => w.ref)) this.deadline.unref();
  }

  private clearDeadline(): void {
    if (this.deadline !== null) original.clearTimeout(this.deadline);
    this.deadline = null;
  }

  /**
   * The oldest delivery waited too long: the turns it waited for that have not arrived are
   * missed; it goes, after those of them that arrived and wait here too (they go in order).
   */
  private readonly expire = (): void => {
    this.deadline = null;
    const w = this.waiting[0];
    if (!w) return;
    const created = this.opsCreated();
    const until = w.index ?? this.state.length;
    const missed: string[] = [];
    // Arrived and free to go but for the target's order (not stuck behind another on its handle).
    const arrived = new Set(this.waiting.filter((x, i) => !this.laneWaits(x, i)).map((x) => x.index));
    for (let j = this.lowest; j < until; j++) {
      if (this.state[j] !== 0 || this.ops[j] > created || arrived.has(j)) continue;
      this.state[j] = MISSED;
      this.pending.done(j);
      missed.push(`${this.ops[j]}.${this.ks[j]}`);
    }
    this.missed.push(...missed);
    if (missed.length === 0) {
      // Nothing it waits for can be given up (the order asked for is one its handle's order forbids): it goes now.
      this.waiting.shift();
      writeStderr(
        `rewind: the schedule could not be followed: turn ${w.key} could not wait for the order given; released it.\n`,
      );
      this.enter(w);
      return;
    }
    writeStderr(
      `rewind: the schedule could not be followed: turn ${w.key} waited ${this.waitMs} ms for ` +
        (missed.length ? `turn${missed.length === 1 ? '' : 's'} ${missed.slice(0, 5).join(', ')}` : 'turns') +
        (missed.length > 5 ? '…' : '') +
        ` (op.delivery), which did not come; released it.\n`,
    );
    this.arm();
  };

  private readonly timerOps = new WeakMap<object, number>();

  override owned(owner: object, op: number): void {
    this.timerOps.set(owner, op);
  }

  /**
   * A cleared timer's next firing in the target never comes: what the target puts after it
   * goes on at once, not after the bounded hold (a reconnect timer a cleanup clears:
   * socket.io #3358).
   */
  override cleared(owner: object): void {
    const op = this.timerOps.get(owner);
    if (op === undefined) return;
    // Its next firing and (an interval's) those after it.
    for (let k = this.delivered.get(op) ?? 0; ; k++) {
      const i = this.index.get(`${op}.${k}`);
      if (i === undefined) break;
      if (this.state[i] !== 0 || this.waiting.some((w) => w.index === i)) continue;
      this.state[i] = MISSED;
      this.pending.done(i);
    }
    while (this.lowest < this.state.length && this.state[this.lowest] !== 0) this.lowest++;
    if (this.waiting.length) this.arm();
  }

  override get holdsTimers(): boolean {
    return this.waiting.some((w) => w.owner !== null && !w.cancelled);
  }

  override cancel(owned: (owner: object) => boolean): void {
    for (const w of this.waiting) {
      if (w.owner === null || w.cancelled || !owned(w.owner)) continue;
      w.cancelled = true;
      if (w.index !== undefined && this.state[w.index] === 0) {
        this.state[w.index] = MISSED;
        this.pending.done(w.index);
      }
    }
    this.arm();
  }

  override discard(lane: Lane): void {
    for (const w of this.waiting) {
      if (w.lane !== lane || w.discard === null || w.cancelled) continue;
      w.cancelled = true;
      w.discard();
    }
    this.arm();
  }
}

export const SCHEDULE_CLAIM = `${CHAOS_CLAIM}schedule-`;

/**
 * The schedule of this process from the file the CLI wrote, or null (no entry for its
 * program: it runs as recorded plainly). The n-th process of a program claims the n-th
 * entry of that program.
 */
export function readSchedule(file: string, dir: string, argv: readonly string[]): ScheduleChaos | null {
  let spec: ScheduleSpec;
  try {
    spec = JSON.parse(String(original.fs.readFileSync(file, 'utf8'))) as ScheduleSpec;
  } catch (e) {
    writeStderr(`rewind: cannot read the schedule ${file} (${(e as Error).message}); recording without one.\n`);
    return null;
  }
  const program = programName(argv);
  const inWorker = !thread.isMain;
  const mine = spec.processes.filter((p) => p.thread === inWorker && (p.program === null || p.program === program));
  let instance = 0;
  const key = `${inWorker ? 'worker-' : ''}${program.replace(/[^A-Za-z0-9_.-]+/g, '_')}`;
  for (; instance < mine.length; instance++) {
    try {
      original.fs.closeSync(original.fs.openSync(path.join(dir, `${SCHEDULE_CLAIM}${key}-${instance}`), 'wx', 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') break;
    }
  }
  const entry = mine[instance];
  // An entry without turns holds a place for a process that runs as it would (rewind analyze's other processes).
  return entry && entry.turns.length > 0 ? new ScheduleChaos(entry, spec.from, spec.waitMs) : null;
}
