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
// Randomized jobs are recorded where their results can be logged, above the job
// (random.ts: random bytes; crypto-keys.ts: primes, key generation, signatures with a
// callback), and are left alone here.
import crypto from 'node:crypto';
import { catchCryptoJobs, cryptoJobClasses, type CryptoJobClass } from '../node/bindings.js';
import type { Session, Source } from '../session/session.js';
import { Api } from '../trace/format.js';
import { completions } from './background.js';
import { jobsAbove, replace } from './crypto-keys.js';

const RECORDED_ABOVE = /^(RandomBytes|RandomPrime|SecretKeyGen|\w*KeyPairGen)Job$/;

type Job = { ondone?: (...results: unknown[]) => unknown };

function patchJobClass(s: Session, patched: WeakSet<object>, C: CryptoJobClass): void {
  const P = C.prototype;
  if (RECORDED_ABOVE.test(C.name) || patched.has(P) || typeof P.run !== 'function') return;
  patched.add(P);
  const run = P.run;
  const what = `crypto ${C.name}`;
  P.run = function (this: Job, ...args: unknown[]) {
    if (jobsAbove.depth > 0) return run.apply(this, args);
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

export const cryptoJobsSource: Source = {
  name: 'crypto-jobs',
  install(s: Session) {
    // Recordings made before this source: background.ts replays them as they were made.
    if (s.mode === 'replay' && s.header.cryptoJobs !== true) return;
    const patched = new WeakSet<object>();
    const patch = (C: CryptoJobClass) => patchJobClass(s, patched, C);
    const classes = cryptoJobClasses();
    for (const C of classes) patch(C);
    if (classes.length > 0) return;
    // Node 24 and later keep the classes out of process.binding: each is found as the
    // public call that makes its first job runs.
    const catching = (real: (...a: unknown[]) => unknown) =>
      function (this: unknown, ...args: unknown[]) {
        return catchCryptoJobs(() => real.apply(this, args), patch);
      };
    for (const name of ['pbkdf2', 'scrypt', 'hkdf', 'checkPrime', 'argon2']) replace(crypto, name, catching);
    const Subtle = crypto.webcrypto?.subtle && Object.getPrototypeOf(crypto.webcrypto.subtle);
    if (!Subtle) return;
    for (const name of Object.getOwnPropertyNames(Subtle)) {
      if (name === 'constructor' || typeof Object.getOwnPropertyDescriptor(Subtle, name)?.value !== 'function')
        continue;
      replace(Subtle, name, catching);
    }
  },
};
