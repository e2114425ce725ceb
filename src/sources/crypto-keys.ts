// Key material OpenSSL draws from its own random generator, which the randomness source
// (crypto.randomBytes and the like) does not reach: generated key pairs, secret keys and
// primes, Diffie-Hellman and ECDH keys, and what randomized algorithms produce (ECDSA, DSA
// and RSA-PSS signatures, RSA encryption's padding). Each is recorded as its result and
// served at replay; keys are stored as DER (secret keys as their bytes) and rebuilt as
// KeyObjects. What runs around them (Node's validation, the program's use of the keys) runs
// in both runs. WebCrypto's randomized operations run on a thread of their own: named as
// unrecorded when recording. Patched as Node loads node:crypto and WebCrypto (fields.ts whenLoaded).
import type * as Crypto from 'node:crypto';
import { builtinModule, whenLoaded, whenWebCryptoLoaded } from '../node/fields.js';
import { Api } from '../trace/format.js';
import { registerValueClass } from '../trace/values.js';
import { cryptoKeyObject } from '../node/symbols.js';
import type { Session, Source } from '../session/session.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;

/** Inside a crypto call recorded here, above its job: the job is not a turn of its own (crypto-jobs.ts). */
export const jobsAbove = { depth: 0 };

/** Installs `make(real)` as obj[name], keeping what Node hangs on the function (its promisify hint). */
export function replace(obj: any, name: string, make: (real: Fn) => Fn): void {
  const real = obj[name] as Fn | undefined;
  if (typeof real !== 'function') return;
  const fn = make(real);
  for (const key of Reflect.ownKeys(real)) {
    if (key === 'length' || key === 'name' || key === 'prototype') continue;
    Object.defineProperty(fn, key, Object.getOwnPropertyDescriptor(real, key)!);
  }
  Object.defineProperty(fn, 'name', { value: real.name });
  Object.defineProperty(fn, 'length', { value: real.length });
  obj[name] = fn;
}

const nodeCrypto = () => builtinModule<typeof Crypto>('node:crypto');
/** node:crypto's KeyObject, once node:crypto is loaded (a program holds none before). */
let KeyObjectClass: typeof Crypto.KeyObject | null = null;

/** KeyObjects in call results: stored as DER (secret keys as their bytes), rebuilt the same. */
function registerKeyObject(): void {
  registerValueClass<Crypto.KeyObject>('KeyObject', {
    is: (v): v is Crypto.KeyObject => KeyObjectClass !== null && v instanceof KeyObjectClass,
    encode: (k) =>
      k.type === 'secret'
        ? [k.type, k.export()]
        : [k.type, k.export({ format: 'der', type: k.type === 'private' ? 'pkcs8' : 'spki' })],
    decode(data) {
      const [type, key] = data as ['secret' | 'private' | 'public', Buffer];
      const crypto = nodeCrypto();
      if (type === 'secret') return crypto.createSecretKey(key);
      if (type === 'private') return crypto.createPrivateKey({ key, format: 'der', type: 'pkcs8' });
      return crypto.createPublicKey({ key, format: 'der', type: 'spki' });
    },
  });
}

/** An ArrayBuffer result (generatePrime's), stored as bytes. */
const arrayBufferCodec = {
  encode: (v: unknown) => (v instanceof ArrayBuffer ? Buffer.from(v) : v),
  decode: (d: unknown) => (Buffer.isBuffer(d) ? d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength) : d),
};

/** The arguments a call is checked by at replay: the kind asked for, never key material or passphrases. */
const kindOf = (v: unknown): unknown => (typeof v === 'string' || typeof v === 'number' ? v : null);
const lengthOf = (v: unknown): number | null =>
  ArrayBuffer.isView(v) ? v.byteLength : typeof v === 'string' ? v.length : null;

/** generateX(…, callback): the callback's arguments recorded, delivered in the recorded turn. */
function recordAsync(
  s: Session,
  api: number,
  what: string,
  args: unknown[],
  real: Fn,
  self: unknown,
  codec?: typeof arrayBufferCodec,
): void {
  const callback = args[args.length - 1] as Fn;
  s.async({
    api,
    args: kindOf(args[0]),
    what: `${what}(${JSON.stringify(kindOf(args[0]))})`,
    start: (done) => real.apply(self, [...args.slice(0, -1), (...results: unknown[]) => done(...results)]),
    cb: (...results) => callback(...results),
    codec: codec && {
      encode: ([err, value]) => [err, codec.encode(value)],
      decode: (data) => {
        const [err, value] = data as [unknown, unknown];
        return [err, codec.decode(value)];
      },
    },
  });
}

export const cryptoKeysSource: Source = {
  name: 'crypto-keys',
  install(s: Session) {
    registerKeyObject();
    whenLoaded('crypto', () => recordNodeKeys(s));
    whenWebCryptoLoaded(() => recordSubtle(s));
  },
};

function recordNodeKeys(s: Session): void {
  const C = nodeCrypto() as any;
  KeyObjectClass = C.KeyObject;
  const sync = (api: number, codec?: typeof arrayBufferCodec) => (real: Fn) =>
    function (this: unknown, ...args: unknown[]) {
      return s.call(api, kindOf(args[0]), () => real.apply(this, args), codec);
    };
  const withCallback = (api: number, what: string, codec?: typeof arrayBufferCodec) => (real: Fn) =>
    function (this: unknown, ...args: unknown[]) {
      if (typeof args[args.length - 1] !== 'function') return real.apply(this, args); // Node's own error
      recordAsync(s, api, what, args, real, this, codec);
    };
  replace(C, 'generateKeyPairSync', sync(Api['crypto.generateKeyPairSync']));
  replace(C, 'generateKeyPair', withCallback(Api['crypto.generateKeyPair'], 'crypto.generateKeyPair'));
  replace(C, 'generateKeySync', sync(Api['crypto.generateKeySync']));
  replace(C, 'generateKey', withCallback(Api['crypto.generateKey'], 'crypto.generateKey'));
  replace(C, 'generatePrimeSync', sync(Api['crypto.generatePrimeSync'], arrayBufferCodec));
  replace(C, 'generatePrime', withCallback(Api['crypto.generatePrime'], 'crypto.generatePrime', arrayBufferCodec));

  // Signatures and encryption: the output, checked by the algorithm and the data's length.
  replace(
    C,
    'sign',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        const checked = [kindOf(args[0]), lengthOf(args[1])];
        if (typeof args[3] === 'function') {
          const callback = args[3] as Fn;
          s.async({
            api: Api['crypto.sign.done'],
            args: checked,
            what: 'crypto.sign()',
            start: (done) => {
              jobsAbove.depth++; // its SignJob is this turn (crypto-jobs.ts)
              try {
                real.call(this, args[0], args[1], args[2], (...results: unknown[]) => done(...results));
              } finally {
                jobsAbove.depth--;
              }
            },
            cb: (...results) => callback(...results),
          });
          return undefined;
        }
        return s.call(Api['crypto.sign'], checked, () => real.apply(this, args));
      },
  );
  replace(
    C.Sign.prototype,
    'sign',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        return s.call(Api['crypto.Sign.sign'], kindOf(args[1]), () => real.apply(this, args));
      },
  );
  replace(
    C,
    'publicEncrypt',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        return s.call(Api['crypto.publicEncrypt'], lengthOf(args[1]), () => real.apply(this, args));
      },
  );

  // Diffie-Hellman and ECDH: the private key they generate is recorded; at replay it is set,
  // and the public key is computed from it for real.
  replace(
    C.ECDH.prototype,
    'generateKeys',
    (real) =>
      function (this: Crypto.ECDH, ...args: unknown[]) {
        const key = s.call(Api['crypto.ECDH.generateKeys'], undefined, () => {
          real.call(this);
          return this.getPrivateKey();
        });
        if (s.mode === 'replay') this.setPrivateKey(key);
        return (this.getPublicKey as Fn).apply(this, args);
      },
  );
  // A DiffieHellmanGroup (getDiffieHellman('modp14')) cannot be given a private key: at
  // replay an equal DiffieHellman that can stands in for it (its keys, its secrets).
  const standIns = new WeakMap<object, Crypto.DiffieHellman>();
  const generateKeys = C.DiffieHellman.prototype.generateKeys as Fn;
  for (const DH of [C.DiffieHellman, C.DiffieHellmanGroup]) {
    replace(
      DH.prototype,
      'generateKeys',
      (real) =>
        function (this: Crypto.DiffieHellman, ...args: unknown[]) {
          if (s.mode === 'record') {
            const out = real.apply(this, args);
            s.call(Api['crypto.DiffieHellman.generateKeys'], undefined, () => this.getPrivateKey());
            return out;
          }
          const key = s.call(Api['crypto.DiffieHellman.generateKeys'], undefined, () => Buffer.alloc(0));
          let dh: Crypto.DiffieHellman = this;
          if (typeof this.setPrivateKey !== 'function') {
            dh = C.createDiffieHellman(this.getPrime(), this.getGenerator());
            standIns.set(this, dh);
          }
          dh.setPrivateKey(key);
          return generateKeys.apply(dh, args); // with its private key set, the public key is computed from it
        },
    );
  }
  if (s.mode === 'replay') {
    for (const name of ['computeSecret', 'getPublicKey', 'getPrivateKey']) {
      replace(
        C.DiffieHellmanGroup.prototype,
        name,
        (real) =>
          function (this: object, ...args: unknown[]) {
            const dh = standIns.get(this);
            return dh ? (dh as any)[name](...args) : real.apply(this, args);
          },
      );
    }
  }
  // createDiffieHellman(primeLength): a random prime of that length.
  replace(
    C,
    'createDiffieHellman',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        if (typeof args[0] !== 'number') return real.apply(this, args);
        if (s.mode === 'record') {
          const dh = real.apply(this, args) as Crypto.DiffieHellman;
          s.call(Api['crypto.createDiffieHellman'], args[0], () => dh.getPrime());
          return dh;
        }
        const prime = s.call(Api['crypto.createDiffieHellman'], args[0], () => Buffer.alloc(0));
        return real.call(this, prime, ...(args.length > 1 ? [args[1]] : []));
      },
  );
}

/** WebCrypto: generateKey is recorded (subtleGenerateKey); other randomized operations are said, not recorded. */
function recordSubtle(s: Session): void {
  const subtle = (globalThis.crypto as Crypto.webcrypto.Crypto | undefined)?.subtle as any;
  if (subtle) {
    replace(Object.getPrototypeOf(subtle), 'generateKey', (real) => subtleGenerateKey(s, real));
    const RANDOMIZED: Record<string, (alg: unknown) => boolean> = {
      sign: (alg) => /^(ECDSA|RSA-PSS)$/i.test(algorithmName(alg)),
      encrypt: (alg) => /^RSA-OAEP$/i.test(algorithmName(alg)),
      wrapKey: () => true,
    };
    for (const [name, randomized] of Object.entries(RANDOMIZED)) {
      const proto = Object.getPrototypeOf(subtle);
      replace(
        proto,
        name,
        (real) =>
          function (this: unknown, ...args: unknown[]) {
            if (randomized(name === 'wrapKey' ? args[3] : args[0])) {
              s.unsupported(`crypto.subtle.${name}()`, 'WebCrypto draws its randomness on a thread of its own');
            }
            return real.apply(this, args);
          },
      );
    }
  }
}

/** A CryptoKey as recorded: what importKey needs to make it again. */
type KeyRecord = [type: string, algorithm: unknown, extractable: boolean, usages: string[], material: Buffer];
/** An error as recorded: a DOMException (WebCrypto's own errors) or Node's, by name, message and code. */
type ErrorRecord = [dom: boolean, name: string, message: string, code: unknown];

function keyRecord(key: any): KeyRecord {
  const k = cryptoKeyObject(key);
  const material =
    k.type === 'secret'
      ? k.export()
      : k.export({ format: 'der', type: k.type === 'private' ? 'pkcs8' : 'spki' } as Crypto.KeyExportOptions<'der'>);
  return [key.type, key.algorithm, key.extractable, [...key.usages], material as Buffer];
}

function importRecord(subtle: any, [type, algorithm, extractable, usages, material]: KeyRecord): Promise<unknown> {
  const format = type === 'secret' ? 'raw' : type === 'private' ? 'pkcs8' : 'spki';
  return subtle.importKey(format, material, algorithm, extractable, usages);
}

function errorRecord(e: any): ErrorRecord {
  return [
    typeof DOMException === 'function' && e instanceof DOMException,
    String(e?.name),
    String(e?.message),
    e?.code ?? null,
  ];
}

function errorOf([dom, name, message, code]: ErrorRecord): Error {
  if (dom) return new DOMException(message, name);
  const E = ({ TypeError, RangeError, SyntaxError } as Record<string, ErrorConstructor>)[name] ?? Error;
  const e = new E(message);
  if (code !== null) Object.assign(e, { code });
  return e;
}

/**
 * crypto.subtle.generateKey(): OpenSSL makes the key on the thread pool, from its own
 * randomness, through Node's internal key generation (not the public one recorded above).
 * Each key is recorded as its material with its type, algorithm, usages and extractability,
 * and the promise settles in the recorded turn with keys imported from that record (in both
 * runs, so that the program holds the same kind of CryptoKey in both); an error the same way.
 */
function subtleGenerateKey(s: Session, real: Fn): Fn {
  return function generateKey(this: any, ...args: unknown[]) {
    const subtle = this;
    let made: unknown;
    return new Promise((resolve, reject) => {
      s.async({
        api: Api['crypto.subtle.generateKey'],
        args: algorithmName(args[0]),
        what: `crypto.subtle.generateKey(${JSON.stringify(algorithmName(args[0]))})`,
        start: (done) => {
          (real.apply(subtle, args) as Promise<any>).then(
            (key) => {
              made = key;
              try {
                done(null, key?.privateKey ? [keyRecord(key.publicKey), keyRecord(key.privateKey)] : [keyRecord(key)]);
              } catch {
                // a key this Node cannot export (it has no record): the program gets it as made
                s.unsupported(`crypto.subtle.generateKey(${algorithmName(args[0])})`, 'its key cannot be exported');
                done(null, null);
              }
            },
            (e) => done(errorRecord(e), null),
          );
        },
        cb: (err, keys) => {
          if (err) return reject(errorOf(err as ErrorRecord));
          if (keys === null) return made === undefined ? reject(new Error('not recorded')) : resolve(made);
          const records = keys as KeyRecord[];
          Promise.all(records.map((k) => importRecord(subtle, k))).then(
            (imported) =>
              resolve(imported.length === 2 ? { publicKey: imported[0], privateKey: imported[1] } : imported[0]),
            (e) => {
              if (s.mode === 'replay' || made === undefined) return reject(e);
              s.unsupported(`crypto.subtle.generateKey(${algorithmName(args[0])})`, 'its key cannot be imported again');
              resolve(made);
            },
          );
        },
      });
    });
  };
}

const algorithmName = (alg: unknown): string =>
  String(typeof alg === 'string' ? alg : ((alg as { name?: unknown })?.name ?? ''));
