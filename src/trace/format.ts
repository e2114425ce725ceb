// The one place that defines what a rewind trace looks like on disk.
//
// File layout:
//   "RWND"            4-byte signature
//   u8                format version (FORMAT_VERSION)
//   varint + bytes    the header, msgpack-encoded (TraceHeader)
//   chunk*            u32le payload length, u32le crc32 of the payload, payload
//
// A chunk's payload is a sequence of events. Every event starts with a one-byte tag;
// the hot events (clock readings, timer turns) are hand-encoded varints so recording
// costs a few nanoseconds and a few bytes; rarer events carry a msgpack payload.
// A process killed mid-write leaves a short last chunk: its complete events are kept.

export const MAGIC = Buffer.from('RWND', 'latin1');
export const FORMAT_VERSION = 1;
export const CHUNK_HEADER_BYTES = 8;
/** Upper bound for a chunk or a single length field; anything larger is corruption. */
export const MAX_CHUNK_BYTES = 1 << 30;

/** Event tags. Numbers are part of the format: never renumber, only add. */
export const Tag = {
  // Wall clock readings (epoch ms): zigzag varint delta from the previous wall reading.
  DateNow: 1,
  DateNew: 2,
  DateString: 3,
  // Monotonic readings (ns since the session's base): varint delta from the previous one.
  PerfNow: 4,
  Hrtime: 5,
  HrtimeBigint: 6,
  Uptime: 7,
  // Random values.
  RandomBytes: 16, // varint n, n bytes
  RandomFill: 17, // varint n, n bytes
  RandomUUID: 18, // 16 bytes
  RandomInt: 19, // zigzag varint
  GetRandomValues: 20, // varint n, n bytes
  // A result of any other synchronous call: varint api, varint n, n bytes msgpack.
  Value: 31,
  // Turns: varint op id (ops are numbered from 1 in creation order), varint µs since the previous turn.
  Timeout: 32,
  Interval: 33,
  Immediate: 34,
  // A callback turn with a payload: op delta, µs delta, varint api, varint n, n bytes msgpack.
  Callback: 35,
  // A signal delivered to the process: µs delta, varint n, signal name.
  Signal: 36,
  // Output: u8 fd, varint n, n bytes.
  Write: 48,
  // Large output: u8 fd, varint total length, 8-byte digest, varint n, first n bytes.
  WriteDigest: 49,
  // Uncaught exception / unhandled rejection: varint n, msgpack FailureInfo.
  Failure: 56,
  // How the process ended: varint n, msgpack EndInfo.
  End: 57,
} as const;
export type TagValue = (typeof Tag)[keyof typeof Tag];

/** API ids used by Value and Callback events. Part of the format: only add. */
export const Api = {
  'crypto.randomBytes': 1,
  'crypto.randomFill': 2,
  'crypto.randomInt': 3,
} as const;
export type ApiName = keyof typeof Api;
export const apiName = (id: number): string =>
  (Object.keys(Api) as ApiName[]).find((k) => Api[k] === id) ?? `api#${id}`;

export type EventKind = 'clock' | 'random' | 'value' | 'turn' | 'signal' | 'output' | 'failure' | 'end';

export interface TagInfo {
  kind: EventKind;
  /** What the program called, as shown in listings and divergence reports. */
  call: string;
}

export const TAGS: Record<number, TagInfo> = {
  [Tag.DateNow]: { kind: 'clock', call: 'Date.now()' },
  [Tag.DateNew]: { kind: 'clock', call: 'new Date()' },
  [Tag.DateString]: { kind: 'clock', call: 'Date()' },
  [Tag.PerfNow]: { kind: 'clock', call: 'performance.now()' },
  [Tag.Hrtime]: { kind: 'clock', call: 'process.hrtime()' },
  [Tag.HrtimeBigint]: { kind: 'clock', call: 'process.hrtime.bigint()' },
  [Tag.Uptime]: { kind: 'clock', call: 'process.uptime()' },
  [Tag.RandomBytes]: { kind: 'random', call: 'crypto.randomBytes()' },
  [Tag.RandomFill]: { kind: 'random', call: 'crypto.randomFillSync()' },
  [Tag.RandomUUID]: { kind: 'random', call: 'crypto.randomUUID()' },
  [Tag.RandomInt]: { kind: 'random', call: 'crypto.randomInt()' },
  [Tag.GetRandomValues]: { kind: 'random', call: 'crypto.getRandomValues()' },
  [Tag.Value]: { kind: 'value', call: 'a synchronous call' },
  [Tag.Timeout]: { kind: 'turn', call: 'setTimeout callback' },
  [Tag.Interval]: { kind: 'turn', call: 'setInterval callback' },
  [Tag.Immediate]: { kind: 'turn', call: 'setImmediate callback' },
  [Tag.Callback]: { kind: 'turn', call: 'callback' },
  [Tag.Signal]: { kind: 'signal', call: 'signal' },
  [Tag.Write]: { kind: 'output', call: 'write' },
  [Tag.WriteDigest]: { kind: 'output', call: 'write' },
  [Tag.Failure]: { kind: 'failure', call: 'uncaught exception' },
  [Tag.End]: { kind: 'end', call: 'process exit' },
};

export interface StdioInfo {
  isTTY: boolean;
  columns?: number;
  rows?: number;
  colorDepth?: number;
}

/** Everything replay needs to re-create the process and check it is the same program. */
export interface TraceHeader {
  formatVersion: number;
  rewindVersion: string;
  nodeVersion: string;
  platform: string;
  arch: string;
  pid: number;
  ppid: number;
  argv: string[];
  execArgv: string[];
  cwd: string;
  env: Record<string, string>;
  title: string;
  /** The entry module (argv[1]) or the -e/-p source, and its sha256. */
  entry: { path: string | null; sha256: string };
  /** Clock bases: every reading is logged as a delta from these. */
  startWall: number; // Date.now() at start
  monoBase: [number, number]; // process.hrtime() at start
  perfNowBase: number; // performance.now() at start
  uptimeBase: number; // process.uptime() at start
  timeOrigin: number; // performance.timeOrigin
  /** Seed of the Math.random generator (4 × u32). */
  randomSeed: [number, number, number, number];
  stdio: { stdin: StdioInfo; stdout: StdioInfo; stderr: StdioInfo };
}

export interface FailureInfo {
  origin: 'uncaughtException' | 'unhandledRejection';
  name: string;
  message: string;
  stack: string;
}

export interface EndInfo {
  /** Exit code passed to the 'exit' event, or null when a signal ended the process. */
  code: number | null;
  signal: string | null;
  /** 'exit' for process.exit(), 'natural' for an empty event loop, 'signal', 'uncaught'. */
  via: 'exit' | 'natural' | 'signal' | 'uncaught';
}

/** Output writes up to this size are logged verbatim, larger ones as a digest. */
export const WRITE_VERBATIM_MAX = 4096;
export const WRITE_DIGEST_HEAD = 64;
