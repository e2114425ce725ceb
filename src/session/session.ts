// What a Source sees of a session. RecordSession calls the real thing and logs what came
// back; ReplaySession returns what was logged. Sources whose record and replay code is
// the same shape (clocks, random values, outputs) are written once against SessionApi;
// the rest test `s.mode`, which narrows a Session to the one it is.
import type { TraceHeader } from '../trace/format.js';
import type { ArgsPacking } from '../trace/fastpack.js';
import type { RecordSession } from './record.js';
import type { ReplaySession } from './replay.js';

/** A session: recording or replaying, told apart by `mode`. */
export type Session = RecordSession | ReplaySession;

/** `s`, which must be recording here: an internal error (not a silent cast) if it is not. */
export function recording(s: Session): RecordSession {
  if (s.mode !== 'record') throw new Error('rewind internal error: a recording session was expected, in a replay');
  return s;
}

/** `s`, which must be replaying here: an internal error (not a silent cast) if it is not. */
export function replaying(s: Session): ReplaySession {
  if (s.mode !== 'replay') throw new Error('rewind internal error: a replaying session was expected, in a recording');
  return s;
}

/** What both sessions offer, the same way. */
export interface SessionApi {
  readonly mode: 'record' | 'replay';
  readonly header: TraceHeader;
  /** A wall-clock reading (epoch ms) for the API named by tag. */
  wall(tag: number): number;
  /** A monotonic reading (ns since the session's base) for the API named by tag. */
  mono(tag: number): number;
  /** Bytes from a nondeterministic producer; `real` only runs while recording. */
  bytes(tag: number, length: number, real: () => Uint8Array): Uint8Array;
  /** 16 raw bytes (UUIDs). */
  fixed16(tag: number, real: () => Uint8Array): Uint8Array;
  /** One integer result. */
  int(tag: number, real: () => number): number;
  /** Something the program wrote to fd 1 or 2: logged, or checked against the log. */
  output(fd: number, data: Uint8Array): void;
  /** Hands out the next operation id. Ids follow creation order, the same in both modes. */
  newOp(): number;
  /**
   * A synchronous call to the outside world (fs.readFileSync, os.hostname...). Recording
   * runs `real` and logs `args` with what it returned or threw; replay checks `args`
   * against the log and returns (or throws) the logged result without running `real`.
   * `args` is a small summary of the arguments (paths, sizes, digests), not the data.
   */
  call<T>(api: number, args: unknown, real: () => T, codec?: ResultCodec<T>): T;
  /**
   * call() for a source that packs the arguments' summary itself (`args`: ArgsPacking, with
   * `subject` its arguments), so no summary is made per call: recording writes the bytes
   * call() would write for `args.summary(subject)`, replay compares them with the log's (the
   * fs source's synchronous calls). The summary is made where it cannot be packed directly,
   * for a call that threw, and for a divergence's report. `real` is given `subject` (one
   * function serves every call).
   */
  callPacked<S, T>(api: number, args: ArgsPacking<S>, subject: S, real: (subject: S) => T, codec?: ResultCodec<T>): T;
  /**
   * An asynchronous call. Recording logs the call (unless `args` is undefined), runs
   * `start(done)`, and logs a turn with the results when `done` is entered, then calls
   * `cb` with them; replay checks the call and calls `cb` with the logged results in that
   * turn, without running `start`. Returns the op id.
   */
  async(op: AsyncCall): number;
  /**
   * The program used an API rewind does not record (`name`, e.g. "dgram.Socket"): the
   * recording says so once per name, on stderr and in the log, so a later divergence has
   * a known cause instead of a silent one.
   */
  unsupported(name: string, why: string): void;
  /**
   * A test runner integration reports that `test` failed with `err`, in the turn where it
   * failed: a failure event the recording keeps (the process goes on), checked at replay.
   */
  testFailed(test: string, err: unknown): void;
  /**
   * The wall-clock time (epoch ms) of the turn in progress, from the time the log holds for
   * it: a clock reading that costs no event (for values the program does not see, such as
   * the Date header Node adds to responses).
   */
  turnWallTime(): number;
}

/** How a call's result is stored; the default is values.ts (encodeValue/decodeValue). */
export interface ResultCodec<T> {
  encode(value: T): unknown;
  decode(data: unknown): T;
}

export interface AsyncCall {
  api: number;
  /** Compared at replay; undefined: no Call event (the op is implied by the program's order). */
  args?: unknown;
  /** For reports: what the program started ("fs.readFile('/etc/hosts')"). */
  what: string;
  /** Recording only: starts the real operation; `done` receives its callback's arguments. */
  start(done: (...results: unknown[]) => void): void;
  /** The program's callback. */
  cb(...results: unknown[]): void;
  /** The callback may run more than once (watchers, servers). */
  repeat?: boolean;
  /** How results are stored (default: values.ts on the argument list). */
  codec?: ResultCodec<unknown[]>;
}

/** A kind of nondeterminism: knows how to record and how to replay one API family. */
export interface Source {
  readonly name: string;
  install(session: Session): void;
}

/** Shared key: set once per process so a second preload (e.g. --import twice) is a no-op. */
export const SESSION_KEY = Symbol.for('rewind.session');

/**
 * The session of this thread, registered by start() under SESSION_KEY before any source is
 * installed: its one owner. Sources whose code Node calls later (binding wrappers, handle
 * state) ask for it here rather than keeping a copy in module state.
 */
export function currentSession(): Session {
  const s = (globalThis as Record<symbol, Session | undefined>)[SESSION_KEY];
  if (s === undefined) throw new Error('rewind: internal error: no session is installed in this thread');
  return s;
}

/**
 * Throws an error the program is to see (what a call to the outside world threw). Record
 * and replay both throw from here, so an uncaught one prints the same source line above
 * its stack in both runs (Node shows where it was last thrown).
 */
export function rethrow(e: unknown): never {
  throw e;
}
