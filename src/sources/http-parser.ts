// http-parser: an HTTP server's connections read by Node's native parser. Node hands a
// server's socket to its HTTP parser (`parser.consume(handle)`), which then reads the
// socket in C++ and calls into JS only with what it parsed: a request's head, a piece of
// its body, the request's end, and after each read "executed" with the bytes parsed or a
// parse error. Those calls are where this connection's input crosses from native code into
// JS, so they are what is recorded: each is a callback of the parser's op, with its
// arguments; the first one of a read is the turn, the others are nested in it.
//
// Recording keeps Node's native path (no 'data' events, no Readable machinery per chunk):
// a server records at close to its plain speed. At replay the socket is inert and no
// parser reads it: the logged callbacks are made again, in the same order, with the same
// arguments, and the parser's few calls that answer from its native state (finish, the
// current buffer) answer from the log.
//
// Recordings made under --chaos keep the socket-level path (streams.ts): chaos holds and
// reorders reads, which a native parser reading by itself would not let it do. The header
// says which path a recording took (TraceHeader.httpParser); replay takes the same one.
import { httpConnectionsClass, httpParserClass } from '../node/internals.js';
import { bindings } from '../session/bindings.js';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';
import { handleState, isInert } from './streams.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Parser = any;
type Handle = any;
type Callback = (this: Parser, ...args: unknown[]) => unknown;

/** The parser's callback slots (HTTPParser.kOnMessageBegin ... kOnExecute: 0 to 5 on Node 20-24). */
interface Slots {
  begin: number;
  headers: number;
  headersComplete: number;
  body: number;
  complete: number;
  execute: number;
}

/** One consume() of a parser: the connection it reads, and the op its callbacks are turns of. */
interface Consumed {
  op: number;
  handle: Handle;
  /** Until unconsume(). */
  active: boolean;
  /** Record: inside a JS-initiated execute(), whose callbacks the replay's parser makes itself. */
  executing: number;
}

const kConsumed = Symbol('rewind.httpParser');

/** Whether a recording without chaos can take HTTP servers' input at the parser's boundary (TraceHeader.httpParser). */
export function parserBoundary(): boolean {
  return httpParserClass() !== null && slotsOf(httpParserClass()) !== null && httpConnectionsClass() !== null;
}

function slotsOf(P: any): Slots | null {
  const s: Slots = {
    begin: P.kOnMessageBegin,
    headers: P.kOnHeaders,
    headersComplete: P.kOnHeadersComplete,
    body: P.kOnBody,
    complete: P.kOnMessageComplete,
    execute: P.kOnExecute,
  };
  return Object.values(s).every((v) => Number.isInteger(v)) ? s : null;
}

/** A native parse error (an Error with bytesParsed, code and reason), as logged. */
interface LoggedError {
  message: string;
  stack: string;
  bytesParsed: unknown;
  code: unknown;
  reason: unknown;
}

// ---- recording ---------------------------------------------------------------------------

function recordParser(s: RecordSession, P: any, slots: Slots): void {
  const proto = P.prototype;
  const api = Api['http.parser'];

  /** A callback's arguments as logged: [slot, ...arguments], undefined as null (no argument is null). */
  const logged = (slot: number, args: IArguments, c: Consumed): unknown[] => {
    const out: unknown[] = [slot];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      out.push(a === undefined ? null : a);
    }
    if (slot === slots.execute) {
      const ret = out[1];
      if (ret instanceof Error) {
        const e = ret as Error & Record<string, unknown>;
        out[1] = { message: e.message, stack: e.stack ?? '', bytesParsed: e.bytesParsed, code: e.code, reason: e.reason };
      }
      // What the connection has read so far (socket.bytesRead), which an inert handle cannot count.
      out.push(c.handle.bytesRead);
    }
    return out;
  };
  const wrap = (slot: number, fn: Callback): Callback =>
    function (this: Parser) {
      const c: Consumed | undefined = this[kConsumed];
      if (c !== undefined && c.active && c.executing === 0) s.callback(c.op, api, logged(slot, arguments, c));
      return fn.apply(this, arguments as unknown as unknown[]);
    };
  // Node sets a parser's slots at different times (the execute slot right after consume,
  // the others once per parser, which a free list reuses): an accessor on each consumed
  // parser wraps whatever function is put there. The native side reads the slot through
  // it, and must get the wrapper; Node's JS only writes the slots.
  const kFns = Symbol('rewind.httpParser.fns');
  const accessor = (slot: number): PropertyDescriptor => ({
    configurable: true,
    enumerable: true,
    get(this: Parser) {
      return this[kFns][slot];
    },
    set(this: Parser, fn: unknown) {
      this[kFns][slot] = typeof fn === 'function' ? wrap(slot, fn as Callback) : fn;
    },
  });
  const watch = (parser: Parser): void => {
    if (parser[kFns]) return;
    parser[kFns] = [];
    for (const slot of Object.values(slots)) {
      const fn = parser[slot];
      Object.defineProperty(parser, slot, accessor(slot));
      parser[slot] = fn;
    }
  };

  const consume = proto.consume;
  proto.consume = function (this: Parser, handle: Handle) {
    const st = handleState(handle);
    if (!st) return consume.call(this, handle);
    watch(this);
    this[kConsumed] = { op: s.newOp(), handle, active: true, executing: 0 } satisfies Consumed;
    return consume.call(this, handle);
  };
  const unconsume = proto.unconsume;
  proto.unconsume = function (this: Parser) {
    const c: Consumed | undefined = this[kConsumed];
    if (c !== undefined) c.active = false;
    return unconsume.call(this);
  };
  const execute = proto.execute;
  proto.execute = function (this: Parser) {
    const c: Consumed | undefined = this[kConsumed];
    if (c === undefined || !c.active) return execute.apply(this, arguments);
    c.executing++;
    try {
      return execute.apply(this, arguments);
    } finally {
      c.executing--;
    }
  };
  answered(s, proto, (parser) => {
    const c: Consumed | undefined = parser[kConsumed];
    return c !== undefined && c.active ? c : null;
  });
}

/**
 * The parser's calls that answer from what it read natively: finish() (a parse error when
 * the connection ended mid-request) and getCurrentBuffer() (the read an upgrade continues
 * with). Logged while the parser reads a connection; served from the log at replay.
 */
function answered(
  s: Session,
  proto: any,
  consumed: (parser: Parser) => Consumed | null,
  before?: (parser: Parser, c: Consumed) => void,
): void {
  const finish = proto.finish;
  proto.finish = function (this: Parser) {
    const c = consumed(this);
    if (c === null) return finish.call(this);
    before?.(this, c);
    return s.call(Api['http.parserFinish'], { p: c.op }, () => finish.call(this) as unknown);
  };
  const current = proto.getCurrentBuffer;
  proto.getCurrentBuffer = function (this: Parser) {
    const c = consumed(this);
    if (c === null) return current.call(this);
    const b = s.call(Api['http.parserBuffer'], { p: c.op }, () => current.call(this) as unknown);
    return b instanceof Uint8Array && !Buffer.isBuffer(b) ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : b;
  };
}

// ---- replay ------------------------------------------------------------------------------

function replayParser(s: ReplaySession, P: any, slots: Slots): void {
  const proto = P.prototype;
  const api = Api['http.parser'];

  /** Makes one logged callback; returns its slot. */
  const deliver = (parser: Parser, c: Consumed, payload: unknown): number => {
    const logged = payload as unknown[];
    const slot = logged[0] as number;
    const args = logged.slice(1).map((a) => (a === null ? undefined : a));
    if (slot === slots.body && args[0] instanceof Uint8Array) args[0] = Buffer.from(args[0] as Uint8Array);
    if (slot === slots.execute) {
      const bytesRead = args.pop();
      const st = handleState(c.handle);
      if (st && typeof bytesRead === 'number') st.bytesRead = bytesRead;
      if (args[0] !== null && typeof args[0] === 'object') {
        const l = args[0] as LoggedError;
        const e = new Error(l.message) as Error & Record<string, unknown>;
        e.stack = l.stack;
        e.bytesParsed = l.bytesParsed;
        e.code = l.code;
        e.reason = l.reason;
        args[0] = e;
      }
    }
    const fn = parser[slot];
    if (typeof fn === 'function') fn.apply(parser, args);
    return slot;
  };
  /** The callbacks logged after the one that began this read (or a finish()), up to its end. */
  const rest = (parser: Parser, c: Consumed, slot: number): void => {
    while (slot !== slots.execute) {
      const next = s.takeCallback(c.op, api);
      if (!next) return;
      slot = deliver(parser, c, next.payload);
    }
  };

  const consume = proto.consume;
  proto.consume = function (this: Parser, handle: Handle) {
    if (!isInert(handle) || !handleState(handle)) return consume.call(this, handle);
    const c: Consumed = { op: s.newOp(), handle, active: true, executing: 0 };
    this[kConsumed] = c;
    const parser = this;
    s.register(c.op, {
      tag: Tag.Callback,
      api,
      repeat: true,
      what: 'an HTTP parser reading a connection',
      fire: (payload) => rest(parser, c, deliver(parser, c, payload)),
    });
    return undefined;
  };
  const unconsume = proto.unconsume;
  proto.unconsume = function (this: Parser) {
    const c: Consumed | undefined = this[kConsumed];
    if (c === undefined || !c.active) return unconsume.call(this);
    c.active = false;
    s.cancel(c.op);
    return undefined;
  };
  answered(
    s,
    proto,
    (parser) => {
      const c: Consumed | undefined = parser[kConsumed];
      return c !== undefined && c.active ? c : null;
    },
    // Callbacks the parser made inside finish() were logged before the call's result.
    (parser, c) => {
      for (let next = s.takeCallback(c.op, api); next; next = s.takeCallback(c.op, api)) deliver(parser, c, next.payload);
    },
  );
}

/**
 * A server's ConnectionsList answers which of its connections are idle (server.close()
 * closes those), active or open from its parsers' native state, which at replay never
 * read anything: the answers are logged, naming each parser by the order in which it was
 * initialized (the same in both runs). expired() is left alone: only the server's own
 * checking interval asks it, on a timer rewind does not see.
 */
function connectionLists(s: Session, P: any, C: any): void {
  const kId = Symbol('rewind.httpParser.id');
  const byId = new Map<number, WeakRef<Parser>>();
  let next = 0;
  const initialize = P.prototype.initialize;
  P.prototype.initialize = function (this: Parser) {
    const prev = this[kId];
    if (prev !== undefined) byId.delete(prev);
    this[kId] = ++next;
    byId.set(next, new WeakRef(this));
    return initialize.apply(this, arguments);
  };
  for (const name of ['all', 'idle', 'active']) {
    const real = C.prototype[name];
    if (typeof real !== 'function') continue;
    C.prototype[name] = function (this: unknown) {
      const ids = s.call(Api['http.connections'], name, () => (real.call(this) as Parser[]).map((p) => p[kId] ?? 0));
      const parsers: Parser[] = [];
      for (const id of ids as number[]) {
        const p = byId.get(id)?.deref();
        if (p !== undefined) parsers.push(p);
      }
      return parsers;
    };
  }
}

export const httpParserSource: Source = {
  name: 'http-parser',
  install(s: Session) {
    const b = bindings();
    if (s.header.httpParser !== true || !b) return;
    const P = httpParserClass();
    const slots = P ? slotsOf(P) : null;
    if (!P || !slots) return;
    // streams.ts keeps every stream handle from being consumed; TCP and Pipe handles may be now.
    delete b.StreamPrototype._consumed;
    connectionLists(s, P, httpConnectionsClass());
    if (s.mode === 'record') recordParser(s as RecordSession, P, slots);
    else replayParser(s as ReplaySession, P, slots);
  },
};
