// TraceReader: opens a log, checks it, and decodes its events.
// Every problem with the file becomes a TraceError whose message tells the user what is
// wrong and what to do; nothing in here may throw anything else on bad bytes.
import { crc32 } from 'node:zlib';
import { original } from '../session/originals.js';
import { ByteCursor, DecodeError, unpack, unzigzag } from './codec.js';
import {
  CHUNK_HEADER_BYTES,
  FORMAT_VERSION,
  MAGIC,
  MAX_CHUNK_BYTES,
  TAGS,
  Tag,
  type CallRecord,
  type EndInfo,
  type EventKind,
  type FailureInfo,
  type TraceHeader,
} from './format.js';

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
  constructor(readonly header: TraceHeader) {
    this.lastWall = header.startWall;
  }
}

/** Decodes the event at the cursor. Throws DecodeError on malformed or cut-off bytes. */
export function decodeEvent(c: ByteCursor, st: DecodeState, n: number, into?: TraceEvent): TraceEvent {
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
      ev.payload = c.msgpack();
      break;
    case Tag.Call: {
      ev.api = c.varint();
      const status = c.u8();
      if (status > 2) throw new DecodeError('malformed call record', start, false);
      const args = c.msgpack();
      ev.call = status === 0 ? { args, status } : { args, status: status as 1 | 2, value: c.msgpack() };
      break;
    }
    case Tag.StreamRead: {
      ev.op = c.varint();
      st.lastTurnUs += c.varint();
      st.timeUs = Math.max(st.timeUs, st.lastTurnUs);
      ev.timeUs = st.timeUs;
      const n = unzigzag(c.varint());
      ev.status = n;
      ev.data = n > 0 ? c.bytes(n) : undefined;
      break;
    }
    case Tag.StreamWrite: {
      ev.op = c.varint();
      ev.length = c.varint();
      const b = c.bytes(4);
      ev.crc = (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
      ev.status = unzigzag(c.varint());
      ev.async = c.u8() === 1;
      break;
    }
    case Tag.Timeout:
    case Tag.Interval:
    case Tag.Immediate:
    case Tag.Callback:
      ev.op = c.varint();
      st.lastTurnUs += c.varint();
      st.timeUs = Math.max(st.timeUs, st.lastTurnUs);
      ev.timeUs = st.timeUs;
      if (tag === Tag.Callback) {
        ev.api = c.varint();
        ev.payload = c.msgpack();
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
      if (!ev.failure || typeof ev.failure !== 'object') throw new DecodeError('malformed failure record', start, false);
      break;
    case Tag.End:
      ev.end = c.msgpack() as EndInfo;
      if (!ev.end || typeof ev.end !== 'object') throw new DecodeError('malformed end record', start, false);
      break;
  }
  return ev;
}

export interface TraceFile {
  path: string;
  header: TraceHeader;
  /** All chunk payloads, concatenated: the event stream. */
  body: Uint8Array;
  /** Offset in body just past the last complete event. */
  bodyEnd: number;
  /** Number of complete events. */
  eventCount: number;
  /** Set when the log stops short: the process was killed or the file was cut. */
  truncated: string | null;
  size: number;
}

const describeSize = (n: number) => `${n} byte${n === 1 ? '' : 's'}`;

export class TraceReader {
  /** Reads, checks and indexes a trace file. Throws TraceError with an actionable message. */
  static open(path: string): TraceFile {
    let buf: Buffer;
    try {
      buf = original.fs.readFileSync(path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') {
        throw new TraceError(
          `rewind: there is no recording at ${path}. Check the path, or record one with \`rewind record -- node app.js\`.`,
          path,
        );
      }
      if (err.code === 'EISDIR') {
        throw new TraceError(`rewind: ${path} is a directory, not a log file. Pass the recording directory or one of its .rwnd files.`, path);
      }
      throw new TraceError(`rewind: cannot read the recording ${path} (${err.code ?? err.message}). Check its permissions.`, path);
    }
    return TraceReader.parse(buf, path);
  }

  static parse(buf: Uint8Array, path = '<buffer>'): TraceFile {
    const fail = (what: string, todo: string) => new TraceError(`rewind: the recording ${path} ${what}. ${todo}`, path);
    const rerecord = 'Record the program again to get a usable recording.';
    if (buf.length === 0) {
      throw fail('is empty (0 bytes): the recorded process ended before rewind wrote anything', rerecord);
    }
    if (buf.length < MAGIC.length + 1 || !MAGIC.equals(buf.subarray(0, MAGIC.length))) {
      if (MAGIC.subarray(0, Math.min(buf.length, MAGIC.length)).equals(Buffer.from(buf.subarray(0, MAGIC.length))))
        throw fail(`is cut short after ${describeSize(buf.length)}, inside its header`, rerecord);
      throw fail('is not a rewind recording (it does not start with the RWND signature)', 'Pass a .rwnd file or a recording directory made by `rewind record`.');
    }
    const version = buf[MAGIC.length];
    if (version > FORMAT_VERSION) {
      throw fail(
        `was written by a newer rewind (trace format ${version}; this rewind reads format ${FORMAT_VERSION})`,
        'Upgrade rewind (npm install rewind@latest) to replay it.',
      );
    }
    if (version < 1) throw fail(`has an invalid format version (${version})`, rerecord);
    if (version < FORMAT_VERSION) {
      throw fail(
        `was made by an older rewind (trace format ${version}; this rewind replays format ${FORMAT_VERSION} only, ` +
          'which records the file system at Node\'s native fs binding instead of the public fs functions)',
        rerecord,
      );
    }

    const c = new ByteCursor(buf, MAGIC.length + 1);
    let header: TraceHeader;
    try {
      const h = c.lengthPrefixed();
      header = unpack(h) as TraceHeader;
    } catch (e) {
      if (e instanceof DecodeError && e.truncated) throw fail(`is cut short after ${describeSize(buf.length)}, inside its header`, rerecord);
      throw fail('has a corrupt header', rerecord);
    }
    if (!isHeader(header)) throw fail('has a corrupt header (required fields are missing)', rerecord);

    // Chunks: verify each checksum; keep the readable prefix of a cut-off last chunk.
    const payloads: Uint8Array[] = [];
    let truncated: string | null = null;
    let p = c.pos;
    while (p < buf.length) {
      if (buf.length - p < CHUNK_HEADER_BYTES) {
        truncated = `the log is cut off inside a chunk header at byte ${p}`;
        break;
      }
      const len = readU32(buf, p);
      const sum = readU32(buf, p + 4);
      if (len === 0 || len > MAX_CHUNK_BYTES) {
        throw fail(`is corrupt: the chunk at byte ${p} has an impossible length (${len})`, rerecord);
      }
      const body = buf.subarray(p + CHUNK_HEADER_BYTES, p + CHUNK_HEADER_BYTES + len);
      if (body.length < len) {
        truncated = `the last chunk at byte ${p} is cut off (${body.length} of ${len} bytes)`;
        payloads.push(body);
        break;
      }
      if (crc32(body) !== sum) {
        throw fail(`is corrupt: the chunk at byte ${p} fails its checksum`, rerecord);
      }
      payloads.push(body);
      p += CHUNK_HEADER_BYTES + len;
    }
    const body = payloads.length === 1 ? payloads[0] : Buffer.concat(payloads);

    // Index the events: count them and find where the last complete one ends.
    const cur = new ByteCursor(body);
    const st = new DecodeState(header);
    let count = 0;
    let bodyEnd = 0;
    const scratch = {} as TraceEvent;
    while (cur.pos < body.length) {
      try {
        decodeEvent(cur, st, count + 1, scratch);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        if (truncated !== null && e.truncated) break; // the cut-off tail of a killed process
        throw fail(`is corrupt: event ${count + 1} cannot be decoded (${e.message})`, rerecord);
      }
      count++;
      bodyEnd = cur.pos;
    }
    return { path, header, body, bodyEnd, eventCount: count, truncated, size: buf.length };
  }

  /** Iterates the decoded events of a trace. */
  static *events(t: TraceFile): Generator<TraceEvent> {
    const cur = new ByteCursor(t.body, 0, t.bodyEnd);
    const st = new DecodeState(t.header);
    let n = 0;
    while (cur.pos < t.bodyEnd) yield decodeEvent(cur, st, ++n);
  }
}

function readU32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function isHeader(h: unknown): h is TraceHeader {
  if (!h || typeof h !== 'object') return false;
  const o = h as Record<string, unknown>;
  return (
    Array.isArray(o.argv) &&
    Array.isArray(o.execArgv) &&
    typeof o.cwd === 'string' &&
    typeof o.env === 'object' &&
    o.env !== null &&
    typeof o.startWall === 'number' &&
    Array.isArray(o.monoBase) &&
    Array.isArray(o.randomSeed) &&
    typeof o.entry === 'object' &&
    o.entry !== null &&
    typeof o.stdio === 'object' &&
    o.stdio !== null
  );
}
