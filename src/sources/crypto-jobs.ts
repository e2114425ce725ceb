// crypto's work on libuv's thread pool: key derivation (pbkdf2, scrypt, hkdf), checkPrime,
// and WebCrypto's digests, HMACs, signatures, ciphers, key agreement and exports. Node runs
// each as a job (`new PBKDF2Job(…)`, `job.ondone = fn`, `job.run()`; WebCrypto's on Node 24
// and later: `await job.run()`) and native code calls `job.ondone` (settles the promise)
// when the thread finishes: when that happens orders the program's callbacks
// and promises, so each completion is a turn. The results depend only on the inputs, so the
// work runs again at replay and its completion waits for its turn (background.ts's
// completions). Hooked at the job, not the public call: Node's own `ondone` runs in both
// runs, and the program's callback is entered below Node's frames, as in plain Node.
//
// Random bytes with a callback (crypto.randomBytes, randomFill) are jobs too: the job's
// completion is the turn, and the bytes Node hands the callback are a value read in it.
// Other randomized jobs are recorded where their results can be logged, above the job
// (crypto-keys.ts: primes, key generation, signatures with a callback), and are left alone
// here, as are the RandomBytesJobs of crypto.randomInt's cache (random.ts records randomInt).
import type * as Crypto from 'node:crypto';
import { catchCryptoJobs, cryptoJobClasses, type CryptoJobClass } from '../node/bindings.js';
import { builtinModule, whenBindingLoaded, whenLoaded, whenWebCryptoLoaded } from '../node/fields.js';
import type { Session, Source } from '../session/session.js';
import { original } from '../node/originals.js';
import { Api, Tag } from '../trace/format.js';
import { completions } from './background.js';
import { jobsAbove, replace } from './crypto-keys.js';
import { fillRange } from './random.js';

const RECORDED_ABOVE = /^(RandomPrime|SecretKeyGen|\w*KeyPairGen)Job$/;

/** Inside crypto.randomBytes/randomFill with a callback: its RandomBytesJob is a turn. */
const randomCalls = { depth: 0 };

type Job = { ondone?: (...results: unknown[]) => unknown };

function patchJobClass(s: Session, patched: WeakSet<object>, C: CryptoJobClass): void {
  const P = C.prototype;
  if (RECORDED_ABOVE.test(C.name) || patched.has(P) || typeof P.run !== 'function') return;
  patched.add(P);
  const run = P.run;
  const what = `crypto ${C.name}`;
  const random = C.name === 'RandomBytesJob';
  P.run = function (this: Job, ...args: unknown[]) {
    if (jobsAbove.depth > 0 || (random && randomCalls.depth === 0)) return run.apply(this, args);
    const ondone = this.ondone;
    if (typeof ondone === 'function') {
      const job = this;
      const done = completions(s, Api['crypto.done'], what, false);
      job.ondone = done.wrap(function (this: unknown, ...results: unknown[]) {
        job.ondone = ondone; // Node's own function, entered as native code would
        return ondone.apply(this, results);
      });
      return run.apply(this, args);
    }
    // WebCrypto's jobs on Node 24 and later: run() returns a promise native code settles. A
    // synchronous job (pbkdf2Sync) returns its result: no completion.
    const result = run.apply(this, args);
    if (!(result instanceof Promise)) return result;
    const done = completions(s, Api['crypto.done'], what, false);
    return new Promise((resolve, reject) => result.then(done.wrap(resolve), done.wrap(reject)));
  };
}

/**
 * crypto.randomBytes(size, cb) and randomFill(buf, …, cb) run Node's own code and job; the
 * callback is entered from Node's, with the bytes the job drew replaced by the log's at
 * replay. The forms without a callback stay random.ts's.
 */
function randomCallbacks(s: Session, viaJob: <T>(call: () => T) => T): void {
  type Fn = (...args: any[]) => any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const c = builtinModule<typeof Crypto>('node:crypto') as unknown as Record<string, Fn>;
  const oc = original.crypto() as unknown as Record<string, Fn>;
  const { randomBytes, randomFill } = c;
  const filled = (cb: Fn, range: (buf: Uint8Array) => Uint8Array) =>
    function (this: unknown, err: unknown, buf: Uint8Array) {
      if (err == null) {
        const r = range(buf);
        r.set(s.bytes(Tag.RandomBytes, r.length, () => r));
      }
      return cb.apply(this, [err, buf]);
    };
  c.randomBytes = function (this: unknown, size: number, cb?: Fn) {
    if (typeof cb !== 'function') return randomBytes.apply(this, [size, cb]);
    return viaJob(() =>
      oc.randomBytes(
        size,
        filled(cb, (buf) => buf),
      ),
    );
  };
  Object.defineProperty(c.randomBytes, 'name', { value: 'randomBytes' });
  c.pseudoRandomBytes = c.randomBytes;
  c.randomFill = function (this: unknown, buf: ArrayBufferView | ArrayBuffer, ...rest: unknown[]) {
    const cb = rest.pop();
    if (typeof cb !== 'function') return randomFill.apply(this, [buf, ...rest, cb]);
    const [offset, size] = rest as [number | undefined, number | undefined];
    const range = () => fillRange(buf, offset, size);
    return viaJob(() => oc.randomFill(buf, ...rest, filled(cb as Fn, range)));
  };
  Object.defineProperty(c.randomFill, 'name', { value: 'randomFill' });
}

export const cryptoJobsSource: Source = {
  name: 'crypto-jobs',
  install(s: Session) {
    // Recordings made before this source: background.ts and random.ts replay them as they were made.
    if (s.mode === 'replay' && s.header.cryptoJobs !== true) return;
    const patched = new WeakSet<object>();
    const patch = (C: CryptoJobClass) => patchJobClass(s, patched, C);
    // Patched as Node makes crypto's binding, before any of its modules can make a job (and
    // only in a process that uses crypto: node:crypto or WebCrypto, which loads it alone).
    let classes: CryptoJobClass[] = [];
    whenBindingLoaded(
      'crypto',
      () => {
        classes = cryptoJobClasses();
        for (const C of classes) patch(C);
      },
      () => builtinModule('node:crypto'),
    );
    // Node 24 and later keep the classes out of process.binding: each is found as the
    // public call that makes its first job runs.
    const catching = <T>(call: () => T): T => (classes.length > 0 ? call() : catchCryptoJobs(call, patch));
    const catchingCall = (real: (...a: unknown[]) => unknown) =>
      function (this: unknown, ...args: unknown[]) {
        return catching(() => real.apply(this, args));
      };
    whenLoaded('crypto', () => {
      randomCallbacks(s, (call) => {
        randomCalls.depth++;
        try {
          return catching(call);
        } finally {
          randomCalls.depth--;
        }
      });
      if (classes.length > 0) return;
      const crypto = builtinModule<typeof Crypto>('node:crypto');
      for (const name of ['pbkdf2', 'scrypt', 'hkdf', 'checkPrime', 'argon2']) replace(crypto, name, catchingCall);
    });
    whenWebCryptoLoaded(() => {
      const subtle = (globalThis.crypto as Crypto.webcrypto.Crypto | undefined)?.subtle;
      if (classes.length > 0 || !subtle) return;
      const Subtle = Object.getPrototypeOf(subtle);
      for (const name of Object.getOwnPropertyNames(Subtle)) {
        if (name === 'constructor' || typeof Object.getOwnPropertyDescriptor(Subtle, name)?.value !== 'function')
          continue;
        replace(Subtle, name, catchingCall);
      }
    });
  },
};
