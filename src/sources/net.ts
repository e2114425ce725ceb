// net: TCP and Pipe (unix socket) handles — binding, listening, accepting, connecting,
// addresses — on top of the stream-handle layer (streams.ts). A server's accepted
// connections are turns of its handle; a connection attempt completing is a turn of its
// own; addresses are values. At replay no port is bound and no connection is made: the
// handles stay inert and Node's net code receives the recorded outcomes.
//
// Socket timeouts (socket.setTimeout, which http uses for keep-alive) run on Node's
// private timer lists; they are moved onto the session's timers so that a timeout firing
// is a logged turn like any other.
import net from 'node:net';
import { bindings, type Bindings } from '../node/bindings.js';
import { kSocketTimeout } from '../node/symbols.js';
import { timerDelay, whenLoaded } from '../node/fields.js';
import { original } from '../node/originals.js';
import { inEmptyContext } from '../session/async-context.js';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';
import { handleState, isInert, laneOf, recordCompletion } from './streams.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Handle = any;
type Req = any;

const isPipe = (b: Bindings, h: Handle) => h instanceof b.Pipe;

/** The calls whose only effect is their return value (a status): logged, and served at replay. */
function statusCalls(s: Session, b: Bindings): void {
  const wrap = (proto: any, name: string, api: number, args: (h: Handle, a: unknown[]) => unknown) => {
    const real = proto[name];
    if (typeof real !== 'function') return;
    proto[name] = function (this: Handle, ...a: unknown[]) {
      const st = handleState(this);
      if (!st) return real.apply(this, a);
      return s.call(api, args(this, a), () => real.apply(this, a));
    };
  };
  for (const proto of [b.TCP.prototype, b.Pipe.prototype]) {
    wrap(proto, 'bind', Api['net.bind'], (h, [address, port]) => ({ h: handleState(h)!.op, address, port }));
    wrap(proto, 'bind6', Api['net.bind'], (h, [address, port, flags]) => ({
      h: handleState(h)!.op,
      address,
      port,
      flags,
    }));
    wrap(proto, 'open', Api['net.open'], (h, [fd]) => ({ h: handleState(h)!.op, fd }));
  }
  // Addresses fill an object the caller passes: logged as [status, info].
  for (const [name, api] of [
    ['getsockname', Api['net.getsockname']],
    ['getpeername', Api['net.getpeername']],
  ] as const) {
    const real = b.TCP.prototype[name];
    b.TCP.prototype[name] = function (this: Handle, out: Record<string, unknown>) {
      const st = handleState(this);
      if (!st) return real.call(this, out);
      const [err, info] = s.call(api, { h: st.op }, () => {
        const o: Record<string, unknown> = {};
        return [real.call(this, o), o] as [number, Record<string, unknown>];
      });
      Object.assign(out, info);
      return err;
    };
  }
}

// ---- recording ---------------------------------------------------------------------------

function recordNet(s: RecordSession, b: Bindings): void {
  for (const proto of [b.TCP.prototype, b.Pipe.prototype]) {
    for (const name of ['connect', 'connect6'] as const) {
      const real = proto[name];
      if (typeof real !== 'function') continue;
      proto[name] = function (this: Handle, req: Req, address: string, port?: number) {
        const st = handleState(this);
        if (!st) return real.apply(this, arguments);
        const op = s.newOp();
        const args = arguments;
        const err = s.call(Api['net.connect'], { h: st.op, address, port }, () => real.apply(this, args));
        // (status, handle, req, readable, writable): the handles are the program's own.
        if (err === 0) recordCompletion(s, st, req, op, Api['net.connect'], (a) => [a[0], a[3], a[4]]);
        return err;
      };
    }

    const listen = proto.listen;
    proto.listen = function (this: Handle, backlog: number) {
      const st = handleState(this);
      if (!st) return listen.call(this, backlog);
      const err = s.call(Api['net.listen'], { h: st.op, backlog }, () => listen.call(this, backlog));
      if (err === 0) {
        // Whatever function Node puts in the slot later is recorded too: cluster's primary
        // takes over its server's accepts (round-robin) after listening.
        let accept = this.onconnection;
        const accepted = function (this: Handle, status: number, client?: Handle) {
          s.callback(st.op, Api['net.connection'], status);
          if (client) handleState(client);
          return accept.apply(this, arguments);
        };
        const c = s.chaos;
        const recorded =
          c === null
            ? accepted
            : function (this: Handle, status: number, client?: Handle) {
                // Held until the server closes: then it was never accepted, and is closed.
                const lane = laneOf(st);
                c.deliver(lane, { op: st.op, n: lane.n++, discard: () => client?.close() }, () =>
                  accepted.call(this, status, client),
                );
              };
        Object.defineProperty(this, 'onconnection', {
          configurable: true,
          get: () => recorded,
          set: (fn: typeof accept) => {
            if (fn !== recorded) accept = fn;
          },
        });
      }
      return err;
    };
  }
}

// ---- replay ------------------------------------------------------------------------------

function replayNet(s: ReplaySession, b: Bindings): void {
  for (const proto of [b.TCP.prototype, b.Pipe.prototype]) {
    for (const name of ['connect', 'connect6'] as const) {
      const real = proto[name];
      if (typeof real !== 'function') continue;
      proto[name] = function (this: Handle, req: Req, address: string, port?: number) {
        const st = handleState(this);
        if (!st) return real.apply(this, arguments);
        const op = s.newOp();
        const err = s.call(Api['net.connect'], { h: st.op, address, port }, () => 0);
        if (err === 0) {
          s.register(op, {
            tag: Tag.Callback,
            api: Api['net.connect'],
            repeat: false,
            what: `a connection to ${port === undefined ? address : `${address}:${port}`}`,
            fire: (outcome) => {
              const [status, readable, writable] = outcome as [number, boolean, boolean];
              // Node cancels a connection attempt (autoSelectFamily) by clearing oncomplete.
              if (typeof req.oncomplete === 'function') req.oncomplete(status, this, req, readable, writable);
            },
          });
        }
        return err;
      };
    }

    const listen = proto.listen;
    proto.listen = function (this: Handle, backlog: number) {
      const st = handleState(this);
      if (!st) return listen.call(this, backlog);
      const err = s.call(Api['net.listen'], { h: st.op, backlog }, () => 0);
      if (err === 0) {
        const server = this;
        s.register(st.op, {
          tag: Tag.Callback,
          api: Api['net.connection'],
          repeat: true,
          what: 'a server accepting connections',
          fire: (status) => {
            // libuv makes an accepted connection's handle outside any JS: in no async context.
            const client =
              status === 0
                ? inEmptyContext(() => {
                    const h = isPipe(b, server) ? new b.Pipe(b.PipeConstants.SOCKET) : new b.TCP(b.TCPConstants.SOCKET);
                    handleState(h);
                    return h;
                  })
                : undefined;
            server.onconnection(status, client);
          },
        });
      }
      return err;
    };
  }
  // Options that would reach the OS do nothing on inert handles.
  for (const [proto, names] of [
    [b.TCP.prototype, ['setNoDelay', 'setKeepAlive', 'setTypeOfService']],
    [b.Pipe.prototype, ['fchmod', 'setPendingInstances']],
    [b.TTY.prototype, ['setRawMode']],
  ] as const) {
    for (const name of names) {
      const real = proto[name];
      if (typeof real !== 'function') continue;
      proto[name] = function (this: Handle) {
        return isInert(this) ? 0 : real.apply(this, arguments);
      };
    }
  }
}

/**
 * socket.setTimeout on the session's timers. Node's version (setStreamTimeout) arms a
 * timer on its private lists; this one arms a session timer under the same key, so
 * Node's activity refreshes (`_unrefTimer`) and clears reach it, and its firing is a turn.
 * Arguments Node would reject (or warn about) still go through Node's own version.
 */
function socketTimeouts(timers: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout }): void {
  const proto = net.Socket.prototype as any;
  const setStreamTimeout = proto.setTimeout;
  const kTimeout = kSocketTimeout();
  proto.setTimeout = function setTimeout(this: any, msecs: number, callback?: () => void) {
    const simple =
      typeof msecs === 'number' &&
      msecs >= 0 &&
      msecs <= 0x7fffffff &&
      (callback === undefined || typeof callback === 'function');
    if (!kTimeout || !simple || this.destroyed) {
      const result = setStreamTimeout.call(this, msecs, callback);
      const real = kTimeout ? this[kTimeout] : null;
      // Read before clearing, which resets it.
      const delay = kTimeout && real && !real[kSessionTimer] ? (timerDelay(real) ?? -1) : -1;
      if (kTimeout && delay > 0) {
        original.clearTimeout(real);
        this[kTimeout] = sessionTimer(this, delay);
      }
      return result;
    }
    this.timeout = msecs;
    const prev = this[kTimeout];
    if (prev) (prev[kSessionTimer] ? timers.clearTimeout : original.clearTimeout)(prev);
    if (msecs === 0) {
      if (callback) this.removeListener('timeout', callback);
    } else {
      this[kTimeout] = sessionTimer(this, msecs);
      if (callback) this.once('timeout', callback);
    }
    return this;
  };
  const sessionTimer = (socket: any, delay: number) => {
    const t = timers.setTimeout(() => socket._onTimeout(), delay) as any;
    t.unref();
    t[kSessionTimer] = true;
    return t;
  };
}
const kSessionTimer = Symbol('rewind.sessionTimer');

export const netSource: Source = {
  name: 'net',
  install(s: Session) {
    const b = bindings();
    if (!b) return;
    statusCalls(s, b);
    if (s.mode === 'record') recordNet(s, b);
    else replayNet(s, b);
    // Installed after the timers source: globalThis.setTimeout is the session's. As node:net
    // loads (not at start-up: see whenLoaded).
    whenLoaded('net', () =>
      socketTimeouts(globalThis as { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout }),
    );
  },
};
