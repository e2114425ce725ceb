// Randomness. Math.random is a PRNG: it is replaced by a seeded xoshiro128** whose seed is
// in the header, so recording costs nothing per call and the log holds no stream at all.
// The crypto APIs draw from the OS: their bytes are logged and served back at replay. Patched
// as Node loads them (node:crypto; WebCrypto, which globalThis.crypto loads without it): a
// program that uses neither does not pay for loading them.
import type * as Crypto from 'node:crypto';
import { builtinModule, whenLoaded, whenWebCryptoLoaded } from '../node/fields.js';
import { Api, Tag } from '../trace/format.js';
import { uuidOf } from '../trace/describe.js';
import { original } from '../node/originals.js';
import type { Session, Source } from '../session/session.js';

/** Returns a Math.random replacement: xoshiro128**, 53-bit doubles in [0, 1). */
export function seededRandom(seed: readonly number[]): () => number {
  let a = seed[0] | 0;
  let b = seed[1] | 0;
  let c = seed[2] | 0;
  let d = seed[3] | 0;
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is a fixed point
  const next = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r >>> 0;
  };
  return function random() {
    return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  };
}
const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

type Callback = (err: Error | null, value?: unknown) => void;

/** Runs an async crypto call: recorded as a Callback turn, replayed from it. */
function asyncOp(
  s: Session,
  api: number,
  what: string,
  startReal: (done: Callback) => void,
  toPayload: (value: unknown) => unknown,
  fromPayload: (payload: unknown) => unknown,
  cb: Callback,
): void {
  s.async({
    api,
    what,
    start: (done) => startReal(done as Callback),
    cb: cb as (...r: unknown[]) => void,
    codec: {
      encode: ([err, value]) => (err ? { error: (err as Error).message } : { value: toPayload(value) }),
      decode(payload) {
        const p = payload as { error?: string; value?: unknown };
        return p.error !== undefined ? [new Error(p.error)] : [null, fromPayload(p.value)];
      },
    },
  });
}

const bytesOf = (v: ArrayBufferView | ArrayBuffer): Uint8Array =>
  ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : new Uint8Array(v);

/** The byte range randomFill(Sync) writes, computed as Node does (offsets in elements). */
export function fillRange(buf: ArrayBufferView | ArrayBuffer, offset?: number, size?: number): Uint8Array {
  const all = bytesOf(buf);
  const el = (buf as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1;
  const start = (offset ?? 0) * el;
  const len = size === undefined ? all.length - start : size * el;
  return all.subarray(start, start + len);
}

const uuidScratch = new Uint8Array(16);
const hexDigit = (c: number): number => (c <= 57 ? c - 48 : (c | 32) - 87);

/** The 16 bytes a UUID's text (8-4-4-4-12 hex digits) spells, in a scratch array the log copies at once. */
function uuidBytes(uuid: string): Uint8Array {
  for (let i = 0, j = 0; j < 16; i += 2) {
    if (uuid.charCodeAt(i) === 45) i++; // '-'
    uuidScratch[j++] = (hexDigit(uuid.charCodeAt(i)) << 4) | hexDigit(uuid.charCodeAt(i + 1));
  }
  return uuidScratch;
}

/** A UUID drawn by `draw` (record: returned as drawn, its bytes logged) or served from the log. */
function recordedUuid(s: Session, draw: () => string): string {
  if (s.mode !== 'record') return uuidOf(s.fixed16(Tag.RandomUUID, () => uuidBytes(draw())));
  const uuid = draw();
  s.fixed16(Tag.RandomUUID, () => uuidBytes(uuid));
  return uuid;
}

export const randomSource: Source = {
  name: 'random',
  install(s: Session) {
    Math.random = seededRandom(s.header.randomSeed);
    whenLoaded('crypto', () => recordNodeCrypto(s));
    whenWebCryptoLoaded(() => recordWebCrypto(s));
  },
};

/** node:crypto's random functions (the module's exports, which ESM named imports see too). */
function recordNodeCrypto(s: Session): void {
  const c = builtinModule<typeof Crypto>('node:crypto') as unknown as Record<string, unknown>;
  const oc = original.crypto();

  c.randomBytes = function randomBytes(size: number, cb?: Callback) {
    const valid = Number.isInteger(size) && size >= 0 && size <= 0x7fffffff;
    if (!valid || (cb !== undefined && typeof cb !== 'function')) return oc.randomBytes(size, cb as never);
    if (cb) {
      asyncOp(
        s,
        Api['crypto.randomBytes'],
        'crypto.randomBytes()',
        (done) => oc.randomBytes(size, done as never),
        (v) => v,
        (p) => Buffer.from(p as Uint8Array),
        cb,
      );
      return undefined;
    }
    return s.bytes(Tag.RandomBytes, size, () => oc.randomBytes(size));
  };
  c.pseudoRandomBytes = c.randomBytes;

  c.randomFillSync = function randomFillSync(buf: NodeJS.ArrayBufferView, offset?: number, size?: number) {
    oc.randomFillSync(buf, offset, size); // validates exactly as Node does
    const range = fillRange(buf, offset, size);
    range.set(s.bytes(Tag.RandomFill, range.length, () => Buffer.from(range)));
    return buf;
  };

  c.randomFill = function randomFill(buf: NodeJS.ArrayBufferView, ...rest: unknown[]) {
    const cb = rest.pop() as Callback;
    const [offset, size] = rest as [number | undefined, number | undefined];
    if (typeof cb !== 'function') return (oc.randomFill as (...a: unknown[]) => void)(buf, ...rest, cb);
    oc.randomFillSync(buf, offset, size); // validate synchronously, as randomFill does
    const range = fillRange(buf, offset, size);
    asyncOp(
      s,
      Api['crypto.randomFill'],
      'crypto.randomFill()',
      (done) =>
        oc.randomFill(
          buf,
          offset ?? 0,
          range.length / ((buf as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT ?? 1),
          done as never,
        ),
      () => Buffer.from(range),
      (p) => {
        range.set(p as Uint8Array);
        return buf;
      },
      cb,
    );
    return undefined;
  };

  c.randomUUID = function randomUUID(options?: Crypto.RandomUUIDOptions) {
    if (options !== undefined) oc.randomUUID(options); // validates the options
    return recordedUuid(s, () => oc.randomUUID());
  };

  c.randomInt = function randomInt(...args: unknown[]) {
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : undefined;
    const call = () => (oc.randomInt as (...a: unknown[]) => number)(...args);
    if (cb) {
      if (s.mode === 'replay') call(); // validates min/max
      asyncOp(
        s,
        Api['crypto.randomInt'],
        'crypto.randomInt()',
        (done) => (oc.randomInt as (...a: unknown[]) => void)(...args, done),
        (v) => v,
        (p) => p,
        cb,
      );
      return undefined;
    }
    if (s.mode === 'replay') call();
    return s.int(Tag.RandomInt, call);
  };
}

/**
 * Web Crypto: globalThis.crypto is crypto.webcrypto. node:crypto's getRandomValues is a
 * getter-only export that calls into the instance, so the instance is the one place. Patched
 * as Node makes it, inside globalThis.crypto's first read (or node:crypto's webcrypto's).
 */
function recordWebCrypto(s: Session): void {
  const web = globalThis.crypto as unknown as Record<string, unknown>;
  const webGetRandomValues = original.webcrypto().getRandomValues;
  const webRandomUUID = original.webcrypto().randomUUID;
  if (web && webGetRandomValues) {
    const webGetRandom = function getRandomValues<T extends ArrayBufferView | null>(array: T): T {
      webGetRandomValues.call(web, array as never); // validates type and quota
      const range = bytesOf(array as ArrayBufferView);
      range.set(s.bytes(Tag.GetRandomValues, range.length, () => Buffer.from(range)));
      return array;
    };
    web.getRandomValues = webGetRandom;
  }
  if (web && webRandomUUID) {
    web.randomUUID = function randomUUID() {
      return recordedUuid(s, () => webRandomUUID.call(web)) as `${string}-${string}-${string}-${string}-${string}`;
    };
  }
}
