// vm contexts. Every context V8 creates for `vm` (jsdom's page scripts, Jest's test
// environments, vitest's vm pools) has its own Date and Math.random, intrinsics of its own
// that the main realm's patches do not reach. Each context gets what the main realm has
// (sources/clock.ts, random.ts): a Date that reads the session's wall clock, and a seeded
// Math.random whose seed is derived from the session's seed and the context's number (the
// contexts are numbered in the order the program makes them, which replay reproduces), so
// the log holds no stream. What the embedder copies in (timers, performance) is the main
// realm's, recorded already.
//
// Where contexts come from: `vm.createContext` (exported), and `vm.runInNewContext` and
// `Script.prototype.runInNewContext`, which call vm's private createContext, not the export.
// Every script run in a context goes through ContextifyScript.prototype.runInContext (the
// native method Script calls as `super.runInContext`): a context seen there for the first
// time is adopted before the program's code runs in it. Verified on Node 20, 22 and 24.
import vm from 'node:vm';
import { virtualDate, virtualIntl } from './clock.js';
import { seededRandom } from './random.js';
import type { Session, Source } from '../session/session.js';
import { installStackFilter } from '../session/stack.js';

/** murmur3's finalizer: spreads every bit of the input over the output. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The Math.random seed of the `n`th context (n ≥ 1) of a session seeded with `seed`. */
export function realmSeed(seed: readonly number[], n: number): [number, number, number, number] {
  const k = Math.imul(n, 0x9e3779b9);
  return [0, 1, 2, 3].map((i) => mix32(mix32((seed[i] ^ k) >>> 0) + i + n)) as [number, number, number, number];
}

export const realmsSource: Source = {
  name: 'realms',
  install(s: Session) {
    const mainDate = globalThis.Date;
    const mainMath = Math;
    /** The contexts already adopted (their contextified objects). */
    const adopted = new WeakSet<object>();
    /** Dates and Math.randoms rewind installed: an embedder that copies one in is not patched twice. */
    const ours = new WeakSet<object>();
    let contexts = 0;
    const globalOf = new vm.Script('this', { filename: 'rewind:realm' });

    const adopt = (context: object) => {
      adopted.add(context);
      const n = ++contexts;
      let g: typeof globalThis;
      try {
        g = globalOf.runInContext(context) as typeof globalThis;
      } catch (e) {
        s.unsupported(
          'vm context',
          `its global could not be reached (${(e as Error).message}): its Date and Math.random are not recorded`,
        );
        return;
      }
      try {
        const D = g.Date;
        if (typeof D === 'function' && D !== mainDate && !ours.has(D)) {
          const virtual = virtualDate(D, s);
          ours.add(virtual);
          // As the intrinsic is: writable, configurable, not enumerable (jsdom's window is
          // the sandbox object, and its keys stay as they were).
          Object.defineProperty(g, 'Date', { value: virtual, writable: true, configurable: true, enumerable: false });
        }
        if (g.Intl && g.Intl !== Intl) virtualIntl(g.Intl, s);
        const M = g.Math;
        if (M && M !== mainMath && !ours.has(M.random)) {
          const random = seededRandom(realmSeed(s.header.randomSeed, n));
          ours.add(random);
          Object.defineProperty(M, 'random', { value: random, writable: true, configurable: true, enumerable: false });
        }
      } catch (e) {
        s.unsupported(
          'vm context',
          `its Date and Math.random could not be replaced (${(e as Error).message}): they read the real clock and generator`,
        );
      }
      // Its Error.prepareStackTrace must not see rewind's frames either (Jest's source maps
      // would look them up: reads of files the other run never makes).
      const E = g.Error;
      if (typeof E === 'function' && E !== Error) {
        try {
          installStackFilter(E);
        } catch {
          // A frozen Error: its stacks keep rewind's frames, as they did before.
        }
      }
    };

    const contextify = Object.getPrototypeOf(vm.Script.prototype) as {
      runInContext: (context: unknown, ...rest: unknown[]) => unknown;
    };
    const runInContext = contextify.runInContext;
    contextify.runInContext = function (this: unknown, context: unknown, ...rest: unknown[]) {
      // null: runInThisContext, the main realm.
      if (context !== null && typeof context === 'object' && !adopted.has(context)) adopt(context);
      return runInContext.call(this, context, ...rest);
    };
    Object.defineProperty(contextify.runInContext, 'name', { value: 'runInContext' });

    const createContext = vm.createContext;
    vm.createContext = function (this: unknown, ...args: unknown[]) {
      const context = (createContext as (...a: unknown[]) => vm.Context).apply(this, args);
      if (!adopted.has(context)) adopt(context);
      return context;
    } as typeof vm.createContext;
    Object.defineProperty(vm.createContext, 'name', { value: 'createContext' });
    Object.defineProperty(vm.createContext, 'length', { value: createContext.length });
  },
};
