// File watchers: fs.watch (FSWatcher), fs.promises.watch (an async iterator) and
// fs.watchFile/unwatchFile (StatWatcher). Every event is a turn of the watcher's op. The
// program gets rewind's watcher objects in both runs: recording, they relay the real
// watcher's events; at replay no watcher is started and the events come from the log.
import EventEmitter from 'node:events';
import type fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api } from '../../trace/format.js';
import { currentSession } from '../../session/session.js';
import { asProgram, cancelOp, guard, promiseCall, recording, summary, syncCall } from './public.js';

type Callback = (...a: unknown[]) => void;
type Real = Record<string, Callback>;

export class FSWatcher extends EventEmitter {
  #real: fs.FSWatcher | null = null;
  #op = 0;
  #closed = false;

  /** Recording: starts relaying the real watcher's events, each logged as a turn of one op. */
  start(real: fs.FSWatcher | null): void {
    this.#real = real;
    this.#op = currentSession().async({
      api: Api['fs.watch.change'],
      what: 'fs.watch() events',
      repeat: true,
      start(done) {
        real!.on('change', (eventType, filename) => done('change', eventType, filename));
        real!.on('error', (err) => done('error', err));
      },
      cb: (event, ...args) => {
        if (event === 'error') this.#stop();
        asProgram(() => this.emit(event as string, ...args));
      },
    });
  }

  #stop(): void {
    cancelOp(this.#op);
    this.#op = 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#real?.close();
    this.#stop();
    process.nextTick(() => this.emit('close'));
  }

  ref(): this {
    this.#real?.ref();
    return this;
  }

  unref(): this {
    this.#real?.unref();
    return this;
  }
}

/** fs.watch(filename[, options][, listener]) */
export function watch(
  realWatch: Callback,
  filename: unknown,
  options: unknown,
  listener: unknown,
): FSWatcher | fs.FSWatcher {
  if (typeof options === 'function') listener = options;
  const opts = typeof options === 'object' && options !== null ? (options as { signal?: AbortSignal }) : undefined;
  const { signal, ...rest } = opts ?? {};
  const realOptions = typeof options === 'string' ? options : rest;
  const watcher = new FSWatcher();
  let real: fs.FSWatcher | null = null;
  syncCall(Api['fs.watch'], summary('sync', [filename, realOptions]), () => {
    real = realWatch(filename, realOptions) as unknown as fs.FSWatcher;
  });
  watcher.start(recording() ? real : null);
  if (typeof listener === 'function') watcher.on('change', listener as Callback);
  if (signal) {
    if (signal.aborted) process.nextTick(() => watcher.close());
    else {
      const onAbort = () => watcher.close();
      signal.addEventListener('abort', onAbort);
      watcher.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return watcher;
}

/**
 * Recording, inside a call rewind lets through (Node's recursive watcher builds itself from
 * plain watchers): the watcher is Node's, and its listener's own fs calls are Node's too.
 */
export function nestedWatch(realWatch: Callback, args: unknown[]): unknown {
  const i = args.findIndex((a) => typeof a === 'function');
  if (i >= 0) {
    const listener = args[i] as Callback;
    args[i] = function (this: unknown, ...a: unknown[]) {
      guard.depth++;
      try {
        return listener.apply(this, a);
      } finally {
        guard.depth--;
      }
    };
  }
  return realWatch(...args);
}

/** fs.promises.watch(): each value the program pulls is a turn. */
export function watchIterator(
  realWatch: Callback,
  filename: unknown,
  options: unknown,
): AsyncIterableIterator<unknown> {
  let real: AsyncIterator<unknown> | null = null;
  let started = false;
  let finished = false;
  const pull = (): Promise<IteratorResult<unknown>> => {
    if (finished) return Promise.resolve({ value: undefined, done: true });
    const first = !started;
    started = true;
    const start = () => {
      real ??= realWatch(filename, options) as unknown as AsyncIterator<unknown>;
      return real.next();
    };
    const p = first
      ? promiseCall<IteratorResult<unknown>>(
          Api['fs.watch'],
          summary('promise', [filename, options]),
          'fs.promises.watch()',
          start,
        )
      : promiseCall<IteratorResult<unknown>>(Api['fs.watch.change'], undefined, 'fs.promises.watch() events', start);
    return p.then(
      (r) => {
        if (r.done) finished = true;
        return r;
      },
      (e) => {
        finished = true;
        throw e;
      },
    );
  };
  const it: AsyncIterableIterator<unknown> = {
    next: pull,
    return(value?: unknown) {
      finished = true;
      void real?.return?.(value);
      return Promise.resolve({ value, done: true });
    },
    throw(err?: unknown) {
      finished = true;
      void real?.return?.();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

// ---- watchFile -------------------------------------------------------------------------

export class StatWatcher extends EventEmitter {
  #real: Real | null = null;
  #op = 0;
  #relay: Callback | null = null;

  /** `real` is Node's StatWatcher (recording) or null; `relay` its listener. */
  start(real: Real | null, relay: Callback | null): void {
    this.#real = real;
    this.#relay = relay;
  }

  set op(op: number) {
    this.#op = op;
  }

  stop(): void {
    if (this.#op === 0) return;
    cancelOp(this.#op);
    this.#op = 0;
    process.nextTick(() => this.emit('stop'));
  }

  get relay(): Callback | null {
    return this.#relay;
  }

  ref(): this {
    this.#real?.ref();
    return this;
  }

  unref(): this {
    this.#real?.unref();
    return this;
  }
}

const statWatchers = new Map<string, StatWatcher>();

const resolved = (filename: unknown): string => {
  const p =
    filename instanceof URL
      ? fileURLToPath(filename)
      : Buffer.isBuffer(filename)
        ? filename.toString()
        : String(filename);
  return path.resolve(p);
};

/** fs.watchFile(filename[, options], listener) */
export function watchFile(
  real: { watchFile: Callback; unwatchFile: Callback },
  filename: unknown,
  options: unknown,
  listener: unknown,
): StatWatcher {
  if (options === null || typeof options !== 'object') {
    listener = options;
    options = undefined;
  }
  const key = resolved(filename);
  let watcher = statWatchers.get(key);
  if (!watcher) {
    const w = new StatWatcher();
    let relay: Callback | null = null;
    let done: Callback | null = null;
    const realWatcher = syncCall(Api['fs.watchFile'], summary('sync', [key, options]), () => {
      relay = (curr, prev) => done!(curr, prev);
      return real.watchFile(filename, options ?? {}, relay) as unknown as Real;
    });
    w.start(recording() ? realWatcher : null, relay);
    w.op = currentSession().async({
      api: Api['fs.watchFile.change'],
      what: 'fs.watchFile() events',
      repeat: true,
      start(d) {
        done = d;
      },
      cb: (curr, prev) => asProgram(() => w.emit('change', curr, prev)),
    });
    statWatchers.set(key, w);
    watcher = w;
  }
  watcher.addListener('change', listener as Callback);
  return watcher;
}

/** fs.unwatchFile(filename[, listener]) */
export function unwatchFile(real: { unwatchFile: Callback }, filename: unknown, listener: unknown): void {
  const key = resolved(filename);
  const watcher = statWatchers.get(key);
  if (!watcher) return;
  if (typeof listener === 'function') watcher.removeListener('change', listener as Callback);
  else watcher.removeAllListeners('change');
  if (watcher.listenerCount('change') === 0) {
    if (watcher.relay) real.unwatchFile(filename, watcher.relay);
    watcher.stop();
    statWatchers.delete(key);
  }
}
