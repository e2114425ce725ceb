// Property-based tests for the trace log codec (src/trace/{format,codec,writer,reader}.ts).
//
// The writer is driven through its public methods from a generated list of operations; a
// small model of the reader's decoding rules (delta bases, the clamped turn clock, the
// digest of large writes) says which events must come back. The reader is then attacked
// with every kind of truncation and with garbage.
import { createHash, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteCursor, DecodeError, pack, putVarint, unpack, unzigzag, zigzag } from '../src/trace/codec.js';
import { FastPacker } from '../src/trace/fastpack.js';
import { COMPRESSED, MIN_BYTES, decompressPayload } from '../src/trace/compress.js';
import { compressedChunk, compressionPath, slowCompressedChunk } from '../src/trace/compressor.js';
import { decodeValue, encodeValue } from '../src/trace/values.js';
import { registerFsValueClasses } from '../src/sources/fs/values.js';
import { packSummary, summarize } from '../src/sources/fs/calls.js';
import type { Kind } from '../src/sources/fs/binding.js';
import {
  CHUNK_HEADER_BYTES,
  FORMAT_VERSION,
  MAGIC,
  TAGS,
  Tag,
  WRITE_DIGEST_HEAD,
  WRITE_VERBATIM_MAX,
  type EndInfo,
  type FailureInfo,
  type TraceHeader,
} from '../src/trace/format.js';
import {
  DecodeState,
  TraceError,
  TraceReader,
  decodeEvent,
  type TraceEvent,
  type TraceFile,
  VARINTS_ONLY,
} from '../src/trace/reader.js';
import { CHUNK_BYTES, Tail, TraceWriter, encodeChunk, encodeEnd, encodePreamble } from '../src/trace/writer.js';
import { finishWorkerLog } from '../src/sources/workers.js';
import { Secrets, parseRules, redactLog } from '../src/session/redact.js';

// fs's Stats and Dirents, stored as the sessions store them.
registerFsValueClasses();

// ---------------------------------------------------------------------------------------
// Temp files

let dir: string;
let fileNo = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-codec-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
const freshPath = () => path.join(dir, `t${++fileNo}.rwnd`);

// ---------------------------------------------------------------------------------------
// Generators

/** Integers beyond fc.integer's 32-bit range. */
const safeInt = (min: number, max: number) => fc.bigInt({ min: BigInt(min), max: BigInt(max) }).map(Number);

/** Deterministic pseudo-random bytes: cheap to generate in bulk, unlike fc.uint8Array. */
function fillBytes(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
const bulkBytes = (min: number, max: number) =>
  fc.record({ len: fc.integer({ min, max }), seed: fc.integer() }).map(({ len, seed }) => fillBytes(len, seed));

const smallBytes = fc.uint8Array({ maxLength: 48 });
const someBytes = fc.oneof({ weight: 6, arbitrary: smallBytes }, { weight: 1, arbitrary: bulkBytes(49, 6000) });

/** msgpack payloads that round-trip to deep-equal values (no -0, no NaN, no undefined). */
const payloadArb: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    safeInt(-(2 ** 53 - 1), 2 ** 53 - 1),
    fc.double({ noNaN: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
      tie('v'),
      { maxKeys: 5, noNullPrototype: true },
    ),
  ),
})).v;

const signalArb = fc.oneof(
  fc.constantFrom('SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGBREAK', 'SIGWINCH'),
  // arbitrary latin1 names, short (signal names are short; see the report on long ones)
  fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 24 }),
);

const failureArb: fc.Arbitrary<FailureInfo> = fc.record(
  {
    origin: fc.constantFrom('uncaughtException' as const, 'unhandledRejection' as const),
    name: fc.string({ maxLength: 20 }),
    message: fc.string({ maxLength: 80 }),
    stack: fc.string({ maxLength: 200 }),
  },
  { noNullPrototype: true },
);

const endArb: fc.Arbitrary<EndInfo> = fc.record(
  {
    code: fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: null }),
    signal: fc.option(fc.constantFrom('SIGINT', 'SIGTERM', 'SIGKILL'), { nil: null }),
    via: fc.constantFrom('exit' as const, 'natural' as const, 'signal' as const, 'uncaught' as const),
  },
  { noNullPrototype: true },
);

type Op =
  | { k: 'wall'; tag: number; v: number }
  | { k: 'mono'; tag: number; ns: number }
  | { k: 'turn'; tag: number; op: number; us: number }
  | { k: 'callback'; op: number; us: number; api: number; payload: unknown }
  | { k: 'signal'; us: number; name: string }
  | { k: 'bytes'; tag: number; data: Uint8Array }
  | { k: 'fixed'; data: Uint8Array }
  | { k: 'int'; v: number }
  | { k: 'value'; api: number; payload: unknown }
  | { k: 'output'; fd: number; data: Uint8Array }
  | { k: 'failure'; info: FailureInfo }
  | { k: 'end'; info: EndInfo }
  | { k: 'call'; api: number; status: 0 | 1 | 2; args: unknown; value: unknown }
  | { k: 'streamRead'; op: number; us: number; n: number; data: Uint8Array }
  | { k: 'streamWrite'; op: number; length: number; crc: number; status: number; async: boolean }
  | { k: 'flush' };

const START_WALL = 1_700_000_000_000;

const opArb = (opts: { big: boolean }): fc.Arbitrary<Op> => {
  const usArb = fc.oneof(fc.integer({ min: 0, max: 5_000 }), safeInt(0, 2 ** 44));
  const opIdArb = fc.oneof(fc.integer({ min: 1, max: 300 }), safeInt(1, 2 ** 52 - 1));
  const arbs: fc.WeightedArbitrary<Op>[] = [
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant('wall' as const),
        tag: fc.constantFrom(Tag.DateNow, Tag.DateNew, Tag.DateString),
        v: fc.oneof(
          fc.integer({ min: -100_000, max: 100_000 }).map((d) => START_WALL + d),
          safeInt(0, 2 ** 47),
        ),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant('mono' as const),
        tag: fc.constantFrom(Tag.PerfNow, Tag.Hrtime, Tag.HrtimeBigint, Tag.Uptime),
        ns: fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), safeInt(0, 2 ** 52)),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant('turn' as const),
        tag: fc.constantFrom(Tag.Timeout, Tag.Interval, Tag.Immediate),
        op: opIdArb,
        us: usArb,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('callback' as const),
        op: opIdArb,
        us: usArb,
        api: fc.oneof(fc.constantFrom(1, 2, 3), safeInt(0, 2 ** 40)),
        payload: payloadArb,
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('signal' as const), us: usArb, name: signalArb }) },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant('bytes' as const),
        tag: fc.constantFrom(Tag.RandomBytes, Tag.RandomFill, Tag.GetRandomValues),
        data: someBytes,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ k: fc.constant('fixed' as const), data: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ k: fc.constant('int' as const), v: fc.oneof(fc.integer(), safeInt(-(2 ** 48), 2 ** 48)) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('value' as const),
        api: fc.oneof(fc.constantFrom(1, 2, 3), safeInt(0, 2 ** 40)),
        payload: payloadArb,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant('output' as const),
        fd: fc.oneof(fc.constantFrom(1, 2), fc.integer({ min: 0, max: 255 })),
        data: fc.oneof(
          { weight: 4, arbitrary: smallBytes },
          // both sides of the verbatim/digest threshold
          { weight: 2, arbitrary: bulkBytes(WRITE_VERBATIM_MAX - 2, WRITE_VERBATIM_MAX + 2) },
          { weight: 1, arbitrary: bulkBytes(WRITE_VERBATIM_MAX + 3, 40_000) },
        ),
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('failure' as const), info: failureArb }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant('end' as const), info: endArb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('call' as const),
        api: fc.oneof(fc.constantFrom(13, 121, 132), safeInt(0, 2 ** 40)),
        status: fc.constantFrom(0 as const, 1 as const, 2 as const),
        args: payloadArb,
        value: payloadArb,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant('streamRead' as const),
        op: opIdArb,
        us: usArb,
        // bytes read, or a libuv status: the end of the stream (UV_EOF) or an error
        n: fc.oneof(
          { weight: 4, arbitrary: fc.constant(1) },
          { weight: 1, arbitrary: fc.constantFrom(0, -4095, -104, -32) },
        ),
        data: fc.oneof(
          { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 48 }) },
          { weight: 1, arbitrary: bulkBytes(49, 20_000) },
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('streamWrite' as const),
        op: opIdArb,
        length: fc.oneof(fc.integer({ min: 0, max: 100_000 }), safeInt(0, 2 ** 40)),
        crc: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        status: fc.oneof(fc.constant(0), fc.integer({ min: -4095, max: -1 })),
        async: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.constant({ k: 'flush' as const }) },
  ];
  if (opts.big) {
    // Large random-bytes events: push logs past the 64 KiB chunk size, and sometimes past
    // it in a single event (the writer then grows its chunk buffer).
    arbs.push({
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('bytes' as const),
        tag: fc.constant(Tag.RandomBytes),
        data: fc.oneof(
          { weight: 5, arbitrary: bulkBytes(4_000, 30_000) },
          { weight: 1, arbitrary: bulkBytes(CHUNK_BYTES - 200, CHUNK_BYTES + 300) },
        ),
      }),
    });
  }
  return fc.oneof(...arbs);
};

/**
 * Flush, then one random-bytes event sized so that the writer's chunk buffer (8-byte chunk
 * header included) ends up exactly `offset` bytes before or after the 64 KiB mark. The ops
 * that follow then land right at the chunk edge, where the writer's flush-and-slack logic is.
 * (1 tag byte + a 3-byte length varint + L bytes of data.)
 */
const ZEROS = new Uint8Array(CHUNK_BYTES + 64);
const padToEdge: fc.Arbitrary<Op[]> = fc
  .integer({ min: -120, max: 40 })
  .map((offset) => [
    { k: 'flush' },
    { k: 'bytes', tag: Tag.RandomFill, data: ZEROS.subarray(0, CHUNK_BYTES + offset - 12) },
  ]);

/** Op sequences: random ops, now and then pushed against the chunk edge. */
const opsArb = (opts: { big: boolean; maxLength: number; minLength?: number }) =>
  fc
    .array(
      opts.big
        ? fc.oneof({ weight: 20, arbitrary: opArb(opts).map((o) => [o]) }, { weight: 1, arbitrary: padToEdge })
        : opArb(opts).map((o) => [o]),
      { maxLength: opts.maxLength, minLength: opts.minLength },
    )
    .map((segs) => segs.flat());

const headerArb: fc.Arbitrary<TraceHeader> = fc
  .record({
    startWall: fc.integer({ min: -100_000, max: 100_000 }).map((d) => START_WALL + d),
    pid: fc.integer({ min: 1, max: 4_000_000 }),
    argv: fc.array(
      fc.string({ maxLength: 20 }).filter((a) => !a.includes('\0')),
      { maxLength: 4 },
    ),
    env: fc.dictionary(
      fc
        .string({ minLength: 1, maxLength: 10 })
        .filter((k) => k !== '__proto__' && !k.includes('=') && !k.includes('\0')),
      fc.string({ maxLength: 30 }).filter((v) => !v.includes('\0')),
      { maxKeys: 6, noNullPrototype: true },
    ),
  })
  .map(({ startWall, pid, argv, env }) =>
    makeHeader(startWall, { pid, argv: ['/usr/bin/node', '/app/main.js', ...argv], env }),
  );

function makeHeader(startWall = START_WALL, extra: Partial<TraceHeader> = {}): TraceHeader {
  const tty = { isTTY: false };
  return {
    formatVersion: FORMAT_VERSION,
    rewindVersion: '0.1.0',
    nodeVersion: process.version,
    platform: 'linux',
    arch: 'x64',
    pid: 4242,
    ppid: 1,
    argv: ['/usr/bin/node', '/app/main.js'],
    execArgv: [],
    cwd: '/app',
    env: { PATH: '/usr/bin', HOME: '/root' },
    title: 'node',
    entry: { path: '/app/main.js', sha256: 'ab'.repeat(32) },
    startWall,
    monoBase: [12345, 678901234],
    uptimeBase: 0.03,
    randomSeed: [1, 2, 3, 4],
    stdio: { stdin: tty, stdout: { isTTY: true, columns: 80, rows: 24, colorDepth: 8 }, stderr: tty },
    ...extra,
  };
}

/** `h` as a log of `formatVersion` has it: up to format 5 with the perf clock's bases (format 6 logs them as perf.origin). */
function asFormat(h: TraceHeader, formatVersion: number): TraceHeader {
  if (formatVersion >= 6) return { ...h, formatVersion };
  return { perfNowBase: 25.5, timeOrigin: h.startWall - 30.25, ...h, formatVersion };
}

// ---------------------------------------------------------------------------------------
// Writing, and the model of what the reader must return

function applyOp(w: TraceWriter, o: Op): void {
  switch (o.k) {
    case 'wall':
      return w.wall(o.tag, o.v);
    case 'mono':
      return w.mono(o.tag, o.ns);
    case 'turn':
      return w.turn(o.tag, o.op, o.us);
    case 'callback':
      return w.callback(o.op, o.us, o.api, o.payload);
    case 'signal':
      return w.signal(o.us, o.name);
    case 'bytes':
      return w.bytes(o.tag, o.data);
    case 'fixed':
      return w.fixed(Tag.RandomUUID, o.data);
    case 'int':
      return w.int(Tag.RandomInt, o.v);
    case 'value':
      return w.value(o.api, o.payload);
    case 'output':
      return w.output(o.fd, o.data);
    case 'failure':
      return w.failure(o.info);
    case 'end':
      return w.end(o.info);
    case 'call':
      return w.call(
        o.api,
        o.status === 0 ? { args: o.args, status: 0 } : { args: o.args, status: o.status, value: o.value },
      );
    case 'streamRead':
      return w.streamRead(o.op, o.us, o.n > 0 ? o.data.length : o.n, o.n > 0 ? o.data : null);
    case 'streamWrite':
      return w.streamWrite(o.op, o.length, o.crc, o.status, o.async);
    case 'flush':
      return w.flush();
  }
}

/** Writes `ops` into a new log; uncompressed by default, so that its events' layout can be walked. */
function writeLog(header: TraceHeader, ops: Op[], compress = false): { path: string; events: number } {
  const p = freshPath();
  const w = new TraceWriter(p, header, compress);
  for (const o of ops) applyOp(w, o);
  w.close();
  expect(w.active).toBe(false);
  expect(w.pending).toBe(false);
  expect(w.bytesWritten).toBe(fs.statSync(p).size);
  return { path: p, events: w.events };
}

/** Comparable form of bytes: hex when short, length + sha1 when long (cheap to compare). */
const hex = (b: Uint8Array) => {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.length <= 256 ? buf.toString('hex') : `${buf.length}:${createHash('sha1').update(buf).digest('hex')}`;
};
const sha8 = (b: Uint8Array) => hex(createHash('sha1').update(b).digest().subarray(0, 8));

/** Comparable form of an event: byte fields as hex. */
type Plain = Record<string, unknown>;
function plain(ev: TraceEvent): Plain {
  const out: Plain = { ...ev };
  if (ev.data !== undefined) out.data = hex(ev.data);
  if (ev.digest !== undefined) out.digest = hex(ev.digest);
  return out;
}

/** The events the reader must decode from ops, computed independently of the codec. */
function model(header: TraceHeader, ops: Op[]): Plain[] {
  const out: Plain[] = [];
  let timeUs = 0;
  let turnUs = 0; // the writer clamps a turn time that goes backwards to the previous one
  const push = (tag: number, fields: Plain) =>
    out.push({ n: out.length + 1, tag, kind: TAGS[tag].kind, timeUs, ...fields });
  for (const o of ops) {
    switch (o.k) {
      case 'wall':
        push(o.tag, { wall: o.v });
        break;
      case 'mono':
        timeUs = Math.max(timeUs, Math.floor(o.ns / 1000));
        push(o.tag, { monoNs: o.ns });
        break;
      case 'turn':
        turnUs = Math.max(turnUs, o.us);
        timeUs = Math.max(timeUs, turnUs);
        push(o.tag, { op: o.op });
        break;
      case 'callback':
        turnUs = Math.max(turnUs, o.us);
        timeUs = Math.max(timeUs, turnUs);
        push(Tag.Callback, { op: o.op, api: o.api, payload: o.payload });
        break;
      case 'signal':
        turnUs = Math.max(turnUs, o.us);
        timeUs = Math.max(timeUs, turnUs);
        push(Tag.Signal, { signal: o.name });
        break;
      case 'bytes':
        push(o.tag, { data: hex(o.data) });
        break;
      case 'fixed':
        push(Tag.RandomUUID, { data: hex(o.data) });
        break;
      case 'int':
        push(Tag.RandomInt, { int: o.v });
        break;
      case 'value':
        push(Tag.Value, { api: o.api, payload: o.payload });
        break;
      case 'output':
        if (o.data.length <= WRITE_VERBATIM_MAX)
          push(Tag.Write, { fd: o.fd, data: hex(o.data), length: o.data.length });
        else
          push(Tag.WriteDigest, {
            fd: o.fd,
            length: o.data.length,
            digest: sha8(o.data),
            data: hex(o.data.subarray(0, WRITE_DIGEST_HEAD)),
          });
        break;
      case 'failure':
        push(Tag.Failure, { failure: o.info });
        break;
      case 'end':
        push(Tag.End, { end: o.info });
        break;
      case 'call':
        push(Tag.Call, {
          api: o.api,
          call: o.status === 0 ? { args: o.args, status: 0 } : { args: o.args, status: o.status, value: o.value },
        });
        break;
      case 'streamRead':
        turnUs = Math.max(turnUs, o.us);
        timeUs = Math.max(timeUs, turnUs);
        push(Tag.StreamRead, {
          op: o.op,
          status: o.n > 0 ? o.data.length : o.n,
          data: o.n > 0 ? hex(o.data) : undefined,
        });
        break;
      case 'streamWrite':
        push(Tag.StreamWrite, { op: o.op, length: o.length, crc: o.crc, status: o.status, async: o.async });
        break;
      case 'flush':
        break;
    }
  }
  void header;
  return out;
}

const readAll = (t: TraceFile): Plain[] => [...TraceReader.events(t)].map(plain);

// ---------------------------------------------------------------------------------------
// An independent walk over the file layout

interface Layout {
  preambleLen: number;
  chunks: { start: number; bodyStart: number; end: number }[];
  /** File offset just past each event, in order. */
  eventEnds: number[];
}

function layoutOf(bytes: Uint8Array, header: TraceHeader): Layout {
  expect(Buffer.from(bytes.subarray(0, 4)).equals(MAGIC)).toBe(true);
  expect(bytes[4]).toBe(FORMAT_VERSION);
  // varint header length
  let p = 5;
  let len = 0;
  let mul = 1;
  for (;;) {
    const b = bytes[p++];
    len += (b & 0x7f) * mul;
    mul *= 128;
    if (b < 0x80) break;
  }
  const preambleLen = p + len;
  expect(preambleLen).toBe(encodePreamble(header).length);
  const chunks: Layout['chunks'] = [];
  const eventEnds: number[] = [];
  const st = new DecodeState(header);
  p = preambleLen;
  while (p < bytes.length) {
    const n = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32LE(p);
    const sum = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32LE(p + 4);
    const bodyStart = p + CHUNK_HEADER_BYTES;
    const end = bodyStart + n;
    expect(n).toBeGreaterThan(0);
    expect(end).toBeLessThanOrEqual(bytes.length);
    expect(crc32(bytes.subarray(bodyStart - 4, end))).toBe(sum); // sequence number and payload
    expect(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readUInt32LE(p + 8)).toBe(chunks.length);
    chunks.push({ start: p, bodyStart, end });
    // Events never straddle chunks: each chunk decodes on its own (with the carried state).
    const c = new ByteCursor(bytes, bodyStart, end);
    while (c.pos < end) {
      decodeEvent(c, st, eventEnds.length + 1);
      eventEnds.push(c.pos);
    }
    expect(c.pos).toBe(end);
    p = end;
  }
  return { preambleLen, chunks, eventEnds };
}

// REWIND_FC_SCALE=20 multiplies every run count, for a longer hunt than the default fast run.
const scale = Math.max(1, Number(process.env.REWIND_FC_SCALE) || 1);
const runs = (n: number) => ({ numRuns: n * scale });

/** The varint encoding of `v`. */
function putVarintBytes(v: number): Uint8Array {
  const b = new Uint8Array(10);
  return b.subarray(0, putVarint(b, 0, v));
}

// ---------------------------------------------------------------------------------------

describe('codec primitives', { timeout: 60_000 }, () => {
  it('varint + zigzag round-trip every safe integer magnitude up to 2^52', () => {
    fc.assert(
      fc.property(safeInt(-(2 ** 52), 2 ** 52), (v) => {
        const b = new Uint8Array(16);
        const end = putVarint(b, 0, zigzag(v));
        const c = new ByteCursor(b, 0, end);
        expect(unzigzag(c.varint())).toBe(v);
        expect(c.pos).toBe(end);
      }),
      runs(300),
    );
  });

  it('a varint cut anywhere reports a truncation, never a wrong number', () => {
    fc.assert(
      fc.property(safeInt(128, 2 ** 53 - 1), fc.nat(), (v, k) => {
        const b = new Uint8Array(16);
        const end = putVarint(b, 0, v);
        const cut = k % end; // strictly inside the varint
        const c = new ByteCursor(b, 0, cut);
        let err: unknown;
        try {
          c.varint();
        } catch (e) {
          err = e;
        }
        expect(err).toMatchObject({ truncated: true });
      }),
      runs(200),
    );
  });
});

describe('codec payloads', { timeout: 60_000 }, () => {
  it('a string keeps a leading byte order mark at any length (msgpackr decodes strings over 64 bytes natively)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.nat(3), (tail, n) => {
        const s = '\uFEFF'.repeat(n + 1) + tail;
        expect(unpack(pack(s))).toBe(s);
        expect(unpack(pack({ file: s, more: [s] }))).toEqual({ file: s, more: [s] });
      }),
      runs(300),
    );
    const long = `\uFEFF${'x'.repeat(100)}`;
    expect(unpack(pack(long))).toBe(long);
    // The global TextDecoder msgpackr's decoder was made from is Node's own again, as it was.
    expect(new TextDecoder().decode(Buffer.from(long))).toBe(long.slice(1));
  });

  it('ByteCursor.msgpack decodes every payload as msgpackr does (its own path for plain results), or throws where it throws', () => {
    const framed = (payload: Uint8Array, asBuffer: boolean): ByteCursor => {
      const b = Buffer.alloc(payload.length + 10);
      const at = putVarint(b, 1, payload.length); // not at offset 0 of its memory
      b.set(payload, at);
      const view = asBuffer
        ? b.subarray(1, at + payload.length)
        : new Uint8Array(b.buffer, b.byteOffset + 1, at - 1 + payload.length);
      return new ByteCursor(view);
    };
    const same = (payload: Uint8Array, asBuffer: boolean) => {
      const c = framed(payload, asBuffer);
      let want: unknown;
      let wantErr = false;
      try {
        want = unpack(asBuffer ? Buffer.from(payload) : new Uint8Array(payload));
      } catch {
        wantErr = true;
      }
      if (wantErr) {
        expect(() => c.msgpack()).toThrow(DecodeError);
        return;
      }
      const got = c.msgpack();
      expect(got).toStrictEqual(want);
      const bin = Array.isArray(got) ? got.find((x) => x instanceof Uint8Array) : got;
      if (bin instanceof Uint8Array) expect(Buffer.isBuffer(bin)).toBe(asBuffer);
      expect(c.pos).toBe(c.end);
    };
    const leaf = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
      fc.double(),
      fc.constantFrom(null, true, false, undefined),
      fc.string({ unit: 'binary-ascii', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
    );
    const value = fc.oneof(
      leaf,
      fc.array(leaf, { maxLength: 5 }),
      fc.array(fc.array(leaf, { maxLength: 3 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), leaf, { maxKeys: 3 }),
    );
    fc.assert(
      fc.property(value, fc.boolean(), (v, asBuffer) => same(pack(v), asBuffer)),
      runs(1500),
    );
    // Damaged payloads: cut, with bytes appended or changed.
    fc.assert(
      fc.property(value, fc.nat(), fc.uint8Array({ maxLength: 3 }), fc.boolean(), (v, k, extra, asBuffer) => {
        const packed = pack(v);
        same(packed.subarray(0, k % (packed.length + 1)), asBuffer);
        same(Buffer.concat([packed, extra]), asBuffer);
        if (packed.length > 0) {
          const changed = Buffer.from(packed);
          changed[k % changed.length] ^= 1 + (k % 255);
          same(changed, asBuffer);
        }
      }),
      runs(1500),
    );
  });

  it('ByteCursor.skipMsgpack steps over a payload only when msgpack() decodes it, to the same end, and over every plain value', () => {
    const framed = (payload: Uint8Array): Buffer => {
      const b = Buffer.alloc(payload.length + 9);
      const at = putVarint(b, 0, payload.length);
      b.set(payload, at);
      return b.subarray(0, at + payload.length);
    };
    /** Skips the framed payload or not; when it does, msgpack() must decode it and end there. */
    const check = (payload: Uint8Array): boolean => {
      const bytes = framed(payload);
      const c = new ByteCursor(bytes);
      const skipped = c.skipMsgpack();
      if (!skipped) {
        expect(c.pos).toBe(0);
        return false;
      }
      expect(c.pos).toBe(bytes.length);
      const d = new ByteCursor(bytes);
      d.msgpack(); // throws, failing the property, if skipMsgpack passed what msgpackr refuses
      expect(d.pos).toBe(bytes.length);
      return true;
    };
    const leaf = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
      fc.maxSafeInteger(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
      fc.double(),
      fc.constantFrom(null, undefined, true, false),
      fc.string({ unit: 'binary-ascii', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
    );
    // Plain values: what calls' arguments and results are made of.
    const { plain } = fc.letrec((tie) => ({
      plain: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('map')),
      array: fc.array(tie('plain'), { maxLength: 5 }),
      map: fc.dictionary(fc.string({ maxLength: 8 }), tie('plain'), { maxKeys: 4 }),
    }));
    fc.assert(
      fc.property(plain, (v) => {
        expect(check(pack(v))).toBe(true);
      }),
      runs(1500),
    );
    // Others (a Date, a Map with number keys, deep nesting, random bytes) and damaged payloads:
    // skipped or not, never skipped when msgpack() would throw.
    const other = fc.oneof(
      plain,
      fc.date({ noInvalidDate: true }),
      fc.array(fc.constantFrom(undefined, new Date(0), 1), { maxLength: 3 }),
      fc.nat(60).map((n) => Array.from({ length: n }).reduce<unknown>((x) => [x], 1)),
      fc.uint8Array({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(other, fc.nat(), fc.uint8Array({ maxLength: 3 }), (v, k, extra) => {
        const packed = v instanceof Uint8Array ? Buffer.from(v) : pack(v);
        check(packed);
        check(packed.subarray(0, k % (packed.length + 1)));
        check(Buffer.concat([packed, extra]));
        if (packed.length > 0) {
          const changed = Buffer.from(packed);
          changed[k % changed.length] ^= 1 + (k % 255);
          check(changed);
        }
      }),
      runs(3000),
    );
    expect(check(pack(Array.from({ length: 40 }).reduce<unknown>((x) => [x], 1)))).toBe(false); // deeper than it follows
    expect(check(pack(new Map([[1, 'a']])))).toBe(false); // a key not text
    expect(check(Buffer.from([0xc1]))).toBe(false); // never used
  });

  it("ByteCursor.equalBytes: true, and past them, exactly when the next n bytes are x's first n", () => {
    const bytes = fc.uint8Array({ maxLength: 200, max: 3 }); // few values: equal runs come often
    fc.assert(
      fc.property(bytes, fc.nat(200), fc.nat(200), bytes, fc.boolean(), (b, at, n, other, same) => {
        const pos = Math.min(at, b.length);
        // The log's own bytes (equal, when they reach n), or others: a byte apart, or unrelated.
        const x = same ? b.slice(pos, pos + n) : other;
        const c = new ByteCursor(b, pos);
        const expected = n <= b.length - pos && n <= x.length && b.subarray(pos, pos + n).every((v, i) => v === x[i]);
        expect(c.equalBytes(x, n)).toBe(expected);
        expect(c.pos).toBe(expected ? pos + n : pos);
      }),
      runs(500),
    );
  });
});

describe('TraceWriter -> TraceReader round-trip', { timeout: 60_000 }, () => {
  it('returns every written event, in order, with the same values', () => {
    let multiChunk = 0;
    fc.assert(
      fc.property(headerArb, opsArb({ big: true, maxLength: 60 }), (header, ops) => {
        const { path: p, events } = writeLog(header, ops);
        const expected = model(header, ops);
        expect(events).toBe(expected.length);
        const t = TraceReader.open(p);
        expect(t.truncated).toBeNull();
        expect(t.eventCount).toBe(expected.length);
        expect(t.bodyEnd).toBe(t.body.length);
        expect(t.header).toEqual(header);
        expect(t.size).toBe(fs.statSync(p).size);
        expect(readAll(t)).toStrictEqual(expected);
        const lay = layoutOf(fs.readFileSync(p), header);
        expect(lay.eventEnds.length).toBe(expected.length);
        if (lay.chunks.some((c) => c.end - c.bodyStart > CHUNK_BYTES / 2) && lay.chunks.length > 1) multiChunk++;
        fs.rmSync(p);
      }),
      runs(150),
    );
    // Sanity: the generator does reach multi-chunk logs with big chunks.
    expect(multiChunk).toBeGreaterThan(0);
  });

  it('a writer that appends nothing writes its preamble only (warming up its hot methods leaves no trace)', () => {
    const header = makeHeader();
    const p = freshPath();
    const w = new TraceWriter(p, header);
    expect([w.events, w.turns, w.lastTurnUs, w.pending]).toEqual([0, 0, 0, false]);
    w.flush();
    w.close();
    expect(fs.readFileSync(p)).toEqual(encodePreamble(header));
    const t = TraceReader.open(p);
    expect(t.eventCount).toBe(0);
    // The first events are still encoded against the header's start, not a warm-up value.
    const { path: q } = writeLog(header, [
      { k: 'wall', tag: Tag.DateNow, v: START_WALL + 5 },
      { k: 'turn', tag: Tag.Immediate, op: 1, us: 7 },
    ]);
    expect(readAll(TraceReader.open(q))).toStrictEqual(
      model(header, [
        { k: 'wall', tag: Tag.DateNow, v: START_WALL + 5 },
        { k: 'turn', tag: Tag.Immediate, op: 1, us: 7 },
      ]),
    );
    fs.rmSync(p);
    fs.rmSync(q);
  });

  it("splits a long stream of small events into chunks of the writer's size by itself", () => {
    const header = makeHeader();
    const ops: Op[] = [];
    for (let i = 0; i < 80_000; i++) {
      ops.push(
        i % 3 === 0
          ? { k: 'wall', tag: Tag.DateNow, v: START_WALL + ((i * 7919) % 2 ** 30) }
          : i % 3 === 1
            ? { k: 'mono', tag: Tag.PerfNow, ns: (i * 104729) % 2 ** 40 }
            : { k: 'turn', tag: Tag.Timeout, op: i, us: i * 10 },
      );
    }
    const { path: p } = writeLog(header, ops);
    const bytes = fs.readFileSync(p);
    const lay = layoutOf(bytes, header);
    expect(lay.chunks.length).toBeGreaterThan(3);
    for (const c of lay.chunks.slice(0, -1)) {
      const len = c.end - c.bodyStart;
      expect(len).toBeGreaterThan(CHUNK_BYTES - 32);
      expect(len).toBeLessThanOrEqual(CHUNK_BYTES + 64);
    }
    expect(readAll(TraceReader.open(p))).toStrictEqual(model(header, ops));
  });

  it('writes an event larger than a chunk into a chunk of its own size, then goes back to normal chunks', () => {
    const header = makeHeader();
    const big = fillBytes(3 * CHUNK_BYTES + 5, 7);
    const ops: Op[] = [
      { k: 'int', v: -5 },
      { k: 'bytes', tag: Tag.RandomBytes, data: big },
      { k: 'value', api: 1, payload: { blob: 'x'.repeat(2 * CHUNK_BYTES) } },
      { k: 'output', fd: 1, data: big },
      { k: 'callback', op: 3, us: 10, api: 2, payload: { value: 'y'.repeat(CHUNK_BYTES + 1) } },
      { k: 'wall', tag: Tag.DateNow, v: START_WALL + 1 },
    ];
    const { path: p } = writeLog(header, ops);
    layoutOf(fs.readFileSync(p), header);
    expect(readAll(TraceReader.open(p))).toStrictEqual(model(header, ops));
  });
});

describe('events at the chunk edge', { timeout: 60_000 }, () => {
  // Every kind of event (at its largest encodings) written, twice in a row, when the chunk
  // buffer is at every position from 100 bytes before the 64 KiB mark to 48 bytes past it:
  // this is where the writer decides between appending into its slack and flushing first.
  const big = 2 ** 53 - 1;
  // Operation numbers are counters below 2^52 (format.ts), logged as differences: one event
  // of a pair names the largest, the other 0, so that each is a difference of ~2^52 (8 bytes).
  const bigOp = (second: boolean) => (second ? 0 : 2 ** 52 - 1);
  const kinds: Record<string, (i: number, second: boolean) => Op> = {
    wall: (_, second) => ({ k: 'wall', tag: Tag.DateNow, v: second ? 0 : 2 ** 52 }),
    mono: (_, second) => ({ k: 'mono', tag: Tag.HrtimeBigint, ns: second ? 0 : 2 ** 52 }),
    turn: (i, second) => ({ k: 'turn', tag: Tag.Interval, op: bigOp(second), us: i * 2 ** 45 }),
    // 17 bytes, the largest hot event: 8-byte op and 8-byte time delta, right below the mark
    turnHuge: (i, second) => ({
      k: 'turn',
      tag: Tag.Timeout,
      op: bigOp(second),
      us: 2 ** 49 * Math.min(15, Math.max(0, i - 85)),
    }),
    callback: (i, second) => ({ k: 'callback', op: bigOp(second), us: i * 2 ** 45, api: big, payload: { value: i } }),
    callbackBig: (i) => ({ k: 'callback', op: 300, us: i * 2 ** 45, api: 2, payload: { value: 'v'.repeat(150 + i) } }),
    signal: (i) => ({ k: 'signal', us: i * 2 ** 45, name: 'SIGWINCH' }),
    bytes0: () => ({ k: 'bytes', tag: Tag.RandomBytes, data: new Uint8Array(0) }),
    bytes127: (i) => ({ k: 'bytes', tag: Tag.GetRandomValues, data: fillBytes(127, i + 1) }),
    bytes128: (i) => ({ k: 'bytes', tag: Tag.RandomFill, data: fillBytes(128, i + 1) }),
    fixed: (i) => ({ k: 'fixed', data: fillBytes(16, i + 1) }),
    int: (i) => ({ k: 'int', v: i % 2 ? 2 ** 48 : -(2 ** 48) }),
    value: (i) => ({ k: 'value', api: big, payload: [i, 'x'.repeat(i)] }),
    output: (i) => ({ k: 'output', fd: 2, data: fillBytes(i % 7, i + 1) }),
    output4096: (i) => ({ k: 'output', fd: 1, data: fillBytes(WRITE_VERBATIM_MAX, i + 1) }),
    output4097: (i) => ({ k: 'output', fd: 1, data: fillBytes(WRITE_VERBATIM_MAX + 1 + i * 1000, i + 1) }),
    failure: (i) => ({
      k: 'failure',
      info: { origin: 'unhandledRejection', name: 'Error', message: 'm'.repeat(i), stack: 'at x' },
    }),
    end: () => ({ k: 'end', info: { code: 3, signal: null, via: 'exit' } }),
  };
  for (const [name, make] of Object.entries(kinds)) {
    it(`${name} at every position around the 64 KiB mark`, () => {
      const header = makeHeader();
      const ops: Op[] = [];
      let i = 0;
      for (let off = -100; off <= 48; off++, i++) {
        ops.push({ k: 'flush' }, { k: 'bytes', tag: Tag.RandomFill, data: ZEROS.subarray(0, CHUNK_BYTES + off - 12) });
        // twice: the second lands wherever the first left the buffer, up to the end of the slack
        ops.push(make(i, false), make(i, true), { k: 'wall', tag: Tag.DateNew, v: START_WALL + i });
      }
      const { path: p } = writeLog(header, ops);
      const lay = layoutOf(fs.readFileSync(p), header);
      for (const c of lay.chunks) expect(c.end - c.bodyStart).toBeLessThanOrEqual(CHUNK_BYTES + 64);
      expect(readAll(TraceReader.open(p))).toStrictEqual(model(header, ops));
      expect(readAll(TraceReader.open(p, { inPieces: true }))).toStrictEqual(model(header, ops));
      fs.rmSync(p);
    });
  }
});

describe('operation numbers (format 4)', () => {
  it('are logged as the difference from the previous turn or stream write: consecutive operations cost a byte each', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 1_000; i++) {
      ops.push({ k: 'turn', tag: Tag.Immediate, op: 20_000 + i, us: i });
      ops.push({ k: 'streamWrite', op: 20_000 + i, length: 5, crc: 7, status: 0, async: false });
    }
    const sizes = [3, 4].map((formatVersion) => {
      const header = asFormat(makeHeader(START_WALL), formatVersion);
      const { path: p } = writeLog(header, ops);
      expect(readAll(TraceReader.open(p))).toStrictEqual(model(header, ops));
      const size = fs.statSync(p).size;
      fs.rmSync(p);
      return size;
    });
    // Whole, each number takes 3 bytes; as a difference (+1, then 0), 1: all but the first
    // turn's (20,000 from 0, 3 bytes either way).
    expect(sizes[0] - sizes[1]).toBe(2 * (2 * 1_000 - 1));
  });
});

describe('compressed chunks (format 3 on)', { timeout: 60_000 }, () => {
  /** The chunks of a log as stored: file offset, stored payload. */
  function storedChunks(bytes: Buffer, preambleLen: number): { at: number; payload: Buffer }[] {
    const out: { at: number; payload: Buffer }[] = [];
    for (let p = preambleLen; p + CHUNK_HEADER_BYTES <= bytes.length;) {
      const len = bytes.readUInt32LE(p);
      out.push({ at: p, payload: bytes.subarray(p + CHUNK_HEADER_BYTES, p + CHUNK_HEADER_BYTES + len) });
      p += CHUNK_HEADER_BYTES + len;
    }
    return out;
  }

  /**
   * The log as rewind stored it before format 5 (version byte `version`): each compressed
   * chunk deflate-raw at level 1, as compress.ts describes the old form.
   */
  function storedAsDeflate(bytes: Buffer, preambleLen: number, version: number): Buffer {
    const parts: Uint8Array[] = [Buffer.from(bytes.subarray(0, preambleLen))];
    parts[0][MAGIC.length] = version;
    storedChunks(bytes, preambleLen).forEach(({ payload }, seq) => {
      if (payload[0] !== COMPRESSED) {
        parts.push(encodeChunk(seq, payload));
        return;
      }
      const events = decompressPayload(payload, false, FORMAT_VERSION);
      const head = Buffer.alloc(6);
      head[0] = COMPRESSED;
      const z = deflateRawSync(events, { level: 1, memLevel: 9 });
      parts.push(encodeChunk(seq, Buffer.concat([head.subarray(0, putVarint(head, 1, events.length)), z])));
    });
    return Buffer.concat(parts);
  }

  it('hold the same events as uncompressed chunks, in fewer bytes; older forms (deflate-raw chunks, never compressed) read the same', () => {
    let compressedLogs = 0;
    fc.assert(
      fc.property(headerArb, opsArb({ big: true, maxLength: 60 }), (header, ops) => {
        const plainLog = writeLog(header, ops, false).path;
        const packedLog = writeLog(header, ops, true).path;
        const raw = fs.readFileSync(plainLog);
        const packed = fs.readFileSync(packedLog);
        const expected = model(header, ops);
        const t = TraceReader.open(packedLog);
        expect(t.truncated).toBeNull();
        expect(readAll(t)).toStrictEqual(expected);
        // Read chunk by chunk, as a log too large to be read whole is: the same.
        expect(readAll(TraceReader.open(packedLog, { inPieces: true }))).toStrictEqual(expected);
        // Streamed, each event is used before the next is read (they may share a read buffer).
        const streamed: Plain[] = [];
        for (const ev of TraceReader.events(TraceReader.open(packedLog, { streamed: true }))) streamed.push(plain(ev));
        expect(streamed).toStrictEqual(expected);
        expect(packed.length).toBeLessThanOrEqual(raw.length);
        const chunks = storedChunks(packed, t.preamble.length);
        if (chunks.some((c) => c.payload[0] === COMPRESSED)) compressedLogs++;
        // What rewind wrote before format 5 (chunks deflate-raw), before format 4 (operation
        // numbers whole, not differences), compressed (format 3) and not (format 2, byte and
        // header): read as the same events.
        // (Its chunks are deflate-raw: read as brotli, a compressed one would not decompress.)
        const v4 = storedAsDeflate(packed, t.preamble.length, 4);
        expect(readAll(TraceReader.parse(v4))).toStrictEqual(expected);
        const v3Header = asFormat(header, 3);
        const v3Log = writeLog(v3Header, ops, true).path;
        const v3Bytes = fs.readFileSync(v3Log);
        const v3 = storedAsDeflate(v3Bytes, TraceReader.parse(v3Bytes).preamble.length, 3);
        expect(readAll(TraceReader.parse(v3))).toStrictEqual(model(v3Header, ops));
        const v2Header = asFormat(header, 2);
        const v2Log = writeLog(v2Header, ops, false).path;
        const v2 = fs.readFileSync(v2Log);
        v2[MAGIC.length] = 2;
        expect(readAll(TraceReader.parse(v2))).toStrictEqual(model(v2Header, ops));
        for (const f of [plainLog, packedLog, v3Log, v2Log]) fs.rmSync(f);
      }),
      runs(60),
    );
    expect(compressedLogs).toBeGreaterThan(0);
  });

  it('one brotli handle compresses each chunk as a stream per chunk does (brotliCompressSync), or stores it when that is not smaller', () => {
    // Payloads from compressible to random, around the size where compressing stops paying.
    const payloadArb = fc
      .tuple(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 1, max: 256 }), fc.integer({ min: 0, max: 100 }))
      .map(([n, alphabet, noise]) => {
        const b = Buffer.alloc(n);
        let x = (n * 2654435761) >>> 0;
        for (let i = 0; i < n; i++) {
          x = (x * 1103515245 + 12345) >>> 0;
          b[i] = x % 100 < noise ? x >>> 24 : (i * 7 + (x >>> 28)) % alphabet;
        }
        return b;
      });
    let compressed = 0;
    let stored = 0;
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const whole = CHUNK_HEADER_BYTES + payload.length;
        const slow = slowCompressedChunk(payload, CHUNK_HEADER_BYTES);
        const fast = compressedChunk(payload, CHUNK_HEADER_BYTES);
        if (fast === null) {
          stored++;
          // Below MIN_BYTES a chunk is stored without trying (a seed found 23 zero bytes).
          if (payload.length >= MIN_BYTES) expect(slow).toBeNull();
          return;
        }
        compressed++;
        expect(fast.length).toBeLessThan(whole);
        // The same encoder settings: the same bytes (the chunk's own header is not filled in).
        expect(Buffer.from(fast.subarray(CHUNK_HEADER_BYTES))).toStrictEqual(
          Buffer.from(slow!.subarray(CHUNK_HEADER_BYTES)),
        );
        expect(Buffer.from(decompressPayload(fast.subarray(CHUNK_HEADER_BYTES), false, FORMAT_VERSION))).toStrictEqual(
          payload,
        );
      }),
      // Always among the cases: a random (stored) and a compressible payload, whatever the seed.
      { ...runs(60), examples: [[randomBytes(66_000)], [Buffer.alloc(40_000, 'abc')]] },
    );
    expect(compressed).toBeGreaterThan(0);
    expect(stored).toBeGreaterThan(0);
    // The binding's encoder did the work: the comparison above was not the slow path with itself.
    expect(compressionPath()).toBe('binding');
    // Incompressible bytes: stored as they are, and the encoder is ready for the next chunk.
    const noise = Buffer.concat(
      Array.from({ length: 2048 }, (_, i) => createHash('sha256').update(String(i)).digest()),
    );
    expect(compressedChunk(noise, CHUNK_HEADER_BYTES)).toBeNull();
    // A chunk of one large event (its own output buffer, not kept), then a normal one again.
    const large = Buffer.from('a large event '.repeat(30_000));
    const largeChunk = compressedChunk(large, CHUNK_HEADER_BYTES)!;
    expect(
      Buffer.from(decompressPayload(largeChunk.subarray(CHUNK_HEADER_BYTES), false, FORMAT_VERSION)),
    ).toStrictEqual(large);
    const text = Buffer.from('event '.repeat(5000));
    const chunk = compressedChunk(text, CHUNK_HEADER_BYTES)!;
    expect(Buffer.from(decompressPayload(chunk.subarray(CHUNK_HEADER_BYTES), false, FORMAT_VERSION))).toStrictEqual(
      text,
    );
  });

  it('a long stream of clock readings is stored in a fraction of its size', () => {
    const header = makeHeader();
    const ops: Op[] = [];
    for (let i = 0; i < 50_000; i++) ops.push({ k: 'wall', tag: Tag.DateNow, v: START_WALL + i * 3 + (i % 7) });
    const plainLog = writeLog(header, ops, false).path;
    const packedLog = writeLog(header, ops, true).path;
    expect(fs.statSync(packedLog).size * 4).toBeLessThan(fs.statSync(plainLog).size);
    expect(readAll(TraceReader.open(packedLog))).toStrictEqual(readAll(TraceReader.open(plainLog)));
  });

  it('rewind redact reads a log of deflate-raw chunks (before format 5) and writes it as this rewind stores logs', () => {
    const secret = 'SECRET_d3fl4te_value';
    const header = makeHeader();
    const ops: Op[] = [];
    for (let i = 0; i < 3_000; i++) {
      ops.push({ k: 'wall', tag: Tag.DateNow, v: START_WALL + i });
      if (i % 100 === 0) ops.push({ k: 'output', fd: 1, data: Buffer.from(`line ${i}: ${secret}\n`) });
    }
    const p = writeLog(header, ops, true).path;
    const brotli = fs.readFileSync(p);
    fs.rmSync(p);
    const old = storedAsDeflate(brotli, TraceReader.parse(brotli).preamble.length, 4);
    const t = TraceReader.parse(old);
    expect(storedChunks(old, t.preamble.length).some((c) => c.payload[0] === COMPRESSED)).toBe(true);
    const secrets = new Secrets();
    secrets.add(secret);
    const { log, replaced } = redactLog(old, t, secrets, parseRules(undefined));
    expect(replaced).toBe(30);
    expect(log[MAGIC.length]).toBe(FORMAT_VERSION);
    const redacted = TraceReader.parse(log);
    expect(Buffer.from(redacted.body).includes(secret)).toBe(false);
    expect(readAll(redacted).length).toBe(readAll(t).length);
    expect(storedChunks(log, redacted.preamble.length).some((c) => c.payload[0] === COMPRESSED)).toBe(true);
  });

  it('a log cut anywhere keeps a prefix of its events, and never throws anything but a TraceError', () => {
    fc.assert(
      fc.property(
        headerArb,
        opsArb({ big: false, minLength: 20, maxLength: 200 }),
        fc.array(fc.nat(), { minLength: 10, maxLength: 30 }),
        (header, ops, cuts) => {
          const p = writeLog(header, ops, true).path;
          const brotli = fs.readFileSync(p);
          fs.rmSync(p);
          const full = readAll(TraceReader.parse(brotli));
          const preambleLen = TraceReader.parse(brotli).preamble.length;
          // As rewind stores chunks now (brotli) and before format 5 (deflate-raw).
          for (const bytes of [brotli, storedAsDeflate(brotli, preambleLen, 4)])
            for (const c of cuts) {
              const cut = preambleLen + (c % (bytes.length - preambleLen + 1));
              const t = TraceReader.parse(bytes.subarray(0, cut));
              const got = readAll(t);
              expect(got).toStrictEqual(full.slice(0, got.length));
              if (cut === bytes.length) expect(got.length).toBe(full.length);
            }
        },
      ),
      runs(60),
    );
  });

  it('a damaged compressed chunk (checksum made to match) is corruption, named as such', () => {
    const header = makeHeader();
    const ops: Op[] = [];
    for (let i = 0; i < 2_000; i++) ops.push({ k: 'turn', tag: Tag.Timeout, op: (i % 50) + 1, us: i * 100 });
    const p = writeLog(header, ops, true).path;
    const bytes = fs.readFileSync(p);
    const pre = TraceReader.parse(bytes).preamble;
    const [first] = storedChunks(bytes, pre.length);
    expect(first.payload[0]).toBe(COMPRESSED);
    const damaged = (at: number, x: number) => {
      const bad = Buffer.from(first.payload);
      bad[at] ^= x;
      return Buffer.concat([pre, encodeChunk(0, bad)]);
    };
    // Its size field: the events it holds are not the size it says.
    expect(() => TraceReader.parse(damaged(1, 0x01))).toThrow(
      /is corrupt: the compressed chunk at byte \d+ is damaged: it (decompresses to|does not decompress)/,
    );
    // Anywhere in the brotli stream (which has no checksum of its own): a TraceError, or events that decode.
    for (let at = 1; at < first.payload.length; at += 7) {
      try {
        TraceReader.parse(damaged(at, 0x5a));
      } catch (e) {
        expect(e).toBeInstanceOf(TraceError);
        expect((e as Error).message).toMatch(
          /is corrupt: (the compressed chunk at byte \d+ is damaged|event \d+ cannot be decoded)/,
        );
      }
    }
  });
});

describe('truncated logs', { timeout: 60_000 }, () => {
  it('any cut: header cuts throw "cut short"; later cuts keep a prefix of the events and flag truncation off chunk boundaries', () => {
    fc.assert(
      fc.property(
        headerArb,
        fc.array(opArb({ big: false }), { minLength: 1, maxLength: 50 }),
        fc.array(fc.nat(), { minLength: 10, maxLength: 30 }),
        (header, ops, randomCuts) => {
          const { path: p } = writeLog(header, ops);
          const bytes = fs.readFileSync(p);
          fs.rmSync(p);
          const full = readAll(TraceReader.parse(bytes));
          const lay = layoutOf(bytes, header);
          const boundaries = new Set([lay.preambleLen, ...lay.chunks.map((c) => c.end)]);

          const cuts = new Set<number>([0, 1, 4, 5, 6, bytes.length - 1, bytes.length]);
          for (const b of boundaries) for (const d of [-1, 0, 1, 4, 8, 9]) cuts.add(b + d);
          for (const e of lay.eventEnds) for (const d of [-1, 0]) cuts.add(e + d);
          for (const r of randomCuts) cuts.add(r % (bytes.length + 1));

          for (const cut of cuts) {
            if (cut < 0 || cut > bytes.length) continue;
            const part = bytes.subarray(0, cut);
            if (cut < lay.preambleLen) {
              expect(() => TraceReader.parse(part)).toThrow(TraceError);
              expect(() => TraceReader.parse(part)).toThrow(
                cut === 0 ? /is empty/ : /cut short after \d+ bytes?, inside its header/,
              );
              continue;
            }
            const t = TraceReader.parse(part);
            const got = readAll(t);
            const expectedCount = lay.eventEnds.filter((e) => e <= cut).length;
            expect(t.eventCount).toBe(expectedCount);
            expect(got).toStrictEqual(full.slice(0, expectedCount));
            expect(t.size).toBe(cut);
            if (boundaries.has(cut)) {
              expect(t.truncated).toBeNull();
            } else {
              const inChunk = lay.chunks.find((c) => cut > c.start && cut < c.end)!;
              expect(inChunk).toBeDefined();
              expect(t.truncated).toMatch(
                cut < inChunk.bodyStart
                  ? new RegExp(`cut off inside a chunk header at byte ${inChunk.start}$`)
                  : new RegExp(
                      `last chunk at byte ${inChunk.start} is cut off \\(${cut - inChunk.bodyStart} of ${inChunk.end - inChunk.bodyStart} bytes\\)`,
                    ),
              );
            }
          }
        },
      ),
      runs(100),
    );
  });

  it('a log cut in the middle of its last chunk keeps the complete events of that chunk', () => {
    const header = makeHeader();
    const ops: Op[] = [];
    for (let i = 0; i < 20; i++) ops.push({ k: 'wall', tag: Tag.DateNow, v: START_WALL + i * 1000 });
    ops.push({ k: 'flush' });
    for (let i = 0; i < 20; i++) ops.push({ k: 'turn', tag: Tag.Timeout, op: i + 1, us: i * 250 });
    ops.push({ k: 'flush' });
    for (let i = 0; i < 40; i++) {
      ops.push({ k: 'mono', tag: Tag.Hrtime, ns: 1_000_000 * i });
      ops.push({ k: 'output', fd: 1, data: Buffer.from(`line ${i}\n`) });
    }
    ops.push({ k: 'end', info: { code: 0, signal: null, via: 'natural' } });
    const { path: p, events } = writeLog(header, ops);
    const bytes = fs.readFileSync(p);
    const lay = layoutOf(bytes, header);
    expect(lay.chunks.length).toBe(3);
    const last = lay.chunks[2];
    const cut = last.bodyStart + Math.floor((last.end - last.bodyStart) / 2);
    const cutPath = freshPath();
    fs.writeFileSync(cutPath, bytes.subarray(0, cut));

    const t = TraceReader.open(cutPath);
    expect(t.truncated).toMatch(/last chunk at byte \d+ is cut off/);
    expect(t.eventCount).toBeGreaterThan(40);
    expect(t.eventCount).toBeLessThan(events);
    const got = readAll(t);
    expect(got).toStrictEqual(model(header, ops).slice(0, t.eventCount));
    expect(got.at(-1)!.n).toBe(t.eventCount);
  });
});

describe('garbage never escapes as anything but TraceError', { timeout: 60_000 }, () => {
  /** parse must either throw a TraceError or return a file whose events all decode. */
  function checkParse(buf: Uint8Array): void {
    let t: TraceFile;
    try {
      t = TraceReader.parse(buf);
    } catch (e) {
      if (!(e instanceof TraceError))
        throw new Error(`parse threw a non-TraceError: ${String(e)}\n${(e as Error)?.stack}`, { cause: e });
      expect(e.message).toMatch(/^rewind: the recording <buffer> /);
      return;
    }
    const evs = [...TraceReader.events(t)];
    expect(evs.length).toBe(t.eventCount);
    expect(t.bodyEnd).toBeLessThanOrEqual(t.body.length);
    if (t.truncated === null) expect(t.bodyEnd).toBe(t.body.length);
    evs.forEach((e, i) => expect(e.n).toBe(i + 1));
  }

  const preamble = encodePreamble(makeHeader());
  let seq = 0;
  const chunk = (payload: Uint8Array, i = seq++) => encodeChunk(i, payload);

  // Event-shaped fragments: a known tag (sometimes an unknown one), then random varints and bytes.
  const fragment = fc
    .tuple(
      fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(...Object.keys(TAGS).map(Number)) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
      ),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.uint8Array({ maxLength: 40 }),
    )
    .map(([tag, head, rest]) => Uint8Array.from([tag, ...head, ...rest]));
  // msgpack-bearing events with a correct length prefix and random msgpack-ish content.
  const msgpackFragment = fc
    .tuple(
      fc.constantFrom(Tag.Value, Tag.Callback, Tag.Failure, Tag.End),
      fc.uint8Array({ maxLength: 30 }),
      fc.integer({ min: 0, max: 255 }),
    )
    .map(([tag, body, first]) => {
      const b = Uint8Array.from([first, ...body]);
      const pre = tag === Tag.Value ? [tag, 1] : tag === Tag.Callback ? [tag, 1, 0, 1] : [tag];
      return Uint8Array.from([...pre, b.length, ...b]);
    });

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => checkParse(b)),
      runs(200),
    );
  });

  it('"RWND" + version 1 + random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (rest) => checkParse(Uint8Array.from([...MAGIC, 1, ...rest]))),
      runs(200),
    );
  });

  it('a valid header followed by random chunks with correct checksums', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.oneof(fragment, msgpackFragment, fc.uint8Array({ minLength: 1, maxLength: 20 })), {
            minLength: 1,
            maxLength: 8,
          }),
          {
            maxLength: 4,
          },
        ),
        fc.option(fc.nat(), { nil: undefined }),
        (chunks, cut) => {
          const bytes = Buffer.concat([preamble, ...chunks.map((frags, i) => chunk(Buffer.concat(frags), i))]);
          checkParse(bytes);
          if (cut !== undefined) checkParse(bytes.subarray(0, cut % (bytes.length + 1)));
        },
      ),
      runs(300),
    );
  });

  it('valid logs with random bytes changed, and possibly cut', () => {
    fc.assert(
      fc.property(
        fc.array(opArb({ big: false }), { minLength: 1, maxLength: 25 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.option(fc.nat(), { nil: undefined }),
        (ops, flips, cut) => {
          const header = makeHeader();
          const { path: p } = writeLog(header, ops);
          const bytes = fs.readFileSync(p);
          fs.rmSync(p);
          for (const [pos, x] of flips) bytes[pos % bytes.length] ^= x;
          checkParse(bytes);
          if (cut !== undefined) checkParse(bytes.subarray(0, cut % (bytes.length + 1)));
          // Also with the checksums repaired, so the event decoder sees the damage.
          const fixed = Buffer.from(bytes);
          let q = preamble.length;
          while (q + CHUNK_HEADER_BYTES <= fixed.length) {
            const len = fixed.readUInt32LE(q);
            if (len === 0 || q + CHUNK_HEADER_BYTES + len > fixed.length) break;
            fixed.writeUInt32LE(crc32(fixed.subarray(q + 8, q + CHUNK_HEADER_BYTES + len)), q + 4);
            q += CHUNK_HEADER_BYTES + len;
          }
          checkParse(fixed);
        },
      ),
      runs(150),
    );
  });
});

describe('error messages for specific bad inputs', { timeout: 60_000 }, () => {
  const rwnd = [...MAGIC];

  it('an empty buffer is reported as empty', () => {
    expect(() => TraceReader.parse(new Uint8Array(0))).toThrow(TraceError);
    expect(() => TraceReader.parse(new Uint8Array(0))).toThrow(/is empty \(0 bytes\)/);
  });

  it('bytes that do not start with RWND are "not a rewind recording"', () => {
    const isMagicPrefix = (b: Uint8Array) => b.length < MAGIC.length && b.every((x, i) => x === rwnd[i]);
    fc.assert(
      fc.property(
        fc
          .uint8Array({ minLength: 1, maxLength: 100 })
          .filter((b) => !isMagicPrefix(b) && !(b.length >= 4 && MAGIC.equals(b.subarray(0, 4)))),
        (b) => {
          expect(() => TraceReader.parse(b)).toThrow(TraceError);
          expect(() => TraceReader.parse(b)).toThrow(/is not a rewind recording/);
        },
      ),
      runs(200),
    );
  });

  it('a prefix of the signature is "cut short"', () => {
    for (let n = 1; n <= 4; n++)
      expect(() => TraceReader.parse(Uint8Array.from(rwnd.slice(0, n)))).toThrow(
        /cut short after \d+ bytes?, inside its header/,
      );
  });

  it('a newer format version is "written by a newer rewind"', () => {
    expect(() => TraceReader.parse(Uint8Array.from([...rwnd, 99]))).toThrow(/newer rewind \(trace format 99/);
    fc.assert(
      fc.property(fc.integer({ min: FORMAT_VERSION + 1, max: 255 }), fc.uint8Array({ maxLength: 50 }), (v, rest) => {
        expect(() => TraceReader.parse(Uint8Array.from([...rwnd, v, ...rest]))).toThrow(TraceError);
        expect(() => TraceReader.parse(Uint8Array.from([...rwnd, v, ...rest]))).toThrow(
          new RegExp(`newer rewind \\(trace format ${v};`),
        );
      }),
      runs(50),
    );
  });

  it('format version 0 is invalid', () => {
    expect(() => TraceReader.parse(Uint8Array.from([...rwnd, 0, 1, 0xc0]))).toThrow(/invalid format version \(0\)/);
  });

  it('a changed byte inside a complete chunk fails its checksum', () => {
    fc.assert(
      fc.property(
        fc.array(opArb({ big: false }), { minLength: 1, maxLength: 30 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (ops, chunkPick, posPick, x) => {
          const header = makeHeader();
          const { path: p, events } = writeLog(header, ops);
          const bytes = fs.readFileSync(p);
          fs.rmSync(p);
          fc.pre(events > 0);
          const lay = layoutOf(bytes, header);
          const c = lay.chunks[chunkPick % lay.chunks.length];
          // anywhere in the payload or the stored checksum
          const span = c.end - (c.start + 4);
          const pos = c.start + 4 + (posPick % span);
          bytes[pos] ^= x;
          expect(() => TraceReader.parse(bytes)).toThrow(TraceError);
          expect(() => TraceReader.parse(bytes)).toThrow(
            new RegExp(`corrupt: the chunk at byte ${c.start} fails its checksum`),
          );
        },
      ),
      runs(100),
    );
  });

  it('a zero or huge chunk length is an impossible length', () => {
    const pre = encodePreamble(makeHeader());
    const zero = Buffer.concat([pre, Buffer.alloc(CHUNK_HEADER_BYTES)]);
    expect(() => TraceReader.parse(zero)).toThrow(/impossible length \(0\)/);
    const huge = Buffer.concat([pre, Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0])]);
    expect(() => TraceReader.parse(huge)).toThrow(/impossible length \(4294967295\)/);
  });

  it('a header that is not a trace header is corrupt', () => {
    const h = Buffer.from([0x93, 1, 2, 3]); // msgpack [1,2,3]
    expect(() => TraceReader.parse(Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION, h.length]), h]))).toThrow(
      /corrupt header \(the header is not an object\)/,
    );
    const bad = Buffer.from([0xc1]); // msgpack "never used"
    expect(() => TraceReader.parse(Buffer.concat([MAGIC, Buffer.from([FORMAT_VERSION, 1]), bad]))).toThrow(
      /has a corrupt header/,
    );
  });

  it('open() explains a missing file and a directory', () => {
    expect(() => TraceReader.open(path.join(dir, 'nope.rwnd'))).toThrow(/there is no recording at/);
    expect(() => TraceReader.open(dir)).toThrow(/is a directory, not a log file/);
  });

  it('an event cut off at the end of a complete (checksummed) chunk is corruption, not truncation', () => {
    const pre = encodePreamble(makeHeader());
    // a wall reading, then a RandomUUID with only 3 of its 16 bytes
    const payload = Buffer.from([Tag.DateNow, 2, Tag.RandomUUID, 1, 2, 3]);
    expect(() => TraceReader.parse(Buffer.concat([pre, encodeChunk(0, payload)]))).toThrow(
      /corrupt: event 2 cannot be decoded \(field of 16 bytes runs past the end\)/,
    );
    // the same bytes in a chunk that is itself cut off: the complete first event is kept
    const ok = encodeChunk(0, Buffer.from([Tag.DateNow, 2]));
    const t = TraceReader.parse(Buffer.concat([pre, ok, encodeChunk(1, payload).subarray(0, CHUNK_HEADER_BYTES + 4)]));
    expect(t.truncated).toMatch(/cut off \(4 of 6 bytes\)/);
    expect(t.eventCount).toBe(2);
  });

  it('clock readings and timer turns, stepped over by the checking scan, are judged as decoding them would', () => {
    // Every tag the scan steps over, by the number of varints its table says: whether that
    // number is the event's layout is what decoding each event, below, tells.
    const tags = [...VARINTS_ONLY.keys()];
    const ONE_VARINT = tags.filter((t) => VARINTS_ONLY[t] === 1);
    const TWO_VARINTS = tags.filter((t) => VARINTS_ONLY[t] === 2);
    expect(ONE_VARINT).toContain(Tag.DateNow);
    expect(TWO_VARINTS).toContain(Tag.Immediate);
    // Events of varints only, each varint well formed, over 8 bytes long, or cut by the chunk's end.
    const varint = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 2 ** 40 }).map((v) => [...putVarintBytes(v)]) },
      { weight: 1, arbitrary: fc.constant([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) },
      { weight: 1, arbitrary: fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 3 }) },
    );
    const event = fc
      .tuple(fc.constantFrom(...ONE_VARINT, ...TWO_VARINTS), fc.array(varint, { minLength: 2, maxLength: 2 }))
      .map(([tag, [a, b]]) => [tag, ...a, ...(TWO_VARINTS.includes(tag) ? b : [])]);
    const pre = encodePreamble(makeHeader());
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 12 }), (events) => {
        const payload = Uint8Array.from(events.flat());
        // What decoding event by event says: how many there are, or which one is bad and why.
        let expected: RegExp | number;
        const c = new ByteCursor(payload);
        const st = new DecodeState(makeHeader());
        let n = 0;
        try {
          while (c.pos < c.end) decodeEvent(c, st, ++n);
          expected = n;
        } catch (e) {
          const why = (e as Error).message.replace(/[()]/g, '\\$&');
          expected = new RegExp(`is corrupt: event ${n} cannot be decoded \\(${why}\\)`);
        }
        const log = Buffer.concat([pre, encodeChunk(0, payload)]);
        if (typeof expected === 'number') expect(TraceReader.parse(log).eventCount).toBe(expected);
        else expect(() => TraceReader.parse(log)).toThrow(expected);
      }),
      runs(500),
    );
  });

  it('an unknown tag inside a complete chunk is corruption, not truncation', () => {
    const pre = encodePreamble(makeHeader());
    const payload = Buffer.from([Tag.DateNow, 0, 0xee]);
    expect(() => TraceReader.parse(Buffer.concat([pre, encodeChunk(0, payload)]))).toThrow(
      /event 2 cannot be decoded \(unknown event tag 238\)/,
    );
  });
});

describe('FastPacker: the fast path of Call and Callback payloads', () => {
  const GAVE_UP = Symbol('gave up');
  const fast = (v: unknown, encoded: boolean): unknown => {
    const f = new FastPacker();
    return (encoded ? f.raw(v) : f.value(v)) ? unpack(f.buf.subarray(0, f.pos)) : GAVE_UP;
  };
  // What the general path stores: pack(encodeValue(v)) for a program's value, pack(v) for an encoded one.
  const general = (v: unknown, encoded: boolean): unknown => unpack(pack(encoded ? v : encodeValue(v)));

  it('decodes as the general path does, or gives up', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withNullPrototype: true,
          withTypedArray: true,
          withSparseArray: true,
          withDate: true,
          withBigInt: true,
          withMap: true,
          withSet: true,
          withUnicodeString: true,
        }),
        fc.boolean(),
        (v, encoded) => {
          const got = fast(v, encoded);
          if (got !== GAVE_UP) expect(got).toEqual(general(v, encoded));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('always takes the fast path for JSON-like data with ASCII text', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary-ascii' }), fc.boolean(), (v, encoded) => {
        if (JSON.stringify(v)?.includes('"__proto__"')) return; // an own __proto__ key goes the general way
        const got = fast(v, encoded);
        expect(got).not.toBe(GAVE_UP);
        expect(got).toEqual(general(v, encoded));
      }),
      { numRuns: 2000 },
    );
  });

  it("a synchronous fs call's event written from its arguments (TraceWriter.returned) is the bytes call() writes for its summary", () => {
    // The kinds whose summaries hold the arguments (write kinds summarize their data: always the general way).
    const kinds: Kind[] = ['plain', 'open', 'close', 'stat', 'readFile', 'read', 'statfs', 'openHandle'];
    const arg = fc.oneof(
      fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
      fc.double(),
      fc.string({ unit: 'binary-ascii', maxLength: 80 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.boolean(),
      fc.constantFrom(null, undefined, () => 0, Symbol('s'), {}, [1, 2], 7n),
      fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    );
    const value = fc.oneof(
      fc.integer(),
      fc.constant(undefined),
      fc.constant(0), // SAME
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 50 })),
      fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }),
    );
    const logged = (write: (w: TraceWriter) => void): Buffer => {
      const p = freshPath();
      const w = new TraceWriter(p, makeHeader(), false);
      write(w);
      w.close();
      return fs.readFileSync(p);
    };
    let packedDirectly = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.array(arg, { maxLength: 6 }),
        value,
        fc.boolean(),
        (kind, args, v, enc) => {
          if (packSummary(new FastPacker(), kind, args)) packedDirectly++;
          const viaSummary = logged((w) =>
            w.call(9, { args: summarize(kind, 'sync', args), status: 1, value: v }, false, enc),
          );
          const direct = logged((w) =>
            w.returned(
              9,
              { pack: (f, a: unknown[]) => packSummary(f, kind, a), summary: (a) => summarize(kind, 'sync', a) },
              args,
              v,
              enc,
            ),
          );
          expect(direct.equals(viaSummary)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
    // The property is about the direct path: most generated calls must take it.
    expect(packedDirectly).toBeGreaterThan(50);
  });

  it('a call made while another is being packed (a getter of its arguments) is logged first, both whole', () => {
    const p = path.join(dir, 'nested.rwnd');
    const w = new TraceWriter(p, makeHeader());
    const args = {
      path: 'a.txt',
      get flags() {
        w.call(7, { args: ['inner', 'b.txt'], status: 1, value: { size: 3 } }, false, false);
        return 'r';
      },
    };
    w.call(6, { args, status: 1, value: ['outer', 1.5] }, false, false);
    w.close();
    const calls = [...TraceReader.events(TraceReader.open(p))]
      .filter((e) => e.tag === Tag.Call)
      .map((e) => [e.api, e.call]);
    expect(calls).toEqual([
      [7, { args: ['inner', 'b.txt'], status: 1, value: { size: 3 } }],
      [6, { args: { path: 'a.txt', flags: 'r' }, status: 1, value: ['outer', 1.5] }],
    ]);
  });

  it('takes the fast path for the shapes fs calls produce, Stats and Dirents included', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-fastpack-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.txt'), 'a');
      const values: unknown[] = [
        ['sync', path.join(dir, 'a.txt'), 'utf8'],
        ['cb', dir, { withFileTypes: true, recursive: false }],
        fs.statSync(dir),
        fs.readdirSync(dir, { withFileTypes: true }),
        [null, Buffer.from('bytes'), 3.25, -7, 2 ** 40, true],
        'x'.repeat(70_000),
        undefined, // what close() and other void calls return
        [undefined, { a: undefined }],
      ];
      for (const v of values) {
        const got = fast(v, false);
        expect(got, JSON.stringify(v)?.slice(0, 80)).not.toBe(GAVE_UP);
        expect(got).toEqual(general(v, false));
        expect(decodeValue(got)).toEqual(decodeValue(general(v, false)));
      }
      // Non-ASCII text, Dates and errors go the general way.
      for (const v of ['héllo', new Date(0), new Error('x'), JSON.parse('{"__proto__": 1}')])
        expect(fast(v, false)).toBe(GAVE_UP);
      // undefined in msgpackr's own bytes (fixext 1 of type 0), so old readers see the same thing.
      const f = new FastPacker();
      expect(f.raw([undefined])).toBe(true);
      expect(Buffer.from(f.buf.subarray(0, f.pos))).toEqual(pack([undefined]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A worker thread's log is finished by its parent when the thread is stopped (terminate(), or
// its process ending) before it closed the log itself. The worker may have written its own end
// record already (it ended as the parent stopped it: bree's jobs, a pool's last task): then
// that one stands, and the parent adds none (two end records made the replay wait forever).
describe("a worker's log finished by its parent", () => {
  const natural = { code: 0, signal: null, via: 'natural' } as const;
  const terminated = { code: 1, signal: null, via: 'terminated' } as const;
  const ends = (p: string) =>
    [...TraceReader.events(TraceReader.open(p))].filter((e) => e.tag === Tag.End).map((e) => e.end?.via);

  /** A worker's writer on a shared tail, with a few events; `stop` says how far it got. */
  function stopped(stop: 'running' | 'ended' | 'ended+flushed' | 'closed'): string {
    const p = freshPath();
    const w = new TraceWriter(p, makeHeader());
    const tail = new SharedArrayBuffer(Tail.BYTES);
    w.share(tail);
    w.wall(Tag.DateNow, START_WALL + 1);
    w.turn(Tag.Immediate, 1, 5);
    if (stop !== 'running') w.end(natural);
    if (stop === 'ended+flushed') w.flush();
    if (stop === 'closed') w.close();
    finishWorkerLog(tail, p, terminated, false);
    return p;
  }

  it('stopped before its end record: the parent writes the events and its own', () => {
    expect(ends(stopped('running'))).toEqual(['terminated']);
  });

  it('stopped after its end record, in the tail or on disk: that one alone', () => {
    expect(ends(stopped('ended'))).toEqual(['natural']);
    expect(ends(stopped('ended+flushed'))).toEqual(['natural']);
    expect(ends(stopped('closed'))).toEqual(['natural']);
  });

  it("the parent's end record is the bytes the worker's own writer would have written", () => {
    const infos: EndInfo[] = [
      terminated,
      natural,
      { code: null, signal: 'SIGTERM', via: 'signal' },
      { code: 70000, signal: null, via: 'exit' },
      { code: -1, signal: null, via: 'uncaught' },
    ];
    for (const info of infos) {
      const p = freshPath();
      const w = new TraceWriter(p, makeHeader(), false);
      w.end(info);
      w.close();
      const file = fs.readFileSync(p);
      const payload = file.subarray(encodePreamble(makeHeader()).length + CHUNK_HEADER_BYTES);
      expect(Buffer.from(payload), JSON.stringify(info)).toEqual(encodeEnd(info));
      expect([...TraceReader.events(TraceReader.open(p))].map((e) => e.end)).toEqual([info]);
    }
  });

  it('the events before the end are kept in each case', () => {
    for (const stop of ['running', 'ended', 'ended+flushed', 'closed'] as const) {
      const tags = [...TraceReader.events(TraceReader.open(stopped(stop)))].map((e) => e.tag);
      expect(tags, stop).toEqual([Tag.DateNow, Tag.Immediate, Tag.End]);
    }
  });
});

// A log is created with its header in one step (createLog): a thread stopped between creating
// its log and writing the header (worker.terminate(), its process ending) left a 0-byte log,
// which every reader of the recording refused as corrupt.
describe('creating a log', () => {
  it('is never seen without its header, by a thread watching the directory as it is created', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'create-'));
    // A large header (a large environment) is slow to encode and write: a wide window.
    const header = makeHeader(START_WALL, { env: { FILLER: 'x'.repeat(1 << 20) } });
    const shared = new Int32Array(new SharedArrayBuffer(12)); // [log to watch, acknowledged, stop]
    const watcher = new Worker(
      `const fs = require('node:fs');
      const { workerData: { sub, shared } } = require('node:worker_threads');
      const s = new Int32Array(shared);
      let empty = 0, whole = 0;
      while (Atomics.load(s, 2) === 0) {
        const i = Atomics.load(s, 0);
        Atomics.store(s, 1, i);
        let size = -1;
        try { size = fs.statSync(sub + '/c' + i + '.rwnd').size; } catch {}
        if (size === 0) empty++;
        else if (size > 0) whole++;
      }
      require('node:worker_threads').parentPort.postMessage({ empty, whole });`,
      { eval: true, workerData: { sub, shared: shared.buffer } },
    );
    const result = new Promise<{ empty: number; whole: number }>((resolve, reject) => {
      watcher.once('message', resolve);
      watcher.once('error', reject);
    });
    for (let i = 1; i <= 20; i++) {
      Atomics.store(shared, 0, i);
      while (Atomics.load(shared, 1) !== i); // the watcher looks for this one now
      new TraceWriter(path.join(sub, `c${i}.rwnd`), header).close();
    }
    Atomics.store(shared, 2, 1);
    const seen = await result;
    expect(seen.empty).toBe(0);
    expect(seen.whole).toBeGreaterThan(0);
    // Only the logs: no name it was made under is left behind.
    expect(fs.readdirSync(sub).filter((f) => !f.endsWith('.rwnd'))).toEqual([]);
    expect(fs.statSync(path.join(sub, 'c1.rwnd')).size).toBe(encodePreamble(header).length);
  });

  it('never replaces a log that is there (EEXIST, which the caller answers with another name), and leaves nothing of its own', () => {
    const p = freshPath();
    fs.writeFileSync(p, 'another process');
    let err: NodeJS.ErrnoException | null = null;
    try {
      new TraceWriter(p, makeHeader());
    } catch (e) {
      err = e as NodeJS.ErrnoException;
    }
    expect(err?.code).toBe('EEXIST');
    expect(fs.readFileSync(p, 'utf8')).toBe('another process');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(p)))).toEqual([path.basename(p)]);
  });

  it('a log the writer made holds its header, and the events written after it', () => {
    const p = freshPath();
    const w = new TraceWriter(p, makeHeader());
    expect(fs.statSync(p).size).toBe(w.preamble.length);
    expect(fs.statSync(p).mode & 0o777).toBe(0o600);
    w.wall(Tag.DateNow, START_WALL + 1);
    w.close();
    expect([...TraceReader.events(TraceReader.open(p))].map((e) => e.wall)).toEqual([START_WALL + 1]);
  });

  it("a worker's empty log (stopped before its header was written) stays empty when its parent finishes it, not a chunk without a header", () => {
    const p = freshPath();
    fs.writeFileSync(p, '');
    finishWorkerLog(new SharedArrayBuffer(Tail.BYTES), p, { code: 1, signal: null, via: 'terminated' }, false);
    expect(fs.statSync(p).size).toBe(0);
  });
});
