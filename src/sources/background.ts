// Work that runs off the main thread and finishes later: Node's thread pool — zlib's
// compression and decompression (zlib.deflate with a callback, zlib streams, fetch decoding
// a compressed body; crypto's jobs are crypto-jobs.ts's) — and V8's
// background compilation of WebAssembly (undici compiles its HTTP parser so, on the first
// fetch). The results depend only on the inputs, so they are not logged; when the work
// finishes does not, and it orders the program's callbacks. So each completion is a turn:
// recording logs it as the callback is entered; at replay the work runs for real and its
// completion waits for its turn in the log (the dispatcher holds the replay there until
// the work is done).
import type * as Crypto from 'node:crypto';
import { builtinModule, whenLoaded } from '../node/fields.js';
import { bindings } from '../node/bindings.js';
import { deliveryOf } from '../session/chaos.js';
import { ownIo } from '../node/originals.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;

/**
 * Completions of one op, in both modes: `wrap(fn)` gives what the native side calls.
 * Recording: log the turn, then run fn (chaos may hold it first, unless `held` is false:
 * the native side calls it inside a call from JS). Replay: queue the call until the
 * dispatcher reaches its turn.
 */
export interface Completions {
  wrap(fn: Fn, held?: boolean): Fn;
}

export function completions(s: Session, api: number, what: string, repeat: boolean): Completions {
  const op = s.newOp();
  if (s.mode === 'record') {
    const rs = s;
    const c = rs.chaos;
    const lane = c?.lane(op, deliveryOf(api)) ?? null;
    return {
      wrap(fn, held = true) {
        const logged = function (this: unknown, ...args: unknown[]) {
          rs.callback(op, api, undefined);
          return fn.apply(this, args);
        };
        return c !== null && lane !== null && held ? c.wrap(lane, logged) : logged;
      },
    };
  }
  const rs = s;
  const done: [Fn, unknown, unknown[]][] = [];
  rs.register(op, {
    tag: Tag.Callback,
    api,
    repeat,
    what,
    ready: () => done.length > 0,
    fire() {
      const [fn, self, args] = done.shift()!;
      fn.apply(self, args);
    },
  });
  return {
    wrap: (fn) =>
      function (this: unknown, ...args: unknown[]) {
        done.push([fn, this, args]);
        rs.wake();
      },
  };
}

const kCompletions = Symbol('rewind.completions');

/** zlib handles: the callback passed to init() and the onerror set after it. */
function zlibHandles(s: Session): void {
  for (const [name, Class] of Object.entries(bindings()?.zlib ?? {})) {
    const P = (Class as { prototype?: any }).prototype;
    if (typeof P?.init !== 'function') continue;
    const init = P.init;
    P.init = function (this: any, ...args: unknown[]) {
      if (ownIo.depth > 0) return init.apply(this, args); // rewind's own: its log's chunks (trace/compress.ts)
      const c: Completions = (this[kCompletions] = completions(s, Api['zlib.done'], `zlib work (${name})`, true));
      const at = args.findIndex((a) => typeof a === 'function');
      if (at >= 0) args[at] = c.wrap(args[at] as Fn);
      return init.apply(this, args);
    };
    // Node reads onerror by name when the work fails.
    Object.defineProperty(P, 'onerror', {
      configurable: true,
      get(this: any) {
        return this[kOnError];
      },
      set(this: any, fn: unknown) {
        const c: Completions | undefined = this[kCompletions];
        // zlib's synchronous calls report errors through it before they return.
        this[kOnError] = typeof fn === 'function' && c ? c.wrap(fn as Fn, false) : fn;
      },
    });
  }
}
const kOnError = Symbol('rewind.onerror');

/**
 * crypto's key derivation with a callback, as recordings made before crypto-jobs.ts were:
 * the program's callback (the last argument) entered in its turn. Replay of those only.
 */
function cryptoJobs(s: Session): void {
  const c = builtinModule<typeof Crypto>('node:crypto') as unknown as Record<string, Fn>;
  for (const name of ['pbkdf2', 'scrypt', 'hkdf'] as const) {
    const real = c[name];
    if (typeof real !== 'function') continue;
    c[name] = function (this: unknown, ...args: unknown[]) {
      const cb = args[args.length - 1];
      if (typeof cb !== 'function') return real.apply(this, args); // Node's own error
      const done = completions(s, Api['crypto.done'], `crypto.${name}()`, false);
      args[args.length - 1] = done.wrap(cb as Fn);
      return real.apply(this, args);
    };
  }
}

/**
 * Whether the direct caller of `fn` is Node's module loader (or its CommonJS lexer): not
 * just any frame below, since a program's module compiling WebAssembly at its top level
 * (es-module-lexer's init, in vite) runs under the ESM loader's frames too.
 */
function calledByNode(fn: Fn): boolean {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 1;
  Error.captureStackTrace(holder, fn);
  Error.stackTraceLimit = limit;
  const caller = (holder.stack ?? '').split('\n')[1] ?? '';
  return /node:internal\/(?:modules\/|deps\/cjs-module-lexer\/)/.test(caller);
}

/** WebAssembly's asynchronous compilation: the promise settles in a turn of its own. */
function webAssembly(s: Session): void {
  const wasm = (globalThis as unknown as Record<string, Record<string, Fn> | undefined>).WebAssembly;
  if (!wasm) return;
  for (const name of ['compile', 'instantiate', 'compileStreaming', 'instantiateStreaming'] as const) {
    const real = wasm[name];
    if (typeof real !== 'function') continue;
    const wrapper = function (this: unknown, ...args: unknown[]) {
      // Node's module loader compiles WebAssembly of its own (cjs-module-lexer, when the
      // ESM loader runs a CommonJS entry): module loading is not an input.
      if (calledByNode(wrapper)) return real.apply(this, args);
      const done = completions(s, Api['wasm.done'], `WebAssembly.${name}()`, false);
      return new Promise((resolve, reject) => {
        (real.apply(this, args) as Promise<unknown>).then(done.wrap(resolve), done.wrap(reject));
      });
    };
    wasm[name] = wrapper;
  }
}

export const backgroundSource: Source = {
  name: 'background',
  install(s: Session) {
    zlibHandles(s);
    if (s.mode === 'replay' && s.header.cryptoJobs !== true) whenLoaded('crypto', () => cryptoJobs(s));
    webAssembly(s);
  },
};
