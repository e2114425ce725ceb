// TraceWriter: appends events to an in-memory chunk and writes whole chunks with one
// synchronous write. Hot events are hand-encoded; see format.ts for the layout.
import { original, writeStderr } from '../node/originals.js';
import { pack, putVarint, zigzag } from './codec.js';
import { compressedChunk } from './compressor.js';
import { FastPacker, Packers, type ArgsPacking } from './fastpack.js';
import {
  CHUNK_HEADER_BYTES,
  FORMAT_VERSION,
  opsAsDeltas,
  MAGIC,
  Tag,
  WRITE_DIGEST_HEAD,
  WRITE_VERBATIM_MAX,
  type CallRecord,
  type EndInfo,
  type FailureInfo,
  type TraceHeader,
} from './format.js';
import { crc32 } from '../node/bindings.js';

/** Bytes of events a chunk holds before the writer flushes it. */
export const CHUNK_BYTES = 64 * 1024;
// Room for any fixed-size event, so hot paths check capacity once.
const SLACK = 64;
/** Calls of each hot method that warmUp makes. */
const WARM_UP_CALLS = 16;

/**
 * A shared tail (a worker thread's log, see sources/workers.ts): Int32 slots, then the chunk
 * being filled, in a SharedArrayBuffer the parent thread holds too. A worker stopped by
 * worker.terminate() or by its process ending runs no more JS, so the parent writes what
 * the tail holds, and an end record, into the worker's log.
 */
export const Tail = {
  /** Slot: the state below. */
  STATE: 0,
  /**
   * Slot: the end of the last whole event in the chunk buffer; with ENDED set once the worker
   * wrote its own end record (then in the chunk, or on disk): published in the same store, so
   * the parent never reads an end record there without knowing it is one.
   */
  POS: 1,
  /** Slot: the log's length on disk, up to its last whole chunk. */
  FILE: 2,
  /** Slot: the sequence number of the chunk being filled. */
  SEQ: 3,
  /** The worker writes; FLUSHING while it writes a chunk to disk. */
  OPEN: 0,
  FLUSHING: 1,
  /** The parent took the tail over: the worker writes no more. */
  TAKEN: 2,
  /** The worker ended its log itself. */
  CLOSED: 3,
  /** In POS: the worker's end record is written (the parent adds none of its own). */
  ENDED: 1 << 30,
  /** Bytes before the chunk buffer. */
  HEADER: 16,
  BYTES: 16 + CHUNK_BYTES + SLACK,
} as const;

/** TraceWriter's public methods. */
type WriterMethod = {
  [K in keyof TraceWriter]: TraceWriter[K] extends (...args: never[]) => unknown ? K : never;
}[keyof TraceWriter];

/**
 * Whether each public method appends one whole event: a worker's shared tail (share) and
 * the after-end "each event to disk at once" mode (flushEach) wrap those that do. Every
 * public method is named here, so a new one does not compile until someone says which it
 * is (an event method once left off a hand-kept list was lost after the end record).
 */
const APPENDS_EVENT: Record<WriterMethod, boolean> = {
  wall: true,
  mono: true,
  turn: true,
  callback: true,
  streamRead: true,
  streamWrite: true,
  call: true,
  returned: true,
  signal: true,
  bytes: true,
  fixed: true,
  int: true,
  value: true,
  output: true,
  failure: true,
  end: true,
  flush: false,
  share: false,
  flushEach: false,
  close: false,
};
const EVENT_METHODS = (Object.keys(APPENDS_EVENT) as WriterMethod[]).filter((m) => APPENDS_EVENT[m]);

/**
 * msgpack of a record's payload: the fast packer's where it can, else msgpackr's. msgpackr's
 * first pack in a process costs ~0.5 ms (a start's header) to ~0.7 ms (a short program's end
 * record). Either is msgpack of the same value (msgpackr sizes a map of a few keys as map16
 * where the fast packer uses a fixmap), read back the same. Valid until `f`'s next use.
 */
function msgpackOf(payload: unknown, f: FastPacker = new FastPacker()): Uint8Array {
  return f.raw(payload) ? f.bytes(0, f.pos) : pack(payload);
}

export function encodePreamble(header: TraceHeader): Buffer {
  const h = msgpackOf(header);
  const lenBytes = Buffer.alloc(10);
  const n = putVarint(lenBytes, 0, h.length);
  return Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION]), lenBytes.subarray(0, n), h]);
}

/**
 * Creates the log `file` holding `preamble`, and returns it open for appending. The file is
 * never seen without its preamble: it is written under a name of its own in the same
 * directory, then linked into place. A log created empty, then written, stayed 0 bytes when
 * its thread was stopped in between (a worker's terminate(), its process ending), and every
 * reader of the recording refused it as corrupt. The link fails with EEXIST as an exclusive
 * open would: another process's log is never overwritten (callers pick another name). Costs a
 * link and an unlink more than an open (~20 µs on ext4). 0600: logs hold env and inputs.
 */
export function createLog(file: string, preamble: Uint8Array): number {
  const fs = original.fs;
  // Unique per creator: two creators never share one, and none is ever removed but by its own.
  const temp = `${file}.${((original.mathRandom() * 0x100000000) >>> 0).toString(36)}${LOG_TEMP_EXT}`;
  const fd = fs.openSync(temp, 'wx', 0o600);
  let linked = false;
  try {
    let off = 0;
    while (off < preamble.length) off += fs.writeSync(fd, preamble, off, preamble.length - off);
    try {
      fs.linkSync(temp, file);
      linked = true;
    } catch (e) {
      if (!NO_HARD_LINKS.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  } finally {
    try {
      fs.unlinkSync(temp);
    } catch {
      // stays as a stray name no reader looks at
    }
  }
  if (linked) return fd;
  // A file system without hard links (FAT, some network mounts): created in place, its
  // preamble in the one write right after.
  fs.closeSync(fd);
  const own = fs.openSync(file, 'wx', 0o600);
  try {
    let off = 0;
    while (off < preamble.length) off += fs.writeSync(own, preamble, off, preamble.length - off);
  } catch (e) {
    fs.closeSync(own);
    throw e;
  }
  return own;
}

/** The end of the names of logs being created (createLog): no log's, so no reader of a recording lists them. */
export const LOG_TEMP_EXT = '.tmp';

/** linkSync's errors that say the file system has no hard links (not that the log exists). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

export class TraceWriter {
  private buf: Buffer = Buffer.allocUnsafe(CHUNK_BYTES + SLACK);
  private pos = CHUNK_HEADER_BYTES;
  /** Past this, the next event flushes the chunk first (lowered only by warmUp). */
  private limit: number = CHUNK_BYTES;
  private fd: number | null;
  /** Number of events appended so far; event N is the N-th appended. */
  events = 0;
  /** Number of turns (callbacks entered from the event loop) among them. */
  turns = 0;
  bytesWritten = 0;
  /** Sequence number of the next chunk. */
  private seq = 0;
  private lastWall: number;
  private lastMono = 0;
  /** The operation of the last turn or stream write logged: the next one's is logged as the difference. */
  private lastOp = 0;
  /** Format 4 on (format.ts); older formats only for tests of the reader. */
  private readonly opDeltas: boolean;
  /** µs since the session's start of the last turn logged: the virtual time now. */
  lastTurnUs = 0;

  constructor(
    readonly path: string,
    header: TraceHeader,
    /** Compress chunks (compress.ts); off only to look at the events' layout in tests. */
    private readonly compress = true,
  ) {
    this.lastWall = header.startWall;
    this.opDeltas = opsAsDeltas(header);
    this.preamble = encodePreamble(header);
    this.fd = createLog(path, this.preamble);
    this.bytesWritten = this.preamble.length;
    this.warmUp();
  }

  /**
   * Runs each hot method's "chunk full" branch once, on an empty chunk (where flush does
   * nothing), and takes back what they appended. Without it V8 optimizes those methods (and
   * the program's loop they are inlined into) with no feedback for that branch, then throws
   * the code away at the first real flush and compiles it all again (bench 1: two compiles of
   * the program's loop, ~8 ms each on the compiler thread).
   */
  private warmUp(): void {
    const { lastWall, lastMono, lastTurnUs, lastOp } = this;
    this.limit = -1;
    // V8 keeps feedback only from a function's ninth call or so (lazy feedback allocation).
    // Each on an empty chunk: flush() then has nothing to write.
    const empty = () => (this.pos = CHUNK_HEADER_BYTES);
    for (let i = 0; i < WARM_UP_CALLS; i++) {
      this.wall(Tag.DateNow, lastWall);
      empty();
      this.mono(Tag.PerfNow, lastMono);
      empty();
      this.turn(Tag.Immediate, 1, lastTurnUs);
      empty();
      this.streamWrite(1, 0, 0, 0, false);
      empty();
      this.reserve(SLACK);
    }
    this.limit = CHUNK_BYTES;
    this.events = 0;
    this.turns = 0;
    this.lastWall = lastWall;
    this.lastMono = lastMono;
    this.lastTurnUs = lastTurnUs;
    this.lastOp = lastOp;
  }

  /** The log's magic and header, as written: what its signature covers (session/trust.ts). */
  readonly preamble: Buffer;

  get active(): boolean {
    return this.fd !== null;
  }

  get pending(): boolean {
    return this.pos > CHUNK_HEADER_BYTES;
  }

  /** A wall-clock reading in epoch ms. */
  wall(tag: number, v: number): void {
    if (this.pos > this.limit) this.flush();
    const b = this.buf;
    let p = this.pos;
    b[p++] = tag;
    const z = zigzag(v - this.lastWall);
    this.lastWall = v;
    if (z < 0x80) b[p++] = z;
    else p = putVarint(b, p, z);
    this.pos = p;
    this.events++;
  }

  /** A monotonic reading in ns since the session's base. */
  mono(tag: number, ns: number): void {
    if (this.pos > this.limit) this.flush();
    const b = this.buf;
    let p = this.pos;
    b[p++] = tag;
    const z = zigzag(ns - this.lastMono);
    this.lastMono = ns;
    if (z < 0x80) b[p++] = z;
    else p = putVarint(b, p, z);
    this.pos = p;
    this.events++;
  }

  /** What a turn or stream write logs for operation `op` (format.ts), the next one's base. */
  private opVarint(op: number): number {
    const v = this.opDeltas ? zigzag(op - this.lastOp) : op;
    this.lastOp = op;
    return v;
  }

  /** A turn: the callback of operation `op` was entered `us` µs after the session started. */
  turn(tag: number, op: number, us: number): void {
    if (this.pos > this.limit) this.flush();
    const b = this.buf;
    let p = this.pos;
    b[p++] = tag;
    const z = this.opVarint(op);
    if (z < 0x80) b[p++] = z;
    else p = putVarint(b, p, z);
    const dt = us > this.lastTurnUs ? us - this.lastTurnUs : 0;
    this.lastTurnUs += dt;
    if (dt < 0x80) b[p++] = dt;
    else p = putVarint(b, p, dt);
    this.pos = p;
    this.events++;
    this.turns++;
  }

  /**
   * A turn that delivers a payload (async callback results). `payload` is packed as it is
   * (`encoded`), or as encodeValue(payload) would be; the fast packer is tried first.
   */
  callback(op: number, us: number, api: number, payload: unknown, encoded = true): void {
    const f = this.packers.take();
    try {
      f.put(payload, encoded);
    } finally {
      this.packers.done();
    }
    this.reserve(f.pos + 40);
    this.turn(Tag.Callback, op, us);
    this.pos = putVarint(this.buf, this.pos, api);
    this.putPart(f, 0, f.pos);
  }

  private readonly packers = new Packers();

  /** Copies bytes [from, to) of `f` into the chunk, length-prefixed. */
  private putPart(f: FastPacker, from: number, to: number): void {
    const b = this.buf;
    let p = putVarint(b, this.pos, to - from);
    // Not Buffer#copy: its checks and view cost ~200 ns a call (a third of recording a small fs call).
    if (to - from <= 16) {
      const src = f.buf;
      for (let i = from; i < to; i++) b[p++] = src[i];
    } else {
      b.set(f.bytes(from, to), p);
      p += to - from;
    }
    this.pos = p;
  }

  /** Bytes (n > 0) or a libuv status (n <= 0, UV_EOF at the end) arrived on stream handle `op`. */
  streamRead(op: number, us: number, n: number, data: Uint8Array | null): void {
    const len = n > 0 && data ? data.length : 0;
    this.reserve(len + 40);
    this.turn(Tag.StreamRead, op, us);
    let p = putVarint(this.buf, this.pos, zigzag(n > 0 ? len : n));
    if (len > 0) {
      this.buf.set(data!, p);
      p += len;
    }
    this.pos = p;
  }

  /** A write of `length` bytes (crc32 `crc`) to stream handle `op`, with its status. */
  streamWrite(op: number, length: number, crc: number, status: number, async: boolean): void {
    if (this.pos > this.limit) this.flush();
    const b = this.buf;
    b[this.pos++] = Tag.StreamWrite;
    let p = putVarint(b, this.pos, this.opVarint(op));
    p = putVarint(b, p, length);
    b[p++] = crc & 0xff;
    b[p++] = (crc >>> 8) & 0xff;
    b[p++] = (crc >>> 16) & 0xff;
    b[p++] = (crc >>> 24) & 0xff;
    p = putVarint(b, p, zigzag(status));
    b[p++] = async ? 1 : 0;
    this.pos = p;
    this.events++;
  }

  /** A call to the outside world, with its result when it was synchronous. */
  call(api: number, record: CallRecord, argsEncoded = true, valueEncoded = true): void {
    // Both parts are packed before the event is reserved, whole: an event never spans two chunks.
    const f = this.packers.take();
    let argsEnd: number;
    try {
      f.put(record.args, argsEncoded);
      argsEnd = f.pos;
      if (record.status !== 0) f.put(record.value, valueEncoded);
    } finally {
      this.packers.done();
    }
    this.putCall(api, record.status, f, argsEnd);
  }

  /**
   * What call() writes for a synchronous call that returned `value`, its arguments' summary
   * written straight into the packer (FastPacker.putWith): no summary is made per call (the
   * fs source's synchronous calls).
   */
  returned<S>(api: number, args: ArgsPacking<S>, subject: S, value: unknown, valueEncoded: boolean): void {
    const f = this.packers.take();
    let argsEnd: number;
    try {
      f.putWith(args, subject);
      argsEnd = f.pos;
      f.put(value, valueEncoded);
    } finally {
      this.packers.done();
    }
    this.putCall(api, 1, f, argsEnd);
  }

  /** A Call event: its arguments are the bytes [0, argsEnd) of `f`, its value (status 1 or 2) the rest. */
  private putCall(api: number, status: number, f: FastPacker, argsEnd: number): void {
    this.reserve(f.pos + 32);
    this.buf[this.pos++] = Tag.Call;
    this.pos = putVarint(this.buf, this.pos, api);
    this.buf[this.pos++] = status;
    this.putPart(f, 0, argsEnd);
    if (status !== 0) this.putPart(f, argsEnd, f.pos);
    this.events++;
  }

  signal(us: number, name: string): void {
    this.reserve(64);
    const b = this.buf;
    b[this.pos++] = Tag.Signal;
    const dt = us > this.lastTurnUs ? us - this.lastTurnUs : 0;
    this.lastTurnUs += dt;
    this.pos = putVarint(b, this.pos, dt);
    this.lengthPrefixed(Buffer.from(name, 'latin1'));
    this.events++;
    this.turns++;
  }

  /** A value event of raw bytes, length-prefixed. */
  bytes(tag: number, data: Uint8Array): void {
    this.reserve(data.length + 16);
    this.buf[this.pos++] = tag;
    this.lengthPrefixed(data);
    this.events++;
  }

  /** A value event of fixed-size raw bytes (the length is implied by the tag). */
  fixed(tag: number, data: Uint8Array): void {
    this.reserve(data.length + 1);
    this.buf[this.pos++] = tag;
    this.buf.set(data, this.pos);
    this.pos += data.length;
    this.events++;
  }

  /** A value event holding one signed integer. */
  int(tag: number, v: number): void {
    this.reserve(16);
    this.buf[this.pos++] = tag;
    this.pos = putVarint(this.buf, this.pos, zigzag(v));
    this.events++;
  }

  /** A generic value event: api id and a msgpack payload. */
  value(api: number, payload: unknown): void {
    const body = this.body(payload);
    this.reserve(body.length + 24);
    this.buf[this.pos++] = Tag.Value;
    this.pos = putVarint(this.buf, this.pos, api);
    this.lengthPrefixed(body);
    this.events++;
  }

  /** Output the program wrote to fd 1 or 2: verbatim when small, else a digest. */
  output(fd: number, data: Uint8Array): void {
    if (data.length <= WRITE_VERBATIM_MAX) {
      this.reserve(data.length + 16);
      this.buf[this.pos++] = Tag.Write;
      this.buf[this.pos++] = fd;
      this.lengthPrefixed(data);
    } else {
      this.reserve(WRITE_DIGEST_HEAD + 40);
      const b = this.buf;
      b[this.pos++] = Tag.WriteDigest;
      b[this.pos++] = fd;
      this.pos = putVarint(b, this.pos, data.length);
      b.set(digest(data), this.pos);
      this.pos += 8;
      this.lengthPrefixed(data.subarray(0, WRITE_DIGEST_HEAD));
    }
    this.events++;
  }

  failure(info: FailureInfo): void {
    this.packed(Tag.Failure, info);
  }

  end(info: EndInfo): void {
    this.packed(Tag.End, info);
    this.ended = true;
  }

  /** This log's end record is written (a worker's: said in its tail, see Tail.ENDED). */
  private ended = false;

  private tailPos(): number {
    return this.ended ? this.pos | Tail.ENDED : this.pos;
  }

  private packed(tag: number, payload: unknown): void {
    const body = this.body(payload);
    this.reserve(body.length + 16);
    this.buf[this.pos++] = tag;
    this.lengthPrefixed(body);
    this.events++;
  }

  /** msgpack of a payload (msgpackOf), valid until the next event. */
  private body(payload: unknown): Uint8Array {
    const f = this.packers.take();
    try {
      return msgpackOf(payload, f);
    } finally {
      this.packers.done();
    }
  }

  private lengthPrefixed(data: Uint8Array): void {
    this.pos = putVarint(this.buf, this.pos, data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /** Makes room for n more bytes, flushing or growing the chunk buffer. */
  private reserve(n: number): void {
    if (this.pos + n <= this.limit + SLACK) return;
    this.flush();
    if (CHUNK_HEADER_BYTES + n > this.buf.length) {
      this.buf = Buffer.allocUnsafe(CHUNK_HEADER_BYTES + n + SLACK);
    }
  }

  /** Writes the current chunk to disk, synchronously. */
  flush(): void {
    const len = this.pos - CHUNK_HEADER_BYTES;
    if (len === 0) return;
    const tail = this.tail;
    if (tail !== null && original.Atomics.compareExchange(tail, Tail.STATE, Tail.OPEN, Tail.FLUSHING) !== Tail.OPEN)
      return this.unshare();
    const raw = this.buf.subarray(0, this.pos);
    const b = (this.compress && compressedChunk(raw.subarray(CHUNK_HEADER_BYTES), CHUNK_HEADER_BYTES)) || raw;
    b.writeUInt32LE(b.length - CHUNK_HEADER_BYTES, 0);
    b.writeUInt32LE(this.seq++, 8);
    b.writeUInt32LE(crc32(b.subarray(8)), 4);
    this.writeOut(b);
    this.pos = CHUNK_HEADER_BYTES;
    if (this.buf.length > CHUNK_BYTES + SLACK) this.buf = this.tailBuf ?? Buffer.allocUnsafe(CHUNK_BYTES + SLACK);
    if (tail !== null) {
      tail[Tail.FILE] = this.bytesWritten;
      tail[Tail.SEQ] = this.seq;
      tail[Tail.POS] = this.tailPos();
      original.Atomics.store(tail, Tail.STATE, Tail.OPEN);
    }
  }

  private tail: Int32Array | null = null;
  private tailBuf: Buffer | null = null;

  /**
   * Fills chunks in `sab` (see Tail) from now on, publishing the end of each whole event
   * there, so that the parent thread can finish this log if the thread is stopped.
   */
  share(sab: SharedArrayBuffer): void {
    const tail = new Int32Array(sab, 0, 4);
    const buf = Buffer.from(sab, Tail.HEADER, CHUNK_BYTES + SLACK);
    if (this.pos > buf.length) this.flush();
    this.buf.copy(buf, 0, 0, this.pos);
    this.buf = buf;
    this.tailBuf = buf;
    this.tail = tail;
    tail[Tail.FILE] = this.bytesWritten;
    tail[Tail.SEQ] = this.seq;
    tail[Tail.POS] = this.pos;
    let depth = 0;
    const self = this as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of EVENT_METHODS) {
      const method = self[name];
      self[name] = function (this: TraceWriter, ...args: unknown[]) {
        depth++;
        let r: unknown;
        try {
          r = method.apply(this, args);
        } catch (e) {
          depth--;
          throw e;
        }
        if (--depth === 0 && this.tail !== null) {
          // A large event went to a buffer of its own: to disk now, so the tail is whole again.
          if (this.buf !== this.tailBuf) this.flush();
          // A plain store (every event of a worker's log passes here): an aligned Int32 is never torn.
          if (this.tail !== null) this.tail[Tail.POS] = this.tailPos();
        }
        return r;
      };
    }
  }

  /**
   * The end record is written, but the program may still run code before its process ends
   * (an 'exit' wrapper of its own around rewind's, as signal-exit's under nyc): that code
   * records on, each event to disk at once, since no later flush comes.
   */
  flushEach(): void {
    const self = this as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const name of EVENT_METHODS) {
      const method = self[name];
      self[name] = function (this: TraceWriter, ...args: unknown[]) {
        const r = method.apply(this, args);
        this.flush();
        return r;
      };
    }
  }

  /** The parent took this log over (its process is ending): this thread records no more. */
  private unshare(): void {
    this.tail = null;
    this.tailBuf = null;
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES + SLACK);
    this.pos = CHUNK_HEADER_BYTES;
    this.fd = null;
  }

  close(): void {
    this.flush();
    if (this.tail !== null) original.Atomics.compareExchange(this.tail, Tail.STATE, Tail.OPEN, Tail.CLOSED);
    if (this.fd !== null) {
      try {
        original.fs.closeSync(this.fd);
      } catch {
        // already gone
      }
      this.fd = null;
    }
  }

  private writeOut(data: Uint8Array): void {
    if (this.fd === null) return;
    try {
      let off = 0;
      while (off < data.length) off += original.fs.writeSync(this.fd, data, off, data.length - off);
      this.bytesWritten += data.length;
    } catch (e) {
      // Disk full or log unwritable: stop recording, keep what is on disk, let the program go on.
      const err = e as NodeJS.ErrnoException;
      writeStderr(
        `rewind: cannot write the recording ${this.path} (${err.code ?? err.message}); ` +
          `recording stopped here, the program continues unrecorded. The log on disk is complete up to its last whole event.\n`,
      );
      try {
        original.fs.closeSync(this.fd);
      } catch {
        // ignore
      }
      this.fd = null;
    }
  }
}

/**
 * One End event as TraceWriter.end writes it, for a log whose own writer did not end it (a
 * stopped worker thread's, which its parent finishes: sources/workers.ts).
 */
export function encodeEnd(info: EndInfo): Buffer {
  const body = msgpackOf(info);
  const head = Buffer.alloc(11);
  head[0] = Tag.End;
  const n = putVarint(head, 1, body.length);
  return Buffer.concat([head.subarray(0, n), body]);
}

/** One chunk as the writer frames it: length, crc32 of (sequence number, payload), sequence number, payload. */
export function encodeChunk(seq: number, payload: Uint8Array): Buffer {
  const b = Buffer.alloc(CHUNK_HEADER_BYTES + payload.length);
  b.writeUInt32LE(payload.length, 0);
  b.writeUInt32LE(seq >>> 0, 8);
  b.set(payload, CHUNK_HEADER_BYTES);
  b.writeUInt32LE(crc32(b.subarray(8)), 4);
  return b;
}

/** 8-byte digest of a large write (sha1 prefix: native, fast, collisions irrelevant here). */
export function digest(data: Uint8Array): Uint8Array {
  return original.crypto().createHash('sha1').update(data).digest().subarray(0, 8);
}
