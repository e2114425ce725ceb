// TLS: the sockets under tls and https. rewind records at the TLSWrap, the native handle
// that turns the encrypted bytes of a TCP socket into plain bytes for JS, so the log
// holds what the program saw: plaintext reads and writes (streams.ts, on TLSWrap's own
// copies of the stream methods), the handshake callbacks, and the session's properties
// (certificates, cipher, ALPN protocol, verification result). At replay no TLS is spoken:
// the TLSWrap over an inert TCP handle is inert too, its configuration calls do nothing,
// and its callbacks and properties come from the log.
import { bindings } from '../node/bindings.js';
import { ownerOf as owner } from '../node/symbols.js';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';
import { decodeValue, encodeValue } from '../trace/values.js';
import { handleState, patchStreamMethods, replayCounters, watchReads } from './streams.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Handle = any;

/** Callbacks the native TLS side makes into JS, by property name. */
const CALLBACKS = [
  'onhandshakestart',
  'onhandshakedone',
  'onclienthello',
  'oncertcb',
  'onnewsession',
  'onocspresponse',
  'onkeylog',
  'onpskexchange',
  'onerror',
  'ALPNCallback',
] as const;

/** What the handshake established: read by tls.js, served from the log at replay. */
const PROPERTIES = [
  'verifyError',
  'getPeerCertificate',
  'getCertificate',
  'getSession',
  'getALPNNegotiatedProtocol',
  'getServername',
  'getCipher',
  'getProtocol',
  'getFinished',
  'getPeerFinished',
  'isSessionReused',
  'getTLSTicket',
  'getEphemeralKeyInfo',
  'getSharedSigalgs',
  'exportKeyingMaterial',
] as const;

/** Calls whose result the program sees. */
const RESULT_CALLS = ['setMaxSendFragment', 'renegotiate'] as const;

/** Configuration of the native TLS state machine: real while recording, nothing at replay. */
const CONFIGURATION = [
  'start',
  'receive',
  'setVerifyMode',
  'setSession',
  'setServername',
  'setALPNProtocols',
  'enableSessionCallbacks',
  'enableCertCb',
  'enableALPNCb',
  'enablePskCallback',
  'setPskIdentityHint',
  'enableKeylogCallback',
  'enableTrace',
  'setKeyCert',
  'setOCSPResponse',
  'certCbDone',
  'newSessionDone',
  'requestOCSP',
  'endParser',
  'loadSession',
  'destroySSL',
  'writesIssuedByPrevListenerDone',
] as const;

const kCallbacks = Symbol('rewind.tlsCallbacks');

/**
 * The one property the native side sets on the TLSSocket itself: `servername`, chosen by
 * SNI during a server's handshake. It is logged with each callback and set back at replay.
 */
const ownerOf = (h: Handle): any => owner(h);

interface Slots {
  /** The op whose turns are this handle's callbacks, handed out when _tls_wrap sets the first one. */
  op: number;
  fns: Record<string, unknown>;
}

/**
 * The callback properties become accessors on the prototype: the native side reads them
 * by name, so it gets what the getter returns — while recording, a wrapper that logs the
 * turn first.
 */
function callbackSlots(
  P: any,
  first: (h: Handle) => number,
  wrap: (slots: Slots, name: string, fn: (...a: unknown[]) => unknown) => unknown,
): void {
  for (const name of CALLBACKS) {
    Object.defineProperty(P, name, {
      configurable: true,
      get(this: Handle) {
        return (this[kCallbacks] as Slots | undefined)?.fns[name];
      },
      set(this: Handle, fn: unknown) {
        const slots: Slots = (this[kCallbacks] ??= { op: first(this), fns: {} });
        // The native side reads decrypted bytes on its own, without a readStart from JS.
        watchReads(this);
        slots.fns[name] = typeof fn === 'function' ? wrap(slots, name, fn as (...a: unknown[]) => unknown) : fn;
      },
    });
  }
}

const apiOf = (name: string) => ((PROPERTIES as readonly string[]).includes(name) ? Api['tls.get'] : Api['tls.call']);

/** Calls during which the native side may call back synchronously (the handshake starts). */
const NESTING = ['start', 'receive'] as const;

function recordTls(s: RecordSession, P: any): void {
  let depth = 0;
  callbackSlots(
    P,
    () => s.newOp(),
    (slots, name, fn) =>
      function (this: Handle, ...args: unknown[]) {
        const servername = ownerOf(this)?.servername;
        s.callback(
          slots.op,
          depth > 0 ? Api['tls.nested'] : Api['tls.callback'],
          encodeValue([name, args, typeof servername === 'string' ? servername : null]),
        );
        return fn.apply(this, args);
      },
  );
  for (const name of NESTING) {
    const real = P[name];
    P[name] = function (this: Handle) {
      depth++;
      try {
        return real.apply(this, arguments);
      } finally {
        depth--;
      }
    };
  }
  for (const name of [...PROPERTIES, ...RESULT_CALLS]) {
    const real = P[name];
    if (typeof real !== 'function') continue;
    P[name] = function (this: Handle, ...args: unknown[]) {
      return s.call(apiOf(name), { h: handleState(this)!.op, name, args }, () => real.apply(this, args));
    };
  }
  for (const name of ['getPeerX509Certificate', 'getX509Certificate'] as const) {
    const real = P[name];
    P[name] = function (this: Handle) {
      s.unsupported(`tls.TLSSocket.${name}()`, 'X509Certificate objects are not logged');
      return real.apply(this, arguments);
    };
  }
}

function replayTls(s: ReplaySession, P: any): void {
  const deliver = (h: Handle, payload: unknown) => {
    const [name, args, servername] = decodeValue(payload) as [string, unknown[], string | null];
    const owner = ownerOf(h);
    if (servername !== null && owner) owner.servername = servername;
    h[name]?.(...args);
  };
  callbackSlots(
    P,
    (h) => {
      const op = s.newOp();
      s.register(op, {
        tag: Tag.Callback,
        api: Api['tls.callback'],
        repeat: true,
        what: 'a TLS handshake',
        fire: (p) => deliver(h, p),
      });
      return op;
    },
    (_slots, _name, fn) => fn,
  );
  for (const name of CONFIGURATION) {
    if (typeof P[name] !== 'function') continue;
    P[name] = (NESTING as readonly string[]).includes(name)
      ? function (this: Handle) {
          const slots = this[kCallbacks] as Slots | undefined;
          for (let c; slots && (c = s.takeCallback(slots.op, Api['tls.nested']));) deliver(this, c.payload);
        }
      : () => undefined;
  }
  for (const name of [...PROPERTIES, ...RESULT_CALLS]) {
    if (typeof P[name] !== 'function') continue;
    P[name] = function (this: Handle, ...args: unknown[]) {
      return s.call(apiOf(name), { h: handleState(this)!.op, name, args }, () => undefined);
    };
  }
  for (const name of ['getPeerX509Certificate', 'getX509Certificate'] as const) {
    P[name] = function () {
      s.unsupported(`tls.TLSSocket.${name}()`, 'X509Certificate objects are not logged');
      return undefined;
    };
  }
  replayCounters([P]);
}

export const tlsSource: Source = {
  name: 'tls',
  install(s: Session) {
    const b = bindings();
    if (!b?.TLSWrap) return;
    const P = b.TLSWrap.prototype;
    if (s.mode === 'record') recordTls(s, P);
    else replayTls(s, P);
    patchStreamMethods(s, b, P);
  },
};
