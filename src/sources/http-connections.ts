// An http.Server's checks of its connections. Node keeps them in a native list (the
// ConnectionsList it hands each request parser's initialize()) whose queries answer from the
// parsers' native clocks and in native (pointer) order: which connections outlived
// headersTimeout/requestTimeout (the server's periodic check answers those with 408), which
// are idle (closeIdleConnections, server.close), all of them (closeAllConnections). Recording,
// each answer is logged as the parsers' numbers; at replay the log answers. Parsers are
// numbered in the order the program's servers initialized them, the same in both runs.
//
// The periodic check runs on a timer Node's http server module made with the timers it took
// when it loaded: if that was before rewind's (node:http loaded by an earlier preload), once
// the server listens, the timer is made again with the session's, so that each check is a
// turn of the log.
import net from 'node:net';
import timers from 'node:timers';
import { nodeLoaded, timerCallback, timerDelay, whenLoaded } from '../node/fields.js';
import { httpParserClass } from '../node/internals.js';
import { original } from '../node/originals.js';
import { symbolOn } from '../node/symbols.js';
import { replaying, type ResultCodec, type Session, type Source } from '../session/session.js';
import { Api } from '../trace/format.js';

type Query = (this: object, ...args: unknown[]) => object[];

/** ConnectionsList's methods that read native state; push and pop happen inside the parser. */
const QUERIES = ['all', 'idle', 'active', 'expired'];

export const httpConnectionsSource: Source = {
  name: 'http-connections',
  install(s: Session) {
    // Recordings made before rewind logged these queries replay them natively, as recorded;
    // a Node whose parser rewind cannot reach records them so (see httpParserReachable).
    if (s.header.httpConnections !== true) return;
    // node:http loaded after rewind (as it mostly is: not at start-up) makes its servers' check
    // timers with the session's timers already.
    if (nodeLoaded('_http_server')) checkOnSessionTimer(s, net.Server.prototype);
    // When node:http loads its parser.
    whenLoaded('_http_common', () => {
      const Parser = httpParserClass();
      if (Parser !== null) numberParsers(s, Parser);
    });
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function numberParsers(s: Session, Parser: any): void {
  const proto = Parser.prototype as { initialize: (...args: unknown[]) => unknown };
  const initialize = proto.initialize;
  const number = new WeakMap<object, number>();
  // A parser is pooled and initialized again for another connection: one entry per parser.
  const parsers = new Map<number, WeakRef<object>>();
  let last = 0;
  let listPrototype: object | null = null;
  const codec: ResultCodec<object[]> = {
    encode: (list) => list.map((p) => number.get(p) ?? 0),
    decode: (ns) =>
      (ns as number[]).map(
        (n) =>
          parsers.get(n)?.deref() ??
          replaying(s).mismatch(`an http server's connection #${n}, which this replay does not have`),
      ),
  };
  proto.initialize = function (this: object, ...args: unknown[]) {
    const r = initialize.apply(this, args);
    const list = args[4];
    if (typeof list !== 'object' || list === null) return r;
    const old = number.get(this);
    if (old !== undefined) parsers.delete(old);
    number.set(this, ++last);
    parsers.set(last, new WeakRef(this));
    const lp = Object.getPrototypeOf(list) as Record<string, Query>;
    if (listPrototype === null) {
      listPrototype = lp;
      for (const q of QUERIES) if (typeof lp[q] === 'function') lp[q] = recordedQuery(s, q, lp[q], codec);
    }
    return r;
  };
}

/** Where http.Server keeps its check's timer (found on a listening server). */
const CHECK_TIMER = 'http.server.connectionsCheckingInterval';

function checkOnSessionTimer(s: Session, proto: { listen(...args: unknown[]): unknown }): void {
  const listen = proto.listen;
  /** Servers whose 'listening' is watched, and the timers made on the session's. */
  const armed = new WeakSet<object>();
  const moved = new WeakSet<object>();
  const listening = function (this: Record<symbol, unknown>) {
    const k = symbolOn(this, CHECK_TIMER);
    const t = k === undefined ? undefined : (this[k] as object | undefined);
    if (k === undefined || !t) {
      const what = "an http server's periodic check of headersTimeout and requestTimeout";
      s.unsupported(what, `this Node keeps its timer where rewind does not find it (${CHECK_TIMER})`);
      return;
    }
    if (moved.has(t)) return;
    const check = timerCallback(t) as () => void;
    const delay = timerDelay(t); // before clearing it, which sets it to -1
    original.clearInterval(t as NodeJS.Timeout);
    const mine = timers.setInterval(check, delay).unref();
    moved.add(mine);
    this[k] = mine;
  };
  proto.listen = function (this: { on(e: string, f: () => void): void }, ...args: unknown[]) {
    // http and https servers (not loaded here: loading https in the preload changes what
    // other modules see), told by the option Node stored when it made them. The listener
    // runs after Node's own 'listening' listener (added then), which starts the timer.
    const isHttp = typeof (this as { connectionsCheckingInterval?: unknown }).connectionsCheckingInterval === 'number';
    if (isHttp && !armed.has(this)) {
      armed.add(this);
      this.on('listening', listening);
    }
    return listen.apply(this, args);
  };
  Object.defineProperty(proto.listen, 'name', { value: 'listen' });
}

function recordedQuery(s: Session, name: string, real: Query, codec: ResultCodec<object[]>): Query {
  return function (this: object, ...args: unknown[]) {
    return s.call(Api['http.connections'], [name, ...args], () => real.apply(this, args), codec);
  };
}
