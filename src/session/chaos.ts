// Chaos mode (`rewind record --chaos`): perturbs the schedule of a recorded run, within what
// Node allows, so that orders that are rare in plain runs become common (the idea of rr's
// chaos mode and of Node.fz, at the level of rewind's sources).
//
// It never invents a delivery and never reorders what Node keeps in order; it only holds a
// callback the event loop was about to make and makes it later:
// - timers fire late: a firing is held, and every timer firing after it waits behind it,
//   so timers still run in the order Node fired them;
// - immediates are sometimes deferred to a later loop iteration (after more timers and I/O),
//   again in their order;
// - I/O completions (stream reads, connects, accepted connections, write and shutdown
//   completions, closes, child exits, fs, dns, crypto, zlib, WebAssembly) are held for a
//   random time, per handle or operation in order (one socket's chunks, and its end after
//   them, never overtake each other), so concurrent operations complete in shuffled order;
// - two thread-pool operations are starved: held far longer than any other.
//
// How often each kind is held is a choice per run (see HOLDING): thread-pool completions and
// handle closes three times in four; network and other I/O completions, timers and
// immediates at a rate each seed draws, some seeds none at all.
//
// Turns are logged when the held callback is finally entered, so the log holds the
// perturbed order and replay (which knows nothing of chaos) reproduces it exactly.
//
// Same seed, same perturbations: each decision is a hash of the seed, the operation it is
// about (its op id, which the program's order of creation fixes) and which delivery of
// that operation it is. So a decision does not depend on which of two racing completions
// arrived first, and the program's Math.random is seeded from the same seed. Delays are
// whole multiples of QUANTUM_MS, longer than local I/O takes, so a held delivery lands
// clear of the undelayed ones and of the other held ones.
import path from 'node:path';
import { Api } from '../trace/format.js';
import { programName } from '../trace/store.js';
import { sha256Hex } from './digest.js';
import { original } from '../node/originals.js';

/** What is being delivered: each kind is perturbed its own way. */
export const Delivery = {
  Timer: 0,
  Immediate: 1,
  Io: 2,
  /** I/O done on libuv's thread pool (fs, dns.lookup, crypto, zlib): two of these are starved. */
  ThreadPool: 3,
  /**
   * A handle's close completion (on the handle's lane, after its other deliveries). Between
   * destroy() and it the handle is dead but still in the program's books (a pool's free
   * list: agentkeepalive #23), and nothing but clean-up waits for it.
   */
  Close: 4,
} as const;
export type DeliveryKind = (typeof Delivery)[keyof typeof Delivery];

/** Work libuv runs on its thread pool, by API: fs (but for watchers), dns.lookup, crypto, zlib. */
const THREAD_POOL = new Set<number>([
  Api['crypto.randomBytes'],
  Api['crypto.randomFill'],
  Api['crypto.randomInt'],
  Api['dns.lookup'],
  Api['dns.lookupService'],
  Api['zlib.done'],
  Api['crypto.done'],
  ...Object.entries(Api)
    .filter(([name]) => name.startsWith('fs.') && !name.includes('watch'))
    .map(([, id]) => id),
]);

/** How chaos treats the completions of an asynchronous call to `api`. */
export const deliveryOf = (api: number): DeliveryKind => (THREAD_POOL.has(api) ? Delivery.ThreadPool : Delivery.Io);

const QUANTUM_MS = 4;
/**
 * How late a held timer or I/O completion is, in quanta: 16 to 128 ms, 29 values, so that
 * two held completions come in either order nearly alike (a tie keeps their arrival order).
 */
const LATENESS = Array.from({ length: 29 }, (_, i) => 4 + i);
/**
 * How long a starved thread-pool operation waits, in quanta: 512 to 1024 ms, longer than
 * a chain of held completions that raced it takes (the other entries an archive processes
 * while a stat is starved: archiver #388).
 */
const STARVATION = [128, 192, 256];
/**
 * How often a delivery is held, by kind (indexed by DeliveryKind); a kind with several rates
 * draws one per run from them (swarm testing, Groce et al., ISSTA 2012). Of two concurrent
 * completions, the one issued second comes first when only the first is held, or when both
 * are and the first is held longer: p(1 - p) + p²/2 nearly, which grows with p, and so does
 * the time a run takes. Thread-pool completions race each other most (four threads, sub-ms
 * apart: nedb #609's append and write) and are held three times in four; so are closes
 * (see Delivery.Close). Other I/O is held at most half the time, and not at all in a third of
 * the runs: a network completion's failing order is often the undelayed one (a refused
 * connection reported before a timer: socket.io #3358), which holding can only make rarer
 * (held half the time in every run, that bug failed at half its natural rate; with a third
 * of the seeds leaving I/O alone, at three quarters of it). Timers and immediates are held
 * rarely, and not at all in a third of the runs: a held timer holds every timer firing after
 * it (their order is kept), and the races among timers and the closes and reads they start
 * need them on time. Measured on the real race bugs of bench/races (see the README): I/O rates
 * up to 7/8 and site-wide decisions (all of a call site's operations held alike) both
 * reproduced those bugs less often; holding a completion until another lane's next delivery
 * instead of for a time did no better (nedb #609 also needs the held append to land before a
 * chain of later completions, which an undelayed chain outruns), nor did letting only one
 * completion be held at a time.
 */
const HOLDING: readonly (readonly number[])[] = [
  [0, 1 / 8, 1 / 4],
  [0, 1 / 8, 1 / 4],
  [0, 1 / 4, 1 / 2],
  [3 / 4],
  [3 / 4],
];
/**
 * The starved operations are the k-th thread-pool ones created, k geometric with this p (mean
 * 4), two distinct ones: one starved op is the right one (archiver's missing file's lstat, the
 * third) in one run in seven; two, in one in four, less those where the other outlasts it.
 */
const P_STARVED = 1 / 4;
const STARVED = 2;

/** Not held: delivered at once (when nothing waits before it on its lane). */
const NOW = -1;

/** One delivery chaos decides about. */
export interface Delivering {
  /** The operation it belongs to (an op id) and which of its deliveries it is (from 0). */
  op: number;
  n: number;
  /** How chaos decides about it, when not as its lane's kind (a handle's close). */
  kind?: DeliveryKind;
  /** The timer or immediate it fires: clearing that drops it. */
  owner?: object;
  /** It keeps the process alive, as what it comes from did (default true). */
  ref?: boolean;
  /** Makes it moot instead, when its handle closes first (see Chaos.discard). */
  discard?: () => void;
}

interface Held {
  run: () => void;
  /** When it may be delivered (original.monoMs()). */
  due: number;
  ref: boolean;
  owner: object | null;
  cancelled: boolean;
  discard: (() => void) | null;
}

/**
 * Deliveries that must stay in order: one handle's or operation's, all timers, all
 * immediates. Held ones wait in a FIFO, released one per event-loop iteration when due.
 */
export class Lane {
  /** Deliveries so far of a lane that is one operation's. */
  n = 0;
  /** This is the thread-pool operation chaos starves: its first completion waits longest. */
  starved = false;
  private items: Held[] = [];
  private head = 0;
  private lastDue = 0;
  private refs = 0;
  private release: NodeJS.Timeout | NodeJS.Immediate | null = null;

  constructor(
    /** The operation whose deliveries these are (0: deliveries of many). */
    readonly op: number,
    readonly kind: DeliveryKind,
  ) {}

  get idle(): boolean {
    return this.head === this.items.length;
  }

  hold(item: Held): void {
    item.due = Math.max(item.due, this.lastDue);
    this.lastDue = item.due;
    this.items.push(item);
    if (item.ref) this.refs++;
    if (this.release === null) this.arm();
    else if (item.ref && this.refs === 1) this.release.ref();
  }

  *held(): Iterable<Held> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i];
  }

  private arm(): void {
    const wait = this.items[this.head].due - original.monoMs();
    this.release = wait <= 0 ? original.setImmediate(this.step) : original.setTimeout(this.step, wait);
    if (this.refs === 0) this.release.unref();
  }

  private readonly step = (): void => {
    this.release = null;
    const item = this.items[this.head++];
    if (item.ref) this.refs--;
    if (this.idle) {
      this.items = [];
      this.head = 0;
    } else {
      // A lane that never empties (a socket streaming steadily) drops what it delivered.
      if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      this.arm(); // before running: a callback that throws must not stall the lane
    }
    if (!item.cancelled) item.run();
  };
}

/** murmur3's finalizer: a well-mixed 32-bit hash of a 32-bit word. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Chaos {
  /** Every timer firing, in the order Node fired them. */
  readonly timers = new Lane(0, Delivery.Timer);
  /** Every immediate, in the order Node ran them. */
  readonly immediates = new Lane(0, Delivery.Immediate);
  /** Seed of the program's Math.random, drawn from the chaos seed. */
  readonly randomSeed: [number, number, number, number];
  private readonly key: number;
  private threadPoolOps = 0;
  /** Which thread-pool operations (by order of creation, from 1) are starved. */
  private readonly starvedOrdinals: number[] = [];
  /** This run's chance of holding a delivery, by DeliveryKind (see HOLDING). */
  readonly holding: readonly number[];

  /**
   * `seed` is the one the user sees; `stream` tells this process apart from the others of
   * the same run (see startChaos), so that two test workers do not draw the same numbers.
   */
  constructor(
    readonly seed: number,
    stream: string,
  ) {
    this.key = mix32(seed ^ parseInt(sha256Hex(stream).slice(0, 8), 16));
    this.randomSeed = [this.word(0, 0, 1), this.word(0, 0, 2), this.word(0, 0, 3), this.word(0, 0, 4)];
    for (let i = 0; i < STARVED; i++) {
      // Geometric; a draw that repeats an earlier one goes on to a later operation.
      let k = 0;
      for (let j = 0; j === 0 || this.starvedOrdinals.includes(k); j++)
        k += 1 + Math.floor(Math.log(1 - this.draw(0, i, 5 + j)) / Math.log(1 - P_STARVED));
      this.starvedOrdinals.push(k);
    }
    this.holding = HOLDING.map((rates, kind) => rates[Math.floor(this.draw(0, 1, kind) * rates.length)]);
  }

  /** Decision word `salt` about delivery `n` of operation `op`. */
  private word(op: number, n: number, salt: number): number {
    return mix32(mix32(mix32(this.key ^ op) + n) ^ salt);
  }

  /** The same as word, as a number in [0, 1). */
  private draw(op: number, n: number, salt: number): number {
    return this.word(op, n, salt) / 0x100000000;
  }

  private lateness(d: Delivering, quanta: number[]): number {
    return quanta[Math.floor(this.draw(d.op, d.n, 1) * quanta.length)] * QUANTUM_MS;
  }

  /** How long to hold a delivery: NOW, or ms (0: until a later loop iteration). */
  private delay(lane: Lane, d: Delivering): number {
    if (lane.starved && d.n === 0) return this.lateness(d, STARVATION);
    if (this.draw(d.op, d.n, 0) >= this.holding[d.kind ?? lane.kind]) return NOW;
    return lane.kind === Delivery.Immediate ? 0 : this.lateness(d, LATENESS);
  }

  /**
   * The lane of operation `op`, created when the operation is (a thread-pool one may be
   * the starved one). One that `repeats` (a watcher) is kept until finished(op).
   */
  lane(op: number, kind: DeliveryKind, repeats = false): Lane {
    const lane = new Lane(op, kind);
    if (kind === Delivery.ThreadPool) lane.starved = this.starvedOrdinals.includes(++this.threadPoolOps);
    if (repeats) this.repeating.set(op, lane);
    return lane;
  }
  private readonly repeating = new Map<number, Lane>();

  /** A repeating operation ended (a watcher closed): what it still holds never arrives, as replay expects. */
  finished(op: number): void {
    const lane = this.repeating.get(op);
    if (!lane) return;
    this.repeating.delete(op);
    for (const h of lane.held()) h.cancelled = true;
  }

  /** Delivers now (`run()`), or holds the delivery on `lane` and makes it later, after everything held there before it. */
  deliver(lane: Lane, d: Delivering, run: () => void): void {
    const delay = this.delay(lane, d);
    if (delay === NOW && lane.idle) {
      run();
      return;
    }
    lane.hold({
      run,
      due: original.monoMs() + Math.max(delay, 0),
      ref: d.ref ?? true,
      owner: d.owner ?? null,
      cancelled: false,
      discard: d.discard ?? null,
    });
  }

  /**
   * What the native side calls in place of `fn`: each call is the next delivery of the
   * lane's operation, or the one delivery of `op` (a write, a connect, a close: `kind`
   * Close) when the lane is its handle's.
   */
  wrap<A extends unknown[]>(
    lane: Lane,
    fn: (this: unknown, ...args: A) => unknown,
    op?: number,
    kind?: DeliveryKind,
  ): (this: unknown, ...args: A) => void {
    const chaos = this;
    return function (this: unknown, ...args: A) {
      chaos.deliver(lane, op === undefined ? { op: lane.op, n: lane.n++ } : { op, n: 0, kind }, () =>
        fn.apply(this, args),
      );
    };
  }

  /** Some timer firing or immediate is held. */
  get holdsTimers(): boolean {
    return !this.timers.idle || !this.immediates.idle;
  }

  /** The program cleared (or refreshed) a timer or an immediate: its held firings never happen. */
  cancel(owned: (owner: object) => boolean): void {
    for (const lane of [this.timers, this.immediates]) {
      for (const h of lane.held()) if (h.owner !== null && owned(h.owner)) h.cancelled = true;
    }
  }

  /** Timer or immediate `owner` is operation `op` (a forced schedule follows clears: session/schedule.ts). */
  owned(_owner: object, _op: number): void {}

  /** The program cleared timer or immediate `owner` (by object): it fires no more. */
  cleared(_owner: object): void {}

  /** The handle closed: held deliveries a closed handle never gets are dropped. */
  discard(lane: Lane): void {
    for (const h of lane.held()) {
      if (h.discard === null || h.cancelled) continue;
      h.cancelled = true;
      h.discard();
    }
  }
}

/** Prefix of the files startChaos leaves in a recording directory; the CLI removes them. */
export const CHAOS_CLAIM = '.chaos-';

/**
 * Starts chaos mode with the seed the CLI passed. The numbers a process draws depend on
 * its program's name (not its arguments: a temporary path or a port must not change them)
 * and on a number it claims in the recording directory, so that processes of the same
 * program in one run (test workers) draw different numbers; the order they start in
 * decides which gets which.
 */
export function startChaos(seed: number, dir: string, argv: readonly string[]): Chaos {
  const key = programName(argv);
  let instance = 0;
  for (; instance < 1000; instance++) {
    try {
      original.fs.closeSync(
        original.fs.openSync(
          path.join(dir, `${CHAOS_CLAIM}${key.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${instance}`),
          'wx',
          0o600,
        ),
      );
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') break;
    }
  }
  return new Chaos(seed, `${key}/${instance}`);
}

/** A chaos seed as the user writes it: a whole number from 0 to 2^32 - 1. */
export function parseSeed(text: string): number | null {
  if (!/^\d{1,10}$/.test(text.trim())) return null;
  const n = Number(text);
  return n <= 0xffffffff ? n : null;
}
