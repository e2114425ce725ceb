// Stream handles: the libuv handles under net.Socket and net.Server, child-process pipes
// and stdin (TCP, Pipe, TTY). rewind sits at the boundary between Node's JavaScript and
// these handles. Every callback a handle makes into JS is a turn: bytes read (or the end
// of the stream), a write or shutdown completed later, a connection accepted or
// established, the handle closed. Every request JS makes of a handle (connect, bind,
// listen, write, shutdown) is a call, checked at replay.
//
// Recording wraps the real handles. At replay the handles Node creates stay inert — they
// never get a file descriptor, never touch the network — and rewind drives Node's own
// code with the logged callbacks, through the same entry points the native side uses
// (handle.onread with the shared stream state, req.oncomplete). Everything above the
// handle — net.Socket, http, fetch's undici, child_process, readline — runs unchanged in
// both modes, which is what keeps the two runs alike.
import { bindings, crc32, type Bindings } from '../node/bindings.js';
import { stdioHandle } from '../node/fields.js';
import { currentContext, type InContext } from '../session/async-context.js';
import { Delivery, Lane, type Chaos } from '../session/chaos.js';
import { ipcChannel } from '../node/symbols.js';
import { ownIo } from '../node/originals.js';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import { currentSession, type Session, type Source } from '../session/session.js';
import { httpParserClass } from '../node/internals.js';
import { stdioMaking, whenLoaded, whenStdio } from '../node/fields.js';
import { Api, Tag } from '../trace/format.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Handle = any;
type Req = any;
type Parser = any;

/** What rewind keeps on each handle it manages. */
export interface HandleState {
  /** The handle's op: its reads (and, for servers, its accepted connections) are turns of it. */
  op: number;
  /** Replay: the read op is registered with the dispatcher. */
  reading: boolean;
  /** Record: reads are being recorded (Node's first onread function). */
  onread: ((ab?: ArrayBuffer) => unknown) | null;
  /** Replay: what the native counters would say. */
  bytesRead: number;
  bytesWritten: number;
  queued: number;
  /** Record --chaos: where the handle's held deliveries wait, in order (see laneOf). */
  lane: Lane | null;
  /** The HTTP parser that consumed the handle (see consumedReads), or undefined. */
  parser?: Parser;
  /** Replay: the async context the handle was made in (its reads and close run there), and the consuming parser's. */
  context: InContext | null;
  parserContext?: InContext | null;
  /**
   * Record: whose buffer the native side reads into, when not a fresh one per read: the
   * program's (net.Socket's onread option) or rewind's (readBuffer, while a parser consumes).
   */
  readsInto?: 'program' | 'rewind';
}

const kState = Symbol('rewind.handle');
/** Handles rewind leaves alone: the program's stdout and stderr (see stdio.ts). */
const EXEMPT = Symbol('rewind.exempt');

/** The state of a handle rewind manages (created on first use), or null for an exempt one. */
export function handleState(h: Handle): HandleState | null {
  const st = h[kState];
  if (st) return st === EXEMPT ? null : st;
  if (stdioMaking.depth > 0) {
    exemptHandle(h);
    return null;
  }
  const fresh: HandleState = {
    op: currentSession().newOp(),
    reading: false,
    onread: null,
    bytesRead: 0,
    bytesWritten: 0,
    queued: 0,
    lane: null,
    context: currentContext(),
  };
  h[kState] = fresh;
  return fresh;
}

/**
 * Replay: a handle rewind keeps inert (everything but the program's stdout and stderr).
 * Unlike handleState this hands out no op id: ids must be handed out on the same calls
 * in both modes, and some calls are only intercepted at replay.
 */
export const isInert = (h: Handle): boolean =>
  h[kState] !== EXEMPT && !(stdioMaking.depth > 0 && !h[kState] && (exemptHandle(h), true));

/** Record --chaos: the lane of a handle's deliveries (reads, completions, its close). */
export const laneOf = (st: HandleState): Lane => (st.lane ??= new Lane(st.op, Delivery.Io));

/**
 * Records the completion of request `req` (a write, a shutdown, a connect) as a turn of
 * `op`, logging what `logged` takes from its arguments. Node's own function is put back
 * before it runs, so stack frames read as Node's ("[as oncomplete]"); under chaos the
 * completion may be held on the handle's lane.
 */
export function recordCompletion(
  s: RecordSession,
  st: HandleState,
  req: Req,
  op: number,
  api: number,
  logged: (args: IArguments) => unknown,
): void {
  let complete = req.oncomplete;
  const done = function (this: Req) {
    s.callback(op, api, logged(arguments));
    return complete.apply(this, arguments);
  };
  const wrapped = s.chaos === null ? done : s.chaos.wrap(laneOf(st), done, op);
  // Node may set oncomplete after the write returned (a forked child's IPC send does): what it
  // sets is what the completion calls, still logged first; before, its completion went unlogged
  // and the replayed channel stayed referenced (a child that unrefs it never ended).
  Object.defineProperty(req, 'oncomplete', {
    configurable: true,
    enumerable: true,
    get: () => wrapped,
    set(fn: unknown) {
      complete = fn;
    },
  });
}

/** The status a completion gets first. */
const firstArgument = (args: IArguments): unknown => args[0];

export function exemptHandle(h: Handle): void {
  if (h && typeof h === 'object' && !h[kState]) h[kState] = EXEMPT;
}

const WRITES = ['writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString', 'writeUcs2String'] as const;
const ENCODING: Record<(typeof WRITES)[number], BufferEncoding | null> = {
  writeBuffer: null,
  writeUtf8String: 'utf8',
  writeLatin1String: 'latin1',
  writeAsciiString: 'ascii',
  writeUcs2String: 'ucs2',
};

/** Where strings are encoded to be measured: one native copy, no allocation. */
const scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** What the last measure() found: the bytes' length and crc32 (kept here: no allocation per write). */
const measured = { length: 0, crc: 0 };

/**
 * Bytes of strings encoded into scratch and not yet added to `measured`: consecutive strings
 * (an http response's head and body) are added with one crc32 call.
 */
let encoded = 0;

/** Adds the strings encoded so far to `measured`. */
function addEncoded(): void {
  // An empty chunk adds nothing, and must not be measured: zlib's crc32 of a buffer with no
  // memory behind it (an empty Buffer that went through a native writev) is 0, not the crc so far.
  if (encoded === 0) return;
  measured.length += encoded;
  measured.crc = crc32(scratch.subarray(0, encoded), measured.crc);
  encoded = 0;
}

/** Encodings whose bytes for a string of ASCII characters are its UTF-8 bytes. */
const ONE_BYTE = new Set<unknown>(['latin1', 'binary', 'ascii']);

/**
 * Recording a write the native side took: its byte count is known (kBytesWritten), and
 * `measured.length` is not used, so a UTF-8 string is not measured, only hashed.
 */
let countedNatively = false;

/** Adds a chunk (bytes, or a string in `encoding`) to `measured`; call addEncoded() after the last. */
function addChunk(chunk: unknown, encoding: BufferEncoding | null): void {
  if (typeof chunk === 'string') {
    if (chunk.length === 0) return; // (see addEncoded)
    if (countedNatively && (encoding === 'utf8' || encoding === 'utf-8')) {
      addEncoded();
      measured.crc = crc32(chunk, measured.crc);
      return;
    }
    // crc32 takes a string as its UTF-8 bytes, without a copy of ours: the bytes written for
    // UTF-8, and for latin1 or ascii text that is all ASCII (an http response's head).
    if (encoding === null || encoding === 'utf8' || encoding === 'utf-8' || ONE_BYTE.has(encoding)) {
      const n = Buffer.byteLength(chunk, 'utf8');
      if (n === chunk.length || !ONE_BYTE.has(encoding)) {
        addEncoded();
        measured.length += n;
        measured.crc = crc32(chunk, measured.crc);
        return;
      }
    }
    // A string that surely fits (3 bytes per UTF-16 unit at most) is encoded into scratch.
    if (encoded + chunk.length * 3 <= scratch.length) {
      encoded += scratch.write(chunk, encoded, encoding ?? 'utf8');
      return;
    }
    addEncoded();
    chunk = Buffer.from(chunk, encoding ?? 'utf8');
  } else addEncoded();
  const bytes = chunk as Uint8Array;
  if (bytes.length === 0) return; // (see addEncoded)
  measured.length += bytes.length;
  measured.crc = crc32(bytes, measured.crc);
}

/** Length and crc32 of what one write call sends. */
function measure(data: unknown, encoding: BufferEncoding | null): typeof measured {
  measured.length = 0;
  measured.crc = 0;
  addChunk(data, encoding);
  addEncoded();
  return measured;
}

/** writev's chunk list: buffers, or [chunk, encoding, chunk, encoding, ...]. */
function measureChunks(chunks: unknown[], allBuffers: boolean): typeof measured {
  measured.length = 0;
  measured.crc = 0;
  if (allBuffers) for (let i = 0; i < chunks.length; i++) addChunk(chunks[i], null);
  else for (let i = 0; i < chunks.length; i += 2) addChunk(chunks[i], (chunks[i + 1] as BufferEncoding) ?? 'utf8');
  addEncoded();
  return measured;
}

const describeWrite = (len: number, data: unknown): string => {
  const head = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('latin1') : '';
  const text = head.length > 40 ? `${JSON.stringify(head.slice(0, 40))}…` : JSON.stringify(head);
  return `wrote ${len} bytes${head ? ` ${text}` : ''}`;
};

// ---- recording ---------------------------------------------------------------------------

/**
 * Makes the handle's reads turns of its op: recording wraps the onread function Node
 * installed; replay registers the op whose turns deliver the logged bytes. Called where
 * a handle may start reading: readStart, and (for TLS, whose native side reads without
 * being asked) where the TLS layer sets the handle up.
 */
export let watchReads: (h: Handle) => void = () => {};

/** The prototype that defines a handle's native `onread` slot. */
function onreadOwner(h: Handle): object {
  let p = Object.getPrototypeOf(h);
  while (p && !Object.prototype.hasOwnProperty.call(p, 'onread')) p = Object.getPrototypeOf(p);
  return p;
}

const kOnread = Symbol('rewind.onread');

function recordReads(s: RecordSession, b: Bindings): (h: Handle) => void {
  const sbs = b.streamBaseState;
  const wrap = (st: HandleState, inner: (ab?: ArrayBuffer) => unknown, pipe: boolean) =>
    function (this: Handle, ab?: ArrayBuffer) {
      const n = sbs[b.kReadBytesOrError];
      if (st.readsInto === 'rewind') return readIntoShared(this, st, n, inner);
      if (n > 0) {
        if (ab) s.streamRead(st.op, n, new Uint8Array(ab, sbs[b.kArrayBufferOffset], n));
        else s.unsupported('net.Socket onread option', 'reads into a user buffer are not logged');
      } else if (n < 0) s.streamRead(st.op, n, null);
      // A handle passed over an IPC pipe (a cluster worker's connection) came with the read.
      const passed = pipe && n > 0 ? this.pendingHandle : undefined;
      if (passed) s.callback(st.op, Api['ipc.handle'], passedKind(b, passed));
      if (n > 0 && ab && st.parser !== undefined) {
        parsed(st.parser, Buffer.from(ab, sbs[b.kArrayBufferOffset], n));
        return undefined;
      }
      return inner.call(this, ab);
    };
  /**
   * A read into readBuffer (see adoptReads): logged, then executed by the consuming parser
   * as Node's native consumer would, or, once no parser consumes the handle, handed to Node
   * in memory of its own, as its native reader hands it every read.
   */
  const readIntoShared = (h: Handle, st: HandleState, n: number, inner: (ab?: ArrayBuffer) => unknown): undefined => {
    // EAGAIN: Node's own reader does not call into JS for it.
    if (n === 0) return undefined;
    if (n < 0) {
      s.streamRead(st.op, n, null);
      inner.call(h, undefined);
      return undefined;
    }
    // A plain view (parser.execute takes any): cheaper to make than a Buffer, and kept for
    // the next read of that length (nothing holds on to it: see readMemory).
    const data = readView(n);
    s.streamRead(st.op, n, data);
    if (st.parser !== undefined) {
      parsed(st.parser, data);
      return undefined;
    }
    const own = new ArrayBuffer(n);
    new Uint8Array(own).set(data);
    sbs[b.kArrayBufferOffset] = 0;
    // Whatever it returns would become the next read's buffer.
    inner.call(h, own);
    return undefined;
  };
  // The native side calls whatever function sits in the handle's onread slot; Node
  // replaces it at times (an http Agent guards its idle sockets with its own). So once a
  // handle's reads are recorded, an accessor keeps a recording wrapper of what Node puts
  // there in the slot, while reading handle.onread still gives Node's function. The same
  // two accessor functions serve every handle: handles keep sharing their hidden class.
  const onread = {
    configurable: true,
    get(this: Handle) {
      return this[kOnread];
    },
    set(this: Handle, fn: unknown) {
      this[kOnread] = fn;
      const pipe = this instanceof b.Pipe;
      const recorded = typeof fn === 'function' ? wrap(this[kState], fn as (ab?: ArrayBuffer) => unknown, pipe) : fn;
      // TLS reads are left alone by chaos: the TLS layer calls back into JS from inside its own calls.
      const tls = b.TLSWrap !== null && this instanceof b.TLSWrap;
      Reflect.set(
        onreadOwner(this),
        'onread',
        s.chaos === null || tls || typeof recorded !== 'function'
          ? recorded
          : heldReads(s.chaos, b, this[kState], recorded as (ab?: ArrayBuffer) => unknown),
        this,
      );
    },
  };
  return (h) => {
    const st = handleState(h);
    if (!st || st.onread || typeof h.onread !== 'function') return;
    st.onread = h.onread;
    const node = h.onread;
    Object.defineProperty(h, 'onread', onread);
    h.onread = node;
  };
}

/**
 * Chaos: a read may be held. Node reads its result from the shared stream state (and an
 * IPC pipe's passed handle from the handle), which the next read overwrites: both are
 * saved with the held read and put back when it is delivered.
 */
function heldReads(c: Chaos, b: Bindings, st: HandleState, read: (this: Handle, ab?: ArrayBuffer) => unknown) {
  const sbs = b.streamBaseState;
  const lane = laneOf(st);
  const dropped = () => {};
  return function (this: Handle, ab?: ArrayBuffer) {
    const n = sbs[b.kReadBytesOrError];
    // Reads into the program's own buffer (the onread option): the next read reuses it.
    if (n > 0 && !ab) return read.call(this, ab);
    const offset = sbs[b.kArrayBufferOffset];
    const pending = this.pendingHandle;
    c.deliver(lane, { op: st.op, n: lane.n++, discard: dropped }, () => {
      sbs[b.kReadBytesOrError] = n;
      sbs[b.kArrayBufferOffset] = offset;
      if (pending !== undefined) this.pendingHandle = pending;
      read.call(this, ab);
    });
    return undefined;
  };
}

function replayReads(s: ReplaySession, b: Bindings): (h: Handle) => void {
  const sbs = b.streamBaseState;
  /** Hands Node the bytes (or the status) the recording has, as the native side would. */
  const deliver = (h: Handle, st: HandleState, x: unknown): void => {
    if (typeof x === 'number') {
      sbs[b.kReadBytesOrError] = x;
      h.onread(undefined);
      return;
    }
    const data = x as Uint8Array;
    const passed = s.takeCallback(st.op, Api['ipc.handle']);
    if (passed) h.pendingHandle = passedHandle(b, passed.payload as string);
    const n = data.length;
    st.bytesRead += n;
    if (st.parser !== undefined) {
      // As recording's reads (readIntoShared): in the one read buffer, which nothing holds
      // on to, not in memory of its own (an allocation per request).
      let view: Uint8Array;
      if (n <= readBuffer.length) {
        view = readView(n);
        view.set(data);
      } else view = Uint8Array.prototype.slice.call(data);
      // Node's parser calls into JS in its own resource's context (made as it consumed the handle).
      const parser = st.parser;
      if (st.parserContext) st.parserContext(() => parsed(parser, view));
      else parsed(parser, view);
      return;
    }
    const buf = Buffer.allocUnsafeSlow(n);
    buf.set(data);
    sbs[b.kReadBytesOrError] = n;
    sbs[b.kArrayBufferOffset] = 0;
    h.onread(buf.buffer);
  };
  return (h) => {
    const st = handleState(h);
    if (!st || st.reading) return;
    st.reading = true;
    s.register(
      st.op,
      {
        tag: Tag.StreamRead,
        repeat: true,
        what: 'a stream handle reading',
        fire: (x) => deliver(h, st, x),
      },
      st.context,
    );
  };
}

// ---- HTTP parsers consuming a handle ------------------------------------------------------
//
// An http server hands each connection's handle to its HTTP parser (parser.consume), which
// then reads it in C++: no 'data' event, no Readable buffering per chunk, only the parser's
// calls into JS. rewind takes the same path in both modes, from the read it logs (or
// replays): the parser executes the bytes, then its execute callback gets the result, as
// Node's native consumer does. A socket whose reads the parser does not consume (a 'data'
// listener unconsumes it, TLS, a server given another Duplex) reads as before.

/** The bytes of the read being handed to a consuming parser's execute callback: getCurrentBuffer(). */
let currentRead: Uint8Array | null = null;
/** Whether this session reads for consuming HTTP parsers (TraceHeader.httpConsume). */
let consuming = false;
let kOnExecute = 5;

/** A read consumed by `parser`, as Node's native consumer (the parser's OnStreamRead) handles it. */
function parsed(parser: Parser, buf: Uint8Array): void {
  const ret = parser.execute(buf);
  const cb = parser[kOnExecute];
  if (typeof cb !== 'function') return;
  currentRead = buf;
  try {
    cb.call(parser, ret);
  } finally {
    currentRead = null;
  }
}

/** parser.consume(handle) and its companions, for the handles rewind records or replays. */
function consumedReads(P: Parser, adopt: ((h: Handle, st: HandleState) => void) | null): void {
  const proto = P.prototype;
  kOnExecute = P.kOnExecute;
  const kHandle = Symbol('rewind.consumed');
  const consume = proto.consume;
  proto.consume = function (this: Parser, handle: Handle) {
    const st = handleState(handle);
    if (!st) return consume.call(this, handle);
    st.parser = this;
    st.parserContext = currentContext();
    this[kHandle] = st;
    if (adopt !== null) adopt(handle, st);
    return undefined;
  };
  const unconsume = proto.unconsume;
  proto.unconsume = function (this: Parser) {
    const st: HandleState | undefined = this[kHandle];
    if (st === undefined) return unconsume.call(this);
    this[kHandle] = undefined;
    if (st.parser === this) st.parser = undefined;
    return undefined;
  };
  const current = proto.getCurrentBuffer;
  proto.getCurrentBuffer = function (this: Parser) {
    // Native: a copy of the read, while the execute callback runs.
    if (currentRead !== null && this[kHandle] !== undefined) return Buffer.from(currentRead);
    return current.call(this);
  };
}

/**
 * Where recorded TCP and Pipe handles consumed by an HTTP parser read: one buffer, as Node's
 * native consumer reads into one buffer (its parser buffer) rather than into memory
 * allocated for each read. The parser is done with each read before the next one comes
 * (llhttp's partial header strings are copied out at the end of each execute), and the
 * program only ever gets a copy (getCurrentBuffer). 64 KiB: the size libuv is offered per read.
 */
const readMemory = new ArrayBuffer(64 * 1024);
const readBuffer = new Uint8Array(readMemory);
/** Views of readMemory's first n bytes, by n, for reads of up to KEPT_VIEWS bytes. */
const readViews: (Uint8Array | undefined)[] = [];
const KEPT_VIEWS = 2048;
/** readMemory's first n bytes. */
const readView = (n: number): Uint8Array =>
  n <= KEPT_VIEWS ? (readViews[n] ??= new Uint8Array(readMemory, 0, n)) : new Uint8Array(readMemory, 0, n);

/**
 * Record (without chaos, which holds reads for later): a handle a parser consumes reads
 * into readBuffer from now on (handle.useUserBuffer), when its reads are recorded by
 * recordReads and the program did not give it a buffer of its own.
 */
function adoptReads(b: Bindings): (h: Handle, st: HandleState) => void {
  const P = b.StreamPrototype;
  const useUserBuffer = P.useUserBuffer;
  if (typeof useUserBuffer !== 'function') return () => {};
  // Marked on the handle, not in its state: handleState() hands out op ids, which must go
  // the same way in both runs, and replay does not watch this call.
  P.useUserBuffer = function (this: Handle) {
    this[kProgramBuffer] = true;
    return useUserBuffer.apply(this, arguments);
  };
  return (h, st) => {
    if (h[kProgramBuffer] === true) st.readsInto = 'program';
    if (st.readsInto !== undefined || st.onread === null || !(h instanceof b.TCP || h instanceof b.Pipe)) return;
    useUserBuffer.call(h, readBuffer);
    st.readsInto = 'rewind';
  };
}

/** On a handle the program gave a buffer of its own to read into (net.Socket's onread option). */
const kProgramBuffer = Symbol('rewind.programBuffer');

/** What kind of handle came over an IPC pipe, and (replay) an inert one of that kind. */
function passedKind(b: Bindings, h: Handle): string {
  if (h instanceof b.TCP) return 'tcp';
  if (h instanceof b.Pipe) return 'pipe';
  return h?.constructor?.name ?? 'unknown';
}

function passedHandle(b: Bindings, kind: string): Handle {
  if (kind === 'tcp') return new b.TCP(b.TCPConstants.SOCKET);
  if (kind === 'pipe') return new b.Pipe(b.PipeConstants.SOCKET);
  return null;
}

/**
 * Node's own `name` of handle prototype P, kept on P under a symbol of rewind's: called as a
 * method of the handle, V8 calls the native function directly, where `write.call(handle, …)`
 * goes through its slow generic path for native functions (about 0.3 µs a write).
 */
function nativeMethod(P: any, name: string): symbol {
  const key = Symbol(`rewind.${name}`);
  Object.defineProperty(P, key, { value: P[name], configurable: true, writable: true });
  return key;
}

function recordStream(s: RecordSession, b: Bindings, P: any): void {
  const sbs = b.streamBaseState;

  const readStart = P.readStart;
  P.readStart = function (this: Handle) {
    watchReads(this);
    return readStart.call(this);
  };

  // A write's bytes are checked at replay (by crc32), never sent again. One that the
  // kernel could not take at once completes in a later turn. A write the native side took
  // counted its bytes (kBytesWritten, as Buffer.byteLength would for each chunk's encoding),
  // so they are not counted again; a replay counts them itself.
  const afterWrite = (st: HandleState, req: Req, err: number, len: number, crc: number): number => {
    const async = err === 0 && sbs[b.kLastWriteWasAsync] !== 0;
    if (err === 0) len = sbs[b.kBytesWritten];
    s.streamWrite(st.op, len, crc, err, async);
    if (async) recordCompletion(s, st, req, s.newOp(), Api['stream.writeDone'], firstArgument);
    return err;
  };
  for (const name of WRITES) {
    const write = P[name];
    const native = nativeMethod(P, name);
    // No `arguments`: it would be made on every call. The native methods take at most a
    // third argument (a handle to send over an IPC pipe); an undefined one is no argument.
    P[name] = function (this: Handle, req: Req, data: unknown, sendHandle?: unknown) {
      const st = handleState(this);
      if (!st) return write.call(this, req, data, sendHandle);
      const err = sendHandle === undefined ? this[native](req, data) : write.call(this, req, data, sendHandle);
      countedNatively = err === 0;
      const m = measure(data, ENCODING[name]);
      countedNatively = false;
      return afterWrite(st, req, err, m.length, m.crc);
    };
  }
  const writev = P.writev;
  const nativeWritev = nativeMethod(P, 'writev');
  P.writev = function (this: Handle, req: Req, chunks: unknown[], allBuffers: boolean) {
    const st = handleState(this);
    if (!st) return writev.call(this, req, chunks, allBuffers);
    const err = this[nativeWritev](req, chunks, allBuffers);
    countedNatively = err === 0;
    const m = measureChunks(chunks, allBuffers);
    countedNatively = false;
    return afterWrite(st, req, err, m.length, m.crc);
  };

  const shutdown = P.shutdown;
  P.shutdown = function (this: Handle, req: Req) {
    const st = handleState(this);
    if (!st) return shutdown.call(this, req);
    recordCompletion(s, st, req, s.newOp(), Api['stream.shutdown'], firstArgument);
    return s.call(Api['stream.shutdown'], { h: st.op }, () => shutdown.call(this, req));
  };
}

/**
 * The state of a handle being closed. A stream the program never read or wrote (a socket whose
 * DNS lookup failed before it connected) has none yet, but its close callback (the socket's
 * 'close' event) is still a turn of its own: it gets one here, in both runs alike.
 */
function closingState(b: Bindings, h: Handle, cb: unknown): HandleState | typeof EXEMPT | undefined {
  const st = h[kState];
  if (st || typeof cb !== 'function' || ownIo.depth > 0 || !Object.prototype.isPrototypeOf.call(b.StreamPrototype, h))
    return st;
  return handleState(h) ?? undefined;
}

function recordClose(s: RecordSession, b: Bindings): void {
  const close = b.HandlePrototype.close;
  b.HandlePrototype.close = function (this: Handle, cb?: () => void) {
    const st = closingState(b, this, cb);
    if (!st || st === EXEMPT) return close.apply(this, arguments);
    // Chaos: reads still held never arrive on a closed handle (nor does replay expect them).
    if (s.chaos !== null && st.lane !== null) s.chaos.discard(st.lane);
    if (typeof cb !== 'function') return close.apply(this, arguments);
    const op = s.newOp();
    const closed = function (this: Handle) {
      s.callback(op, Api['handle.close'], undefined);
      return cb.apply(this, arguments as unknown as []);
    };
    return close.call(this, s.chaos === null ? closed : s.chaos.wrap(laneOf(st), closed, op, Delivery.Close));
  };
}

// ---- replay ------------------------------------------------------------------------------

function replayStream(s: ReplaySession, b: Bindings, P: any): void {
  const sbs = b.streamBaseState;

  const readStart = P.readStart;
  P.readStart = function (this: Handle) {
    if (!isInert(this)) return readStart.call(this);
    watchReads(this);
    return 0;
  };
  const readStop = P.readStop;
  P.readStop = function (this: Handle) {
    return isInert(this) ? 0 : readStop.call(this);
  };

  const afterWrite = (st: HandleState, req: Req, len: number, crc: number, data: unknown): number => {
    const { status, async } = s.streamWrite(st.op, len, crc, () => `op #${st.op} ${describeWrite(len, data)}`);
    sbs[b.kBytesWritten] = len;
    sbs[b.kLastWriteWasAsync] = async ? 1 : 0;
    if (status !== 0) return status;
    if (!async) {
      st.bytesWritten += len;
      return 0;
    }
    st.queued += len;
    s.register(s.newOp(), {
      tag: Tag.Callback,
      api: Api['stream.writeDone'],
      repeat: false,
      what: 'a write completing',
      fire(done) {
        st.queued -= len;
        st.bytesWritten += len;
        req.oncomplete(done as number);
      },
    });
    return 0;
  };
  for (const name of WRITES) {
    const write = P[name];
    P[name] = function (this: Handle, req: Req, data: unknown) {
      const st = handleState(this);
      if (!st) return write.apply(this, arguments);
      const m = measure(data, ENCODING[name]);
      return afterWrite(st, req, m.length, m.crc, data);
    };
  }
  const writev = P.writev;
  P.writev = function (this: Handle, req: Req, chunks: unknown[], allBuffers: boolean) {
    const st = handleState(this);
    if (!st) return writev.apply(this, arguments);
    const m = measureChunks(chunks, allBuffers);
    return afterWrite(st, req, m.length, m.crc, chunks[0]);
  };

  const shutdown = P.shutdown;
  P.shutdown = function (this: Handle, req: Req) {
    const st = handleState(this);
    if (!st) return shutdown.call(this, req);
    const op = s.newOp();
    const err = s.call(Api['stream.shutdown'], { h: st.op }, () => 0);
    if (err === 0) {
      s.register(op, {
        tag: Tag.Callback,
        api: Api['stream.shutdown'],
        repeat: false,
        what: 'a shutdown completing',
        fire: (status) => req.oncomplete(status),
      });
    }
    return err;
  };

  // Inert handles: options that would reach the OS do nothing.
  const setBlocking = P.setBlocking;
  if (typeof setBlocking === 'function') {
    P.setBlocking = function (this: Handle) {
      return isInert(this) ? 0 : setBlocking.apply(this, arguments);
    };
  }
}

function replayClose(s: ReplaySession, b: Bindings): void {
  const close = b.HandlePrototype.close;
  b.HandlePrototype.close = function (this: Handle, cb?: () => void) {
    const st = closingState(b, this, cb);
    if (!st || st === EXEMPT) return close.apply(this, arguments);
    s.cancel(st.op); // no more reads or connections
    close.call(this); // frees the inert handle; its callback runs when the recording says
    if (typeof cb === 'function') {
      s.register(
        s.newOp(),
        {
          tag: Tag.Callback,
          api: Api['handle.close'],
          repeat: false,
          what: 'a handle closing',
          fire: () => cb.call(this),
        },
        st.context,
      );
    }
  };
}

/**
 * Replay: the byte counters Node reads from native handles (an inert one would say 0),
 * kept by rewind instead. The native accessors are not configurable where they are
 * defined, so each handle class's own prototype shadows them.
 */
export function replayCounters(prototypes: any[]): void {
  const counters: Record<string, (st: HandleState) => number> = {
    bytesRead: (st) => st.bytesRead,
    bytesWritten: (st) => st.bytesWritten,
    writeQueueSize: (st) => st.queued,
  };
  for (const proto of prototypes) {
    for (const [name, value] of Object.entries(counters)) {
      let get: (() => unknown) | undefined;
      for (let p = proto; p && !get; p = Object.getPrototypeOf(p)) get = Object.getOwnPropertyDescriptor(p, name)?.get;
      const own = Object.getOwnPropertyDescriptor(proto, name);
      if (!get || (own && !own.configurable)) continue;
      Object.defineProperty(proto, name, {
        configurable: true,
        enumerable: false,
        get(this: Handle) {
          const st = this[kState];
          return st && st !== EXEMPT ? value(st) : get!.call(this);
        },
      });
    }
  }
}

/**
 * Records or replays the stream methods (readStart, writes, shutdown) of one handle
 * prototype: LibuvStreamWrap's, shared by TCP, Pipe and TTY, or TLSWrap's (tls.ts).
 */
export function patchStreamMethods(s: Session, b: Bindings, P: any): void {
  // http's server would hand sockets to its native parser, which reads them without
  // calling into JS; on the JS path every chunk passes through onread, in both modes.
  // Where rewind reads for Node's HTTP parser (consumedReads), TCP and Pipe handles are let be consumed.
  if (!consuming || P !== b.StreamPrototype) {
    Object.defineProperty(P, '_consumed', { value: true, writable: true, configurable: true });
  }
  if (s.mode === 'record') recordStream(s, b, P);
  else replayStream(s, b, P);
}

export const streamsSource: Source = {
  name: 'streams',
  install(s: Session) {
    const b = bindings();
    if (!b) return;
    watchReads = s.mode === 'record' ? recordReads(s, b) : replayReads(s, b);
    // The program's stdout and stderr are outputs (stdio.ts): always real, never replayed.
    whenStdio((stream) => exemptHandle(stdioHandle(stream)));
    if (s.mode === 'record') recordClose(s, b);
    else {
      replayClose(s, b);
      replayCounters([b.TCP.prototype, b.Pipe.prototype, b.TTY.prototype]);
    }
    // Node's HTTP parser is taken over when node:http loads it (not at start-up); until then no
    // parser can consume a stream.
    consuming = s.header.httpConsume === true;
    if (consuming) {
      const adopt = s.mode === 'record' && s.chaos === null ? adoptReads(b) : null;
      whenLoaded('_http_common', () => {
        const parser = httpParserClass();
        if (parser) return consumedReads(parser, adopt);
        // Not where the header said (another Node): parsers read through 'data' events.
        consuming = false;
        Object.defineProperty(b.StreamPrototype, '_consumed', { value: true, writable: true, configurable: true });
      });
    }
    patchStreamMethods(s, b, b.StreamPrototype);
    // A forked child's IPC channel was opened, and started reading, before the preload
    // ran (which runs before the event loop first turns: nothing was read yet).
    const channel = ipcChannel();
    if (channel) watchReads(channel.handle);
  },
};
