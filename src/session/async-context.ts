// The program's async context at replay: the stores of its AsyncLocalStorage instances.
// Node runs a callback in the context its operation was started in (carried by the
// operation's resource); at replay rewind's dispatcher runs every callback, from immediates
// of its own. So each op keeps the context it was registered in (as the program started
// it), and its turn runs there; the dispatcher's own immediates are made in the empty one.
// Until the program first enters a store, every context is the empty one: nothing is kept.
import { AsyncLocalStorage } from 'node:async_hooks';

/** Runs a function in a context taken earlier (AsyncLocalStorage.snapshot()). */
export type InContext = <R>(fn: () => R) => R;

let inUse = false;
let empty: InContext | null = null;

/** Replay, before the program: notes when it first enters a store. */
export function watchAsyncContexts(): void {
  empty = AsyncLocalStorage.snapshot() as InContext;
  const P = AsyncLocalStorage.prototype as unknown as Record<'run' | 'enterWith', (...a: unknown[]) => unknown>;
  for (const name of ['run', 'enterWith'] as const) {
    const real = P[name];
    P[name] = {
      [name](this: unknown, ...args: unknown[]) {
        inUse = true;
        return real.apply(this, args);
      },
    }[name];
  }
}

/** The context the program is in now, or null while no store was ever entered. */
export const currentContext = (): InContext | null => (inUse ? (AsyncLocalStorage.snapshot() as InContext) : null);

/** Runs `fn` in the empty context (no store of the program's). */
export const inEmptyContext = <R>(fn: () => R): R => (inUse && empty !== null ? empty(fn) : fn());
