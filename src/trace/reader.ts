// TraceReader: opens a log, checks it, and decodes its events.
// Every problem with the file becomes a TraceError whose message tells the user what is
// wrong and what to do; nothing in here may throw anything else on bad bytes.
import { constants as fsConstants } from 'node:fs';
import { original } from '../node/originals.js';
import { ByteCursor, DecodeError, MAX_VARINT_BYTES, unpack, unzigzag } from './codec.js';
import { COMPRESSED, decompressPayload } from './compress.js';
import { endProblem, failureProblem, headerProblem } from './validate.js';
import {
  Api,
  CHUNK_HEADER_BYTES,
  FORMAT_VERSION,
  OLDEST_FORMAT_VERSION,
  opsAsDeltas,
  MAGIC,
  MAX_CHUNK_BYTES,
  MAX_HEADER_BYTES,
  MAX_TAIL_CHUNK_BYTES,
  TAGS,
  Tag,
  WORKER_LOG,
  type CallRecord,
  type EndInfo,
  type EventKind,
  type FailureInfo,
  type TraceHeader,
} from './format.js';
import { crc32 } from '../node/bindings.js';
import { isPerfOrigin, takePerfOrigin } from './clocks.js';

export class TraceError extends Error {
  override name = 'TraceError';
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

export interface TraceEvent {
  /** 1-based event number: the global event counter. */
  n: number;
  tag: number;
  kind: EventKind;
  /** Best-known virtual time of the event, µs after the recording started. */
  timeUs: number;
  wall?: number;
  monoNs?: number;
  data?: Uint8Array;
  int?: number;
  op?: number;
  api?: number;
  payload?: unknown;
  fd?: number;
  length?: number;
  digest?: Uint8Array;
  signal?: string;
  /** StreamRead: bytes read (> 0) or a libuv status (<= 0). StreamWrite: the write's status. */
  status?: number;
  /** StreamWrite: crc32 of the bytes written. */
  crc?: number;
  /** StreamWrite: the write completed in a later turn. */
  async?: boolean;
  call?: CallRecord;
  failure?: FailureInfo;
  end?: EndInfo;
}

/** Decoder state carried across events: the delta bases. */
export class DecodeState {
  lastWall: number;
  lastMono = 0;
  lastTurnUs = 0;
  timeUs = 0;
  lastOp = 0;
  /** Format 4 on: operation numbers are differences (format.ts). */
  private readonly opDeltas: boolean;
  constructor(readonly header: TraceHeader) {
    this.lastWall = header.startWall;
    this.opDeltas = opsAsDeltas(header);
  }

  /** The operation number a turn or stream write names, from its varint. */
  op(v: number): number {
    return (this.lastOp = opNamed(this.opDeltas, this.lastOp, v));
  }
}

/** The operation a turn's or stream write's varint `v` names, after operation `last` (format.ts). */
export const opNamed = (deltas: boolean, last: number, v: number): number => (deltas ? last + unzigzag(v) : v);

/**
 * Events that are their tag and varints only, by tag: how many varints (clock readings,
 * randomInt, timer turns). The checking scan of a log (parseBytes) steps over them without
 * decoding their values, which it does not check: they are most of a busy log's events
 * (a log of 10^6 clock readings: checked in ~7.5 ms, was ~18).
 */
export const VARINTS_ONLY = (() => {
  const t = new Uint8Array(256);
  for (const tag of [
    Tag.DateNow,
    Tag.DateNew,
    Tag.DateString,
    Tag.PerfNow,
    Tag.Hrtime,
    Tag.HrtimeBigint,
    Tag.Uptime,
    Tag.RandomInt,
  ])
    t[tag] = 1;
  for (const tag of [Tag.Timeout, Tag.Interval, Tag.Immediate]) t[tag] = 2;
  return t;
})();

/**
 * The end of the event of `varints` varints at `p`, or -1 when decodeEvent must look at it:
 * cut short, or a varint longer than ByteCursor.varint accepts (it then says what is wrong).
 */
function skipVarints(b: Uint8Array, p: number, end: number, varints: number): number {
  p++;
  for (let k = 0; k < varints; k++) {
    const last = Math.min(end, p + MAX_VARINT_BYTES);
    while (p < last && b[p] >= 0x80) p++;
    if (p >= last) return -1;
    p++;
  }
  return p;
}

const PERF_ORIGIN = Api['perf.origin'];

/**
 * What reading a call event (at `start`) tells the log's reader beyond the event: the
 * perf.origin reading is the perf clock's bases, kept beside the header for what describes
 * later readings (clocks.ts). Every reader of call events calls it (decodeEvent, the replay's
 * in-place check).
 */
export function callRead(h: TraceHeader, api: number, status: number, value: unknown, start: number): void {
  if (api !== PERF_ORIGIN || status !== 1) return;
  if (!isPerfOrigin(value)) throw new DecodeError('malformed perf.origin reading', start, false);
  takePerfOrigin(h, value);
}

/**
 * A payload the checking scan does not need the value of: stepped over when it is plainly
 * well formed, else decoded (which says what is wrong with it).
 */
function checkPayload(c: ByteCursor): undefined {
  if (!c.skipMsgpack()) c.msgpack();
  return undefined;
}

/**
 * Decodes the event at the cursor. Throws DecodeError on malformed or cut-off bytes. Without
 * `values` (the checking scan) the msgpack payloads of calls, values and callbacks are
 * checked, not decoded: `call` and `payload` are then undefined (a perf.origin reading's
 * still decoded: it is the perf clock's bases).
 */
export function decodeEvent(c: ByteCursor, st: DecodeState, n: number, into?: TraceEvent, values = true): TraceEvent {
  const start = c.pos;
  const tag = c.u8();
  const info = TAGS[tag];
  if (!info) throw new DecodeError(`unknown event tag ${tag}`, start, false);
  // `into` lets a scan reuse one object: its other fields are then stale, not cleared.
  const ev: TraceEvent = into ?? { n, tag, kind: info.kind, timeUs: st.timeUs };
  if (into) {
    into.n = n;
    into.tag = tag;
    into.kind = info.kind;
    into.timeUs = st.timeUs;
  }
  switch (tag) {
    case Tag.DateNow:
    case Tag.DateNew:
    case Tag.DateString:
      st.lastWall += unzigzag(c.varint());
      ev.wall = st.lastWall;
      break;
    case Tag.PerfNow:
    case Tag.Hrtime:
    case Tag.HrtimeBigint:
    case Tag.Uptime:
      st.lastMono += unzigzag(c.varint());
      ev.monoNs = st.lastMono;
      st.timeUs = Math.max(st.timeUs, Math.floor(st.lastMono / 1000));
      ev.timeUs = st.timeUs;
      break;
    case Tag.RandomBytes:
    case Tag.RandomFill:
    case Tag.GetRandomValues:
      ev.data = c.lengthPrefixed();
      break;
    case Tag.RandomUUID:
      ev.data = c.bytes(16);
      break;
    case Tag.RandomInt:
      ev.int = unzigzag(c.varint());
      break;
    case Tag.Value:
      ev.api = c.varint();
      ev.payload = values ? c.msgpack() : checkPayload(c);
      break;
    case Tag.Call: {
      ev.api = c.varint();
      const status = c.u8();
      if (status > 2) throw new DecodeError('malformed call record', start, false);
      if (!values && ev.api !== PERF_ORIGIN) {
        checkPayload(c);
        if (status !== 0) checkPayload(c);
        ev.call = undefined;
        break;
      }
      const args = c.msgpack();
      ev.call = status === 0 ? { args, status } : { args, status: status as 1 | 2, value: c.msgpack() };
      callRead(st.header, ev.api, status, ev.call.value, start);
      break;
    }
    case Tag.StreamRead: {
      ev.op = st.op(c.varint());
      st.lastTurnUs += c.varint();
      st.timeUs = Math.max(st.timeUs, st.lastTurnUs);
      ev.timeUs = st.timeUs;
      const n = unzigzag(c.varint());
      ev.status = n;
      ev.data = n > 0 ? c.bytes(n) : undefined;
      break;
    }
    case Tag.StreamWrite: {
      ev.op = st.op(c.varint());
      ev.length = c.varint();
      ev.crc = c.u32();
      ev.status = unzigzag(c.varint());
      ev.async = c.u8() === 1;
      break;
    }
    case Tag.Timeout:
    case Tag.Interval:
    case Tag.Immediate:
    case Tag.Callback:
      ev.op = st.op(c.varint());
      st.lastTurnUs += c.varint();
      st.timeUs = Math.max(st.timeUs, st.lastTurnUs);
      ev.timeUs = st.timeUs;
      if (tag === Tag.Callback) {
        ev.api = c.varint();
        ev.payload = values ? c.msgpack() : checkPayload(c);
      }
      break;
    case Tag.Signal:
      st.lastTurnUs += c.varint();
      st.timeUs = Math.max(st.timeUs, st.lastTurnUs);
      ev.timeUs = st.timeUs;
      ev.signal = Buffer.from(c.lengthPrefixed()).toString('latin1');
      break;
    case Tag.Write:
      ev.fd = c.u8();
      ev.data = c.lengthPrefixed();
      ev.length = ev.data.length;
      break;
    case Tag.WriteDigest:
      ev.fd = c.u8();
      ev.length = c.varint();
      ev.digest = c.bytes(8);
      ev.data = c.lengthPrefixed();
      break;
    case Tag.Failure:
      ev.failure = c.msgpack() as FailureInfo;
      if (failureProblem(ev.failure) !== null)
        throw new DecodeError(`malformed failure record (${failureProblem(ev.failure)})`, start, false);
      break;
    case Tag.End:
      ev.end = c.msgpack() as EndInfo;
      if (endProblem(ev.end) !== null)
        throw new DecodeError(`malformed end record (${endProblem(ev.end)})`, start, false);
      break;
  }
  return ev;
}

export interface TraceFile {
  path: string;
  header: TraceHeader;
  /** Bytes of the file's preamble (signature, version, header): what its signature covers. */
  preamble: Uint8Array;
  /**
   * The first chunks' events, concatenated, up to the open's `keepBytes` (all of a log that
   * fits; none of a log opened `streamed`). The rest, if any, is read again from the file
   * (`rest`), so a replay of a 1 GB log holds 64 MB of it, not all of it.
   */
  body: Uint8Array;
  /** Offset in body just past the last complete event. */
  bodyEnd: number;
  /** Number of complete events. */
  eventCount: number;
  /** Set when the log stops short: the process was killed or the file was cut. */
  truncated: string | null;
  size: number;
  /** The events after `body`: read again from the file, chunk by chunk (`restOf`). */
  stream?: RestOfLog;
  /** The API of every call record it holds (seen when it was opened): whether to look for one. */
  callApis?: ReadonlySet<number>;
}

/** Where the events not kept in memory are in the file. */
export interface RestOfLog {
  /** File offset of the first chunk not kept, its sequence number, and the offset past the last whole chunk. */
  start: number;
  seq: number;
  end: number;
  version: number;
  /** The last chunk is cut off (a killed process): its complete events end here in its payload. */
  tailEnd: number | null;
}

/** How much of a log's events a replay keeps in memory; the rest is read again as it goes. */
export const KEEP_BYTES = 64 << 20;

export interface OpenOptions {
  /**
   * Check and count the events without keeping them in memory: `events()` then reads the
   * file again chunk by chunk (bounded memory, for inspecting large logs).
   */
  streamed?: boolean;
  /** Keep at most this many bytes of events in memory (default KEEP_BYTES). */
  keepBytes?: number;
  /** Read chunk by chunk even a log small enough to be read whole (the tests check both ways). */
  inPieces?: boolean;
}

const describeSize = (n: number) => `${n} byte${n === 1 ? '' : 's'}`;

/** Where a log's bytes come from: an open file (read piece by piece) or a buffer. */
interface Bytes {
  size: number;
  /** Up to n bytes at pos (fewer at the end). */
  read(pos: number, n: number): Uint8Array;
}

const bufferBytes = (b: Uint8Array): Bytes => ({
  size: b.length,
  read: (pos, n) => b.subarray(pos, Math.min(b.length, pos + n)),
});

/**
 * A file read piece by piece. With `reuse`, large pieces share one buffer, overwritten by
 * the next read: for a pass that is done with each chunk before it reads the next (a
 * streamed log's memory stays that of its largest chunk).
 */
function fileBytes(fd: number, size: number, reuse = false): Bytes {
  let scratch: Buffer | null = null;
  return {
    size,
    read(pos, n) {
      const len = Math.max(0, Math.min(n, size - pos));
      let out: Buffer;
      if (reuse && len > 64) {
        if (!scratch || scratch.length < len) scratch = Buffer.allocUnsafe(Math.max(len, 128 * 1024));
        out = scratch;
      } else out = Buffer.allocUnsafe(len);
      let off = 0;
      while (off < len) {
        const got = original.fs.readSync(fd, out, off, len - off, pos + off);
        if (got === 0) break;
        off += got;
      }
      return out.subarray(0, off);
    },
  };
}

/** Logs up to this size are read in one piece when opened. */
const WHOLE_READ_BYTES = 1 << 20;

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fsConstants.O_NONBLOCK ?? 0;

export class TraceReader {
  /**
   * Reads, checks and indexes a trace file. Only a regular file is read (never a link, FIFO
   * or device: a FIFO would hang, /dev/zero never ends). Throws TraceError with an
   * actionable message.
   */
  static open(path: string, opts: OpenOptions = {}): TraceFile {
    let fd: number;
    try {
      fd = original.fs.openSync(path, fsConstants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') {
        throw new TraceError(
          `rewind: there is no recording at ${path}. Check the path, or record one with \`rewind record -- node app.js\`.`,
          path,
        );
      }
      if (err.code === 'EISDIR') {
        throw new TraceError(
          `rewind: ${path} is a directory, not a log file. Pass the recording directory or one of its .rwnd files.`,
          path,
        );
      }
      if (err.code === 'ELOOP' || err.code === 'EMLINK') {
        throw new TraceError(
          `rewind: ${path} is a symbolic link; rewind reads only logs that are regular files. Pass the file the link points to, if you trust it.`,
          path,
        );
      }
      throw new TraceError(
        `rewind: cannot read the recording ${path} (${err.code ?? err.message}). Check its permissions.`,
        path,
      );
    }
    try {
      const st = original.fs.fstatSync(fd);
      if (st.isDirectory()) {
        throw new TraceError(
          `rewind: ${path} is a directory, not a log file. Pass the recording directory or one of its .rwnd files.`,
          path,
        );
      }
      if (!st.isFile()) {
        throw new TraceError(
          `rewind: ${path} is not a regular file (a FIFO, socket or device); a rewind log is a regular file. Pass a .rwnd file or a recording directory made by \`rewind record\`.`,
          path,
        );
      }
      // Read chunk by chunk either way: kept events are copied into one buffer of their size,
      // so a log's memory at replay is its events once (not the file, then its events too).
      // A small log is read whole, in one system call rather than three or four per chunk (a
      // 10 s timer program's 8 KB log holds ~100 chunks: ~420 reads, ~3 ms of a replay's start).
      const bytes =
        st.size <= WHOLE_READ_BYTES && !opts.inPieces ? bufferBytes(fileBytes(fd, st.size).read(0, st.size)) : null;
      const keep = opts.streamed ? 0 : (opts.keepBytes ?? KEEP_BYTES);
      return parseBytes(bytes ?? fileBytes(fd, st.size, true), path, keep);
    } catch (e) {
      if (e instanceof TraceError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new TraceError(`rewind: cannot read the recording ${path} (${err.code ?? err.message}).`, path);
    } finally {
      original.fs.closeSync(fd);
    }
  }

  static parse(buf: Uint8Array, path = '<buffer>'): TraceFile {
    return parseBytes(bufferBytes(buf), path, Infinity);
  }

  /** Iterates the decoded events of a trace. */
  static *events(t: TraceFile): Generator<TraceEvent> {
    const st = new DecodeState(t.header);
    let n = 0;
    const kept = new ByteCursor(t.body, 0, t.bodyEnd);
    while (kept.pos < t.bodyEnd) yield decodeEvent(kept, st, ++n);
    // A fresh buffer per chunk: callers keep events (analyze's runs keep their turns), and an
    // event's data is a view into its chunk.
    for (const chunk of restOf(t)) {
      const cur = new ByteCursor(chunk.payload, 0, chunk.end);
      while (cur.pos < cur.end && n < t.eventCount) {
        try {
          yield decodeEvent(cur, st, ++n);
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          throw changed(t, `event ${n} cannot be decoded (${e.message})`);
        }
      }
    }
  }
}

const changed = (t: TraceFile, what: string) =>
  new TraceError(`rewind: the recording ${t.path} changed while it was read: ${what}. Replay it again.`, t.path);

/**
 * The chunks of a log after those kept in memory, read again from the file one at a time
 * (and checked again: it may have changed since it was opened), each with the end of its
 * complete events. Each chunk in a buffer of its own: readers keep events, and a program at
 * replay views of the log's bytes.
 */
export function* restOf(t: TraceFile): Generator<{ payload: Uint8Array; end: number }> {
  const rest = t.stream;
  if (!rest) return;
  let fd: number;
  try {
    fd = original.fs.openSync(t.path, fsConstants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    throw new TraceError(
      `rewind: cannot read the recording ${t.path} again (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`,
      t.path,
    );
  }
  try {
    const bytes = fileBytes(fd, rest.end);
    for (const chunk of chunksOf(bytes, rest.start, t.path, rest.version, rest.seq)) {
      if (chunk.cut && rest.tailEnd === null) throw changed(t, `it ends at byte ${chunk.at}`);
      yield {
        payload: chunk.payload,
        end: chunk.cut ? Math.min(rest.tailEnd!, chunk.payload.length) : chunk.payload.length,
      };
      if (chunk.cut || chunk.end >= rest.end) return;
    }
  } finally {
    original.fs.closeSync(fd);
  }
}

interface Chunk {
  /** File offset of the chunk's header. */
  at: number;
  /** File offset just past the chunk (or what there is of it). */
  end: number;
  /** Its events (decompressed). */
  payload: Uint8Array;
  /** The file ends inside this chunk: its payload is what there is of it, unverified. */
  cut: string | null;
}

/**
 * The chunks from `p` on, each checked (length bounded before use, checksum, sequence
 * number) before it is yielded. A file that ends inside a chunk yields that chunk with `cut`
 * and stops: a process killed mid-write. Anything else wrong throws a TraceError.
 */
function* chunksOf(bytes: Bytes, p: number, path: string, version: number, firstSeq = 0): Generator<Chunk> {
  const headerBytes = CHUNK_HEADER_BYTES;
  const fail = (what: string) =>
    new TraceError(
      `rewind: the recording ${path} is corrupt: ${what}. Record the program again to get a usable recording.`,
      path,
    );
  /** The events of a stored payload: from format 3, a compressed one is decompressed. */
  const events = (stored: Uint8Array, at: number, cut: boolean): Uint8Array => {
    if (version < 3 || stored.length === 0 || stored[0] !== COMPRESSED) return stored;
    try {
      return decompressPayload(stored, cut, version);
    } catch (e) {
      throw fail(`the compressed chunk at byte ${at} is damaged: ${(e as Error).message}`);
    }
  };
  let seq = firstSeq;
  let head: Uint8Array = new Uint8Array(0);
  const checkSeq = (at: number) => {
    const n = readU32(head, 8);
    if (n === seq) return;
    throw fail(
      n < seq
        ? `the chunk at byte ${at} repeats chunk ${n} (chunk ${seq} was expected): chunks are duplicated or out of order`
        : `the chunk at byte ${at} is chunk ${n}, but chunk ${seq} was expected: chunks are missing or out of order`,
    );
  };
  while (p < bytes.size) {
    head = bytes.read(p, headerBytes);
    if (head.length < headerBytes) {
      yield {
        at: p,
        end: p + head.length,
        payload: new Uint8Array(0),
        cut: `the log is cut off inside a chunk header at byte ${p}`,
      };
      return;
    }
    const len = readU32(head, 0);
    const sum = readU32(head, 4);
    if (len === 0 || len > MAX_CHUNK_BYTES) throw fail(`the chunk at byte ${p} has an impossible length (${len})`);
    if (len > bytes.size - p - headerBytes) {
      // A process killed mid-write. Its partial chunk cannot be checksummed: its complete
      // events are used only if it is of the size the writer's chunks of many events have
      // (a larger chunk holds one event, which the cut left incomplete anyway).
      const have = bytes.size - p - headerBytes;
      checkSeq(p);
      yield {
        at: p,
        end: p + headerBytes + have,
        payload: len <= MAX_TAIL_CHUNK_BYTES ? events(bytes.read(p + headerBytes, have), p, true) : new Uint8Array(0),
        cut: `the last chunk at byte ${p} is cut off (${have} of ${len} bytes)`,
      };
      return;
    }
    const payload = bytes.read(p + headerBytes, len);
    if (payload.length < len) throw fail(`the file got shorter while it was read (at byte ${p})`);
    const sumOk = crc32(payload, crc32(head.subarray(8, 12))) === sum;
    if (!sumOk) throw fail(`the chunk at byte ${p} fails its checksum`);
    checkSeq(p);
    seq++;
    yield { at: p, end: p + headerBytes + len, payload: events(payload, p, false), cut: null };
    p += headerBytes + len;
  }
}

/**
 * Reads, checks and counts a log's events; keeps the first chunks' events up to `keepBytes`
 * and notes where to read the others again.
 */
function parseBytes(bytes: Bytes, path: string, keepBytes: number): TraceFile {
  const fail = (what: string, todo: string) => new TraceError(`rewind: the recording ${path} ${what}. ${todo}`, path);
  const rerecord = 'Record the program again to get a usable recording.';
  const size = bytes.size;
  if (size === 0) {
    if (WORKER_LOG.test(path))
      throw fail(
        'is empty (0 bytes): its worker thread was stopped before it recorded anything',
        "Its process replays without it: pass the recording directory, or its process's own log.",
      );
    throw fail('is empty (0 bytes): the recorded process ended before rewind wrote anything', rerecord);
  }
  const start = bytes.read(0, 16);
  if (start.length < MAGIC.length + 1 || !MAGIC.equals(start.subarray(0, MAGIC.length))) {
    if (MAGIC.subarray(0, Math.min(start.length, MAGIC.length)).equals(Buffer.from(start.subarray(0, MAGIC.length))))
      throw fail(`is cut short after ${describeSize(size)}, inside its header`, rerecord);
    throw fail(
      'is not a rewind recording (it does not start with the RWND signature)',
      'Pass a .rwnd file or a recording directory made by `rewind record`.',
    );
  }
  const version = start[MAGIC.length];
  if (version > FORMAT_VERSION) {
    throw fail(
      `was written by a newer rewind (trace format ${version}; this rewind reads format ${FORMAT_VERSION})`,
      'Upgrade rewind (npm install rewind-replay@latest) to replay it.',
    );
  }
  if (version < 1) throw fail(`has an invalid format version (${version})`, rerecord);
  if (version < OLDEST_FORMAT_VERSION) {
    throw fail(
      `was made by an older rewind (trace format ${version}; this rewind replays formats ${OLDEST_FORMAT_VERSION}-${FORMAT_VERSION} only, ` +
        "which record the file system at Node's native fs binding instead of the public fs functions)",
      rerecord,
    );
  }

  let header: TraceHeader;
  let preamble: Uint8Array;
  {
    const lc = new ByteCursor(start, MAGIC.length + 1);
    let len: number;
    try {
      len = lc.varint();
    } catch (e) {
      if (e instanceof DecodeError && e.truncated)
        throw fail(`is cut short after ${describeSize(size)}, inside its header`, rerecord);
      throw fail('has a corrupt header', rerecord);
    }
    if (len > MAX_HEADER_BYTES) throw fail(`has a corrupt header (its length, ${len} bytes, is impossible)`, rerecord);
    if (lc.pos + len > size) throw fail(`is cut short after ${describeSize(size)}, inside its header`, rerecord);
    preamble = Buffer.from(bytes.read(0, lc.pos + len)); // kept: a copy, never a shared read buffer
    let h: unknown;
    try {
      h = unpack(preamble.subarray(lc.pos));
    } catch {
      throw fail('has a corrupt header', rerecord);
    }
    const problem = headerProblem(h);
    if (problem !== null) throw fail(`has a corrupt header (${problem})`, rerecord);
    header = h as TraceHeader;
  }

  // Chunks: verify each; count the events; keep them while they fit.
  let keep = keepBytes > 0;
  let body = keep
    ? Buffer.allocUnsafe(Math.min(keepBytes, eventsLength(bytes, preamble.length, version)))
    : Buffer.alloc(0);
  let truncated: string | null = null;
  const st = new DecodeState(header);
  let count = 0;
  let goodEnd = preamble.length;
  const scratch = {} as TraceEvent;
  let bodyLength = 0;
  let bodyEnd = 0;
  let stream: RestOfLog | undefined;
  let seq = 0;
  const callApis = new Set<number>();
  let lastCall = -1;
  for (const chunk of chunksOf(bytes, preamble.length, path, version)) {
    if (chunk.cut) truncated = chunk.cut;
    const cur = new ByteCursor(chunk.payload);
    const b = cur.b;
    const last = cur.end;
    // p: the end of the events checked so far (of the complete ones, in a cut-off chunk).
    let p = 0;
    while (p < last) {
      const varints = VARINTS_ONLY[b[p]];
      if (varints !== 0) {
        const next = skipVarints(b, p, last, varints);
        if (next >= 0) {
          p = next;
          count++;
          continue;
        }
      }
      cur.pos = p;
      try {
        decodeEvent(cur, st, count + 1, scratch, false);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        if (chunk.cut && e.truncated) break; // the cut-off tail of a killed process
        throw fail(`is corrupt: event ${count + 1} cannot be decoded (${e.message})`, rerecord);
      }
      p = cur.pos;
      count++;
      if (scratch.tag === Tag.Call && scratch.api !== lastCall) callApis.add((lastCall = scratch.api!));
    }
    const end = p;
    if (keep && bodyLength + chunk.payload.length > keepBytes) {
      keep = false;
      stream = { start: chunk.at, seq, end: 0, version, tailEnd: null };
    }
    if (keep) {
      if (bodyLength + chunk.payload.length > body.length) {
        // The file grew since it was measured: room for the rest, as it comes.
        const more = Buffer.allocUnsafe(
          Math.min(keepBytes, Math.max(body.length * 2, bodyLength + chunk.payload.length)),
        );
        body.copy(more, 0, 0, bodyLength);
        body = more;
      }
      body.set(chunk.payload, bodyLength);
      bodyEnd = bodyLength + end;
      bodyLength += chunk.payload.length;
    } else {
      stream ??= { start: chunk.at, seq, end: 0, version, tailEnd: null };
      if (chunk.cut) stream.tailEnd = end;
    }
    goodEnd = chunk.end;
    seq++;
  }
  if (stream) stream.end = goodEnd;
  const file: TraceFile = {
    path,
    header,
    preamble,
    body: body.subarray(0, bodyLength),
    bodyEnd,
    eventCount: count,
    truncated,
    size,
    callApis,
  };
  if (stream) file.stream = stream;
  return file;
}

/**
 * How many bytes of events the chunks from `p` on hold (decompressed), from their headers and
 * the size field of compressed ones: the size of the buffer to keep them in. Stops at the
 * first chunk that is not whole or not sane (the checked pass then says what is wrong).
 */
function eventsLength(bytes: Bytes, p: number, version: number): number {
  let total = 0;
  while (p + CHUNK_HEADER_BYTES <= bytes.size) {
    const len = readU32(bytes.read(p, 4), 0);
    if (len === 0 || len > MAX_CHUNK_BYTES) break;
    const have = Math.min(len, bytes.size - p - CHUNK_HEADER_BYTES);
    let n = have;
    if (version >= 3 && have > 0) {
      const start = bytes.read(p + CHUNK_HEADER_BYTES, Math.min(have, 9));
      if (start[0] === COMPRESSED) {
        try {
          // At most deflate's expansion (about 1032:1; brotli's can be more, and the buffer then
          // grows as the chunks come): a damaged size field costs no memory.
          n = Math.min(new ByteCursor(start, 1).varint(), have * 1032 + 64);
        } catch {
          n = have;
        }
      }
    }
    total += n;
    if (total > MAX_CHUNK_BYTES) return MAX_CHUNK_BYTES; // beyond 1 GiB, grown as the events come
    p += CHUNK_HEADER_BYTES + len;
  }
  return total;
}

function readU32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}
