// What a Source sees of a session. RecordSession calls the real thing and logs what came
// back; ReplaySession returns what was logged. Sources whose record and replay code is
// the same shape (clocks, random values, outputs) are written once against this interface.
import type { TraceHeader } from '../trace/format.js';

export interface Session {
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
}

/** A kind of nondeterminism: knows how to record and how to replay one API family. */
export interface Source {
  readonly name: string;
  install(session: Session): void;
}

/** Shared key: set once per process so a second preload (e.g. --import twice) is a no-op. */
export const SESSION_KEY = Symbol.for('rewind.session');
