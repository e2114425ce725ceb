// HTTP/2 (node:http2, and @grpc/grpc-js on top of it). Node's nghttp2 session would read
// and write its socket natively, past the stream-handle layer rewind records. Node falls
// back to a JavaScript stream (JSStreamSocket) for a socket whose handle is not a native
// StreamBase, and asks each handle whether it is one (`isStreamBase`) only there: so
// handles rewind manages say no, and every HTTP/2 byte then passes through the socket's
// recorded reads and checked writes. The nghttp2 session itself is deterministic given
// those bytes; it runs in both runs, fed from the log at replay, where nothing is sent.
//
// A server's responses carry a `date` header Node takes from its private clock: it is
// set from the recorded clock instead, as for HTTP/1 (http.ts).
import { bindings } from '../node/bindings.js';
import { ownerOf, serverOf } from '../node/symbols.js';
import { original } from '../node/originals.js';
import type { Session, Source } from '../session/session.js';
import { isInert } from './streams.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

let respondPatched = false;

/**
 * The first stream an HTTP/2 server emits shows Node's server stream class (not exported):
 * its respond() then gets a date from the recorded clock.
 */
function watchServer(s: Session, server: any): void {
  if (respondPatched || !server || typeof server.emit !== 'function' || server[kWatched]) return;
  server[kWatched] = true;
  const emit = server.emit;
  server.emit = function (this: any, event: string, stream: any) {
    if (event === 'stream' && stream && !respondPatched) {
      respondPatched = true;
      server.emit = emit;
      patchRespond(s, Object.getPrototypeOf(stream));
    }
    return emit.apply(this, arguments);
  };
}
const kWatched = Symbol('rewind.http2Server');

function patchRespond(s: Session, proto: any): void {
  const respond = proto.respond;
  if (typeof respond !== 'function') return;
  proto.respond = function (
    this: any,
    headers?: Record<string, unknown> | unknown[],
    options?: { sendDate?: boolean },
  ) {
    if (
      (options?.sendDate ?? true) &&
      headers !== null &&
      typeof headers === 'object' &&
      !Array.isArray(headers) &&
      headers.date === undefined
    ) {
      headers = { ...headers, date: new original.Date(s.turnWallTime()).toUTCString() };
    }
    return respond.call(this, headers, ...Array.prototype.slice.call(arguments, 1));
  };
}

/** Whether Node's HTTP/2 code is asking (read once per session: the stack is cheap enough). */
function askedByHttp2(getter: (...a: any[]) => unknown): boolean {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  const at: { stack?: string } = {};
  Error.captureStackTrace(at, getter);
  Error.stackTraceLimit = limit;
  return /internal\/http2\//.test(at.stack ?? '');
}

export const http2Source: Source = {
  name: 'http2',
  install(s: Session) {
    const b = bindings();
    if (!b) return;
    // TCP and Pipe handles (LibuvStreamWrap) and TLS sockets (TLSWrap) each say it.
    for (const P of [b.StreamPrototype, b.TLSWrap?.prototype]) {
      const own = P && Object.getOwnPropertyDescriptor(P, 'isStreamBase');
      if (!own || !own.configurable || !('value' in own)) continue;
      const native = own.value;
      Object.defineProperty(P, 'isStreamBase', {
        configurable: true,
        enumerable: own.enumerable,
        get: function isStreamBase(this: any) {
          // Only the program's stdout and stderr are not rewind's; TLS (which needs a
          // StreamBase under it) asks too.
          if (!isInert(this) || !askedByHttp2(isStreamBase)) return native;
          // Asked as an Http2Session is being built on this handle's socket.
          if (!respondPatched) {
            const socket = ownerOf(this) as any;
            if (socket) {
              // An accepted socket knows its server once the session is set up.
              queueMicrotask(() => {
                watchServer(s, serverOf(socket));
              });
            }
          }
          return false;
        },
      });
    }
  },
};
