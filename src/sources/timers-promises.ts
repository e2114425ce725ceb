// timers/promises and scheduler, rebuilt on the patched timers. Node's own versions use
// private timer lists that no patch reaches, so the same logic (lib/timers/promises.js)
// runs here on top of whichever setTimeout the session installed: real and recorded, or
// virtual and replayed. Bad arguments are handed to Node's originals, which reject with
// Node's own errors.
import { EventEmitter, on } from 'node:events';
import timersPromises from 'node:timers/promises';
import { takenWhenLoaded, whenLoaded } from '../node/fields.js';

type Fn = (...args: unknown[]) => unknown;
export interface TimerApi {
  setTimeout: Fn;
  setInterval: Fn;
  setImmediate: Fn;
  clearTimeout: Fn;
  clearInterval: Fn;
  clearImmediate: Fn;
}

interface Options {
  signal?: AbortSignal;
  ref?: boolean;
}

/**
 * Node's own functions, for the arguments they reject with Node's own errors: taken as
 * node:timers/promises loads (not at start-up: most programs never load it), before the
 * install below replaces them.
 */
const original = takenWhenLoaded('timers/promises', () => ({
  setTimeout: timersPromises.setTimeout,
  setImmediate: timersPromises.setImmediate,
  setInterval: timersPromises.setInterval,
}));

type AbortErrorClass = new (message?: string, options?: { cause?: unknown }) => Error;
let AbortErrorCtor: AbortErrorClass | undefined;
/**
 * Node's AbortError class is internal: borrowed, when first needed, from a call that throws
 * one at once (events.on with a signal already aborted: Node 20, 22 and 24), else a look-alike.
 */
function abortErrorClass(): AbortErrorClass {
  try {
    on(new EventEmitter(), 'abort', { signal: AbortSignal.abort() });
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ABORT_ERR') return (e as Error).constructor as AbortErrorClass;
  }
  return class AbortError extends Error {
    code = 'ABORT_ERR';
    override name = 'AbortError';
    constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
      super(message, options);
    }
  };
}
const abortError = (signal?: AbortSignal) =>
  new (AbortErrorCtor ??= abortErrorClass())(undefined, { cause: signal?.reason });

function validOptions(options: unknown): options is Options {
  if (options === null || typeof options !== 'object') return false;
  const { signal, ref } = options as Options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) return false;
  if (ref !== undefined && typeof ref !== 'boolean') return false;
  return !signal?.aborted;
}

/** A promise for one timer firing, cancellable through options.signal. */
function oneShot(
  start: (fire: () => void) => { unref(): unknown },
  clear: Fn,
  value: unknown,
  options: Options,
): Promise<unknown> {
  const { signal, ref = true } = options;
  let onAbort: (() => void) | undefined;
  const p = new Promise((resolve, reject) => {
    const t = start(() => resolve(value));
    if (!ref) t.unref();
    if (signal) {
      onAbort = () => {
        clear(t);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  return onAbort ? p.finally(() => signal!.removeEventListener('abort', onAbort!)) : p;
}

export function installTimerPromises(api: TimerApi) {
  const setTimeout = function setTimeout(delay?: number, value?: unknown, options: unknown = {}) {
    if (!validOptions(options)) return original().setTimeout(delay, value, options as Options);
    return oneShot((fire) => api.setTimeout(fire, delay) as { unref(): unknown }, api.clearTimeout, value, options);
  };

  const setImmediate = function setImmediate(value?: unknown, options: unknown = {}) {
    if (!validOptions(options)) return original().setImmediate(value, options as Options);
    return oneShot((fire) => api.setImmediate(fire) as { unref(): unknown }, api.clearImmediate, value, options);
  };

  const setInterval = async function* setInterval(delay?: number, value?: unknown, options: unknown = {}) {
    if (!validOptions(options)) return yield* original().setInterval(delay, value, options as Options);
    const { signal, ref = true } = options;
    let notYielded = 0;
    let wake: ((v?: unknown) => void) | undefined;
    let onAbort: (() => void) | undefined;
    const interval = api.setInterval(() => {
      notYielded++;
      wake?.();
      wake = undefined;
    }, delay) as { unref(): unknown };
    try {
      if (!ref) interval.unref();
      if (signal) {
        onAbort = () => {
          api.clearInterval(interval);
          wake?.(Promise.reject(abortError(signal)));
          wake = undefined;
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      while (!signal?.aborted) {
        if (notYielded === 0) await new Promise((resolve) => (wake = resolve));
        for (; notYielded > 0; notYielded--) yield value;
      }
      throw abortError(signal);
    } finally {
      api.clearInterval(interval);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  };

  // The module itself as it loads (by the program, or by Node for it), before anyone has its exports.
  whenLoaded('timers/promises', () => {
    const tp = timersPromises as unknown as Record<string, unknown>;
    tp.setTimeout = setTimeout;
    tp.setImmediate = setImmediate;
    tp.setInterval = setInterval;
    const scheduler = tp.scheduler as Record<string, unknown> | undefined;
    if (scheduler) {
      scheduler.wait = function wait(delay: number, options?: Options) {
        return setTimeout(delay, undefined, options);
      };
      scheduler.yield = function yield_() {
        return setImmediate();
      };
    }
  });
  return { setTimeout, setImmediate, setInterval };
}
