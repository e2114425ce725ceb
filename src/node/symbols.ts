// Node's private symbols rewind reads, each found by name here. Node keeps most of them to
// itself (`Symbol('kOutHeaders')`), so they are found by their description on an object
// that has them; a few are in the global registry (`Symbol.for('nodejs.internal…')`).
// Probed at start-up (src/node/check.ts) on objects made for the purpose, so that a Node
// that renamed one is reported before anything is recorded. Checked on Node 20.20, 22.23, 24.21.
import net from 'node:net';
import type { KeyObject, webcrypto } from 'node:crypto';
import type * as Crypto from 'node:crypto';
import { MessagePort } from 'node:worker_threads';
import type * as Http from 'node:http';
import { builtinModule } from './fields.js';
import { lookup, missingInternals, type MissingInternal } from './internals.js';

/** The symbol on `obj` whose description is `description`, if any (no lookup is noted). */
export function symbolOn(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((k) => k.description === description);
}

/**
 * The KeyObject behind a WebCrypto CryptoKey (crypto-keys.ts records generated keys by it).
 * Node 20 and 22 keep it under Symbol('kKeyObject'); Node 24 in a private field, reached by
 * KeyObject.from(), which warns (DEP0204) for a non-extractable key: that warning would be
 * rewind's, printed into the program's stderr, so it is muted for the call.
 */
export function cryptoKeyObject(key: object): KeyObject {
  const own = symbolOn(key, 'kKeyObject');
  if (own !== undefined) return (key as Record<symbol, KeyObject>)[own];
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    // node:crypto: loaded here if the key came through WebCrypto alone (globalThis.crypto).
    return builtinModule<typeof Crypto>('node:crypto').KeyObject.from(key as webcrypto.CryptoKey);
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** A private symbol found on a probe object: looked up once, noted missing if absent. */
function probed(name: string, affects: string, probe: () => object, description: string): () => symbol | null {
  let found: symbol | null | undefined;
  return () =>
    found === undefined ? (found = lookup(name, affects, () => symbolOn(probe(), description) as symbol)) : found;
}

/** OutgoingMessage's header list (http.ts reads whether the program set a Date header), once node:http loaded. */
export const kOutHeaders = probed(
  "OutgoingMessage's kOutHeaders symbol",
  "the Date header of HTTP responses (the recorded clock's)",
  () => new (builtinModule<typeof Http>('_http_outgoing').OutgoingMessage)(),
  'kOutHeaders',
);

/** A net.Socket's idle timer (net.ts arms session timers under it). */
export const kSocketTimeout = probed(
  "net.Socket's timeout symbol",
  'socket idle timeouts (socket.setTimeout)',
  () => new net.Socket(),
  'timeout',
);

/** A Timeout's async id: clearTimeout(id) with a numeric id (chaos mode's held timers). */
export const kTimerAsyncId = probed(
  "Timeout's asyncId symbol",
  'clearing a timer by its numeric id while chaos mode holds it',
  () => {
    const t = setTimeout(() => {}, 1);
    clearTimeout(t);
    return t;
  },
  'asyncId',
);

/** The function a MessagePort dispatches each message through (workers.ts makes each a turn). */
export const kHybridDispatch = Symbol.for('nodejs.internal.kHybridDispatch');
/** Set on a port while the ports a message carries are being received. */
export const kCurrentlyReceivingPorts = Symbol.for('nodejs.internal.kCurrentlyReceivingPorts');

/**
 * Checks the registry symbols workers.ts patches are where Node 20–24 keep them: at start-up
 * where worker_threads is loaded then, else as it loads (session/start.ts, as checkNet).
 * Returns what it found missing.
 */
export function checkMessagePort(): readonly MissingInternal[] {
  const before = missingInternals().length;
  lookup('MessagePort.prototype[nodejs.internal.kHybridDispatch]', MESSAGES, () =>
    typeof (MessagePort.prototype as unknown as Record<symbol, unknown>)[kHybridDispatch] === 'function' ? true : null,
  );
  return missingInternals().slice(before);
}
const MESSAGES = 'messages between threads (worker_threads, MessageChannel)';

/** A Worker's private field by its symbol's name: kHandle, kPort, kPublicPort. */
export function workerField(worker: object, name: 'kHandle' | 'kPort' | 'kPublicPort'): symbol | undefined {
  return symbolOn(worker, name);
}

/** The socket (or TLSSocket) a native handle belongs to: Node's owner_symbol. */
export function ownerOf(handle: object): unknown {
  const key = symbolOn(handle, 'owner_symbol');
  return key ? (handle as Record<symbol, unknown>)[key] : undefined;
}

/** The server an accepted socket came from (its private `server` symbol), once set. */
export function serverOf(socket: object): unknown {
  const key = symbolOn(socket, 'server');
  return key ? (socket as Record<symbol, unknown>)[key] : undefined;
}

/**
 * A forked child's IPC channel: the handle Node opened from NODE_CHANNEL_FD during start-up
 * (process[kChannelHandle]; Node then deletes the variables that said so), and how it encodes.
 */
export function ipcChannel(): { handle: unknown; serialization: 'json' | 'advanced' } | null {
  const key = symbolOn(process, 'kChannelHandle');
  const handle = key && (process as unknown as Record<symbol, object | null>)[key];
  if (!handle) return null;
  const json = symbolOn(handle, 'kJSONBuffer') !== undefined;
  return { handle, serialization: json ? 'json' : 'advanced' };
}
