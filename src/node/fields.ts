// Node's underscore fields and internal module names rewind reads or replaces, each named
// here once, with a typed view of the objects that hold them. Checked at start-up
// (src/node/check.ts); checked on Node 20.20, 22.23, 24.21.
import { createHook } from 'node:async_hooks';
import NodeModule from 'node:module';
import net from 'node:net';
import type * as Http from 'node:http';
import type * as Inspector from 'node:inspector';
import type * as WorkerThreads from 'node:worker_threads';
import { lookup } from './internals.js';

/** process with its private fields. */
export const nodeProcess = process as unknown as {
  /** Exits without running 'exit' listeners: process.exit ends in it. */
  reallyExit(code: number): never;
  /** The internal modules Node loaded so far ('NativeModule internal/fs/read/context'). */
  moduleLoadList?: string[];
};

/** The CommonJS loader's Module class, with the private functions rewind patches. */
type ModuleClass = typeof NodeModule & {
  _load(request: string, ...rest: unknown[]): unknown;
  _findPath(request: string, paths: unknown, isMain?: boolean): string | false;
  prototype: Record<'load' | '_compile', (...a: unknown[]) => unknown>;
};

/** In the CommonJS bundles, the class of the module object they run in (the build's banner); absent in ESM. */
declare const __rewindModuleClass: unknown;

/**
 * The CommonJS loader's Module class (Module._load; Module.prototype.load, _compile), which
 * is node:module's default export. In the preload bundle it is the class of the module the
 * bundle runs in, not node:module: lib/module.js adds to the class only register,
 * findSourceMap and SourceMap (on 22 and 24 also the compile cache's functions and a few
 * more), and loads the ESM loader and source maps for them (~0.3 ms of every start, and
 * entries in process.moduleLoadList that a plain run of a CommonJS program has not: four on
 * Node 20 and 22; 24 loads the ESM loader anyway). What rewind patches of those additions
 * waits for node:module to load (compile-cache.ts, workers.ts): node:module's default export
 * is this very class.
 */
export const cjsLoader: ModuleClass = (() => {
  const given = (typeof __rewindModuleClass === 'function' ? __rewindModuleClass : undefined) as
    Partial<ModuleClass> | undefined;
  const whole =
    typeof given?._load === 'function' &&
    typeof given.createRequire === 'function' &&
    typeof given.syncBuiltinESMExports === 'function';
  return (whole ? given : NodeModule) as ModuleClass;
})();

/** Whether Node has loaded the internal module `id` (e.g. 'internal/test_runner/test') so far. */
export function nodeLoaded(id: string): boolean {
  const list = loadList();
  return list !== null && list.includes(`NativeModule ${id}`);
}

const loadList = (): string[] | null =>
  lookup('process.moduleLoadList', "what Node loaded before rewind (readFile's context, node:test)", () =>
    Array.isArray(nodeProcess.moduleLoadList) ? nodeProcess.moduleLoadList : null,
  );

/**
 * Whether this is the process's main thread, and this thread's id, told without loading
 * node:worker_threads (and the streams it loads, ~1.3 ms) into a main thread that does not
 * use it: in a worker thread Node has loaded worker_threads before any preload runs, and
 * disabled process.abort() (both checked on Node 20, 22, 24); either sends us to ask it.
 */
export const thread: { readonly isMain: boolean; readonly id: number } = (() => {
  const inWorker = nodeLoaded('worker_threads') || (process.abort as { disabled?: unknown }).disabled === true;
  if (!inWorker) return { isMain: true, id: 0 };
  const { isMainThread, threadId } = builtinModule<typeof WorkerThreads>('node:worker_threads');
  return { isMain: isMainThread, id: threadId };
})();

/** Installs waiting for their built-in to load, by its entry ('NativeModule v8', 'Internal Binding crypto'). */
const waiting = new Map<string, (() => void)[]>();
/** What the next load runs (with its entry) before its own installs: aroundLoadAfter's undo. */
let atNextLoad: ((entry: string) => void)[] = [];
let watching: boolean | undefined;

/**
 * Node notes each built-in it loads in process.moduleLoadList ('NativeModule v8'), pushed
 * once the module's body has run and its exports are complete, before whoever asked gets
 * them: CommonJS require, ESM import (whose namespace is built after), getBuiltinModule,
 * and one built-in loading another (https loading http) alike. Its push (a primordial)
 * stores each entry with [[Set]], which for a new index asks the array's prototype: a
 * Proxy there sees every load. Checked on Node 20.20, 22.23, 24.21.
 */
function watchLoads(): boolean {
  if (watching !== undefined) return watching;
  // Without it (or with another prototype there) the modules are loaded now: nothing is lost.
  const list = loadList();
  if (list === null || Object.getPrototypeOf(list) !== Array.prototype) return (watching = false);
  const loaded = new Proxy(Array.prototype, {
    set(target, key, value, receiver) {
      const stored = Reflect.set(target, key, value, receiver);
      if (atNextLoad.length > 0 && typeof value === 'string') {
        const next = atNextLoad;
        atNextLoad = [];
        for (const run of next) run(value);
      }
      const installs = typeof value === 'string' ? waiting.get(value) : undefined;
      if (installs) {
        waiting.delete(value as string);
        for (const install of installs) install();
      }
      return stored;
    },
  });
  return (watching = Reflect.setPrototypeOf(list, loaded));
}

/**
 * Runs `install` when Node loads the built-in `id`, before the program can use it (now, if
 * it is loaded): a source whose module the program never loads costs nothing at start-up.
 * `install` must only touch `id` and what is loaded already, and needs no
 * syncBuiltinESMExports: Node makes a built-in's ESM namespace after this load (one loaded
 * at start-up is installed now, before start() syncs them all). Calling it from here would
 * read every built-in's getters (process.stdin...) in the middle of another module's load.
 * Where loads cannot be watched, the module is loaded now (`load`: by its public name).
 */
export function whenLoaded(id: string, install: () => void, load = () => builtinModule(`node:${id}`)): void {
  whenListed(`NativeModule ${id}`, install, load);
}

/**
 * Runs `during` as Node notes the built-in `first` loaded, and `undo` (told which entry) as
 * it notes the next one: the body of the module that asked for `first` runs in between,
 * when that module loads `first` as its last new dependency before it reads another built-in
 * it keeps (internal/perf/observe takes timers' setImmediate so: captured-clocks.ts). Returns
 * false, running nothing, where loads cannot be watched or `first` is loaded already.
 */
export function aroundLoadAfter(first: string, during: () => void, undo: (next: string) => void): boolean {
  if (nodeLoaded(first) || !watchLoads()) return false;
  whenListed(
    `NativeModule ${first}`,
    () => {
      during();
      atNextLoad.push(undo);
    },
    () => {},
  );
  return true;
}

/**
 * WebCrypto's module: Node's globalThis.crypto is a getter that loads it on first read,
 * without node:crypto (whose `webcrypto` export loads it too).
 */
export const WEBCRYPTO = 'internal/crypto/webcrypto';
const loadWebCrypto = () => globalThis.crypto;

/**
 * whenLoaded for WebCrypto: `install` runs inside the first read of globalThis.crypto (or of
 * node:crypto's `webcrypto`), where it may read globalThis.crypto again: Node's getter then
 * returns the instance it made.
 */
export function whenWebCryptoLoaded(install: () => void): void {
  whenLoaded(WEBCRYPTO, install, loadWebCrypto);
}

/** takenWhenLoaded for WebCrypto (see whenWebCryptoLoaded). */
export const takenWhenWebCryptoLoaded = <T>(take: () => T): (() => T) =>
  takenWhenLoaded(WEBCRYPTO, take, loadWebCrypto);

/**
 * whenLoaded for one of Node's internal bindings ('crypto'): Node notes 'Internal Binding
 * crypto' once it made the binding, before the module that asked for it goes on, so
 * `install` runs before any of the binding's classes is used. `load`: where loads cannot
 * be watched.
 */
export function whenBindingLoaded(name: string, install: () => void, load: () => void): void {
  whenListed(`Internal Binding ${name}`, install, load);
}

function whenListed(entry: string, install: () => void, load: () => void): void {
  if (loadList()?.includes(entry)) return install();
  if (!watchLoads()) {
    load();
    return install();
  }
  const installs = waiting.get(entry);
  if (installs) installs.push(install);
  else waiting.set(entry, [install]);
}

/**
 * What `take` reads from the built-in `id` (its functions as Node made them), taken as Node
 * loads it, before the program can patch it (and before a source's own install, registered
 * later, replaces them); or, asked for first, by loading it then. Rewind's own uses of a
 * built-in it does not load at start-up.
 */
export function takenWhenLoaded<T>(id: string, take: () => T, load = () => builtinModule(`node:${id}`)): () => T {
  let taken: T | undefined;
  whenLoaded(id, () => void (taken ??= take()), load);
  return () => {
    if (taken !== undefined) return taken;
    // Loaded first, so that the install above takes them, ahead of any source's patch.
    load();
    return (taken ??= take());
  };
}

/**
 * A built-in's exports by id, for the internals of modules rewind does not load at start-up
 * ('_http_server', once node:http loaded it): not an ESM import (see whenLoaded).
 */
export function builtinModule<T>(id: string): T {
  const get = (process as { getBuiltinModule?(id: string): unknown }).getBuiltinModule;
  return (get ? get(id) : cjsLoader.createRequire(import.meta.url)(id)) as T;
}

/**
 * node:inspector, on first use: the preload bundle holds the debugger's modules, which
 * recordings and plain replays never use (and a program's own module hooks never see it load).
 */
export const inspectorModule = (): typeof Inspector => builtinModule<typeof Inspector>('node:inspector');

/** ServerResponse.prototype with the function that writes a response's head (once node:http is loaded). */
export const serverResponse = (): { _storeHeader(firstLine: string, headers: unknown): void } =>
  builtinModule<typeof Http>('_http_server').ServerResponse.prototype as never;

/** A response's head as Node builds it before writing it (OutgoingMessage#_header). */
export const responseHead = {
  get: (res: object): string => (res as { _header: string })._header,
  set(res: object, head: string): void {
    (res as { _header: string })._header = head;
  },
};

/**
 * A Node timer's delay (Timeout#_idleTimeout; -1 once cleared). Read on a socket's idle
 * timer, which Node makes with its internal timers; checked where read (a timer without
 * it stays Node's, and a replay that needed it reports a divergence).
 */
export const timerDelay = (timer: object): number | undefined => (timer as { _idleTimeout?: number })._idleTimeout;
/**
 * When a Node timer was (re)armed, in the event loop's ms (Timeout#_idleStart): with its delay,
 * when it is due. A forced schedule lets timers due a moment apart go in either order
 * (session/schedule.ts); a timer without it keeps Node's order.
 */
export const timerStart = (timer: object): number | undefined => (timer as { _idleStart?: number })._idleStart;
/** The function a Node timer calls (Timeout#_onTimeout; null once cleared). */
export const timerCallback = (timer: object): unknown => (timer as { _onTimeout?: unknown })._onTimeout;

/** net.Socket.prototype with the function its idle timer calls (loads node:net). */
export const socketPrototype = () => net.Socket.prototype as unknown as { _onTimeout(): void };

/** The code of `node -e`/`-p` (Node sets it before any preload runs); undefined for a script. */
export const evalCode = (): string | undefined => (process as unknown as { _eval?: string })._eval;

/**
 * The lock Node's module loader waits on (Atomics.waitAsync) for the thread that runs
 * module.register() hooks: internal/modules/esm/hooks.js makes it (4 bytes; index 0 counts
 * that thread's notifications) and hands it over in the workerData of the message a Worker's
 * constructor sends its thread to load its script. Null for any other message.
 */
export function loaderHooksLock(message: unknown): Int32Array | null {
  const m = message as { type?: unknown; filename?: unknown; workerData?: { lock?: unknown } } | null;
  if (m === null || typeof m !== 'object' || m.type !== 'loadScript') return null;
  if (m.filename !== 'internal/modules/esm/worker') return null;
  const lock = m.workerData?.lock;
  return lock instanceof SharedArrayBuffer && lock.byteLength >= 4 ? new Int32Array(lock) : null;
}

type StdioCreated = (stream: NodeJS.WriteStream, fd: 1 | 2) => void;
/**
 * > 0 while Node makes process.stdout or process.stderr: the handle it opens for it (a Pipe's
 * open(fd), a TTY's setBlocking) is the program's output, never one of its streams, which
 * rewind records and serves at replay (sources/streams.ts).
 */
export const stdioMaking = { depth: 0 };
const stdioWaiting: StdioCreated[] = [];
let stdioLazy: boolean | undefined;
let stdioMaker: ((fd: 1 | 2) => NodeJS.WriteStream | null) | null = null;

/**
 * Has `make` make process.stdout and process.stderr in Node's place (where it returns null,
 * Node makes it): replay gives the program the stream class it had recorded (see
 * node/stdio-streams.ts). False where Node's lazy getters are not rewind's to take over (see
 * whenStdio): there Node's streams stand.
 */
export function makeStdioWith(make: (fd: 1 | 2) => NodeJS.WriteStream | null): boolean {
  if (stdioLazy === undefined) stdioLazy = deferStdio();
  if (stdioLazy) stdioMaker = make;
  return stdioLazy;
}

/**
 * Calls `created` with process.stdout and process.stderr once Node makes each: Node makes a
 * stdio stream when the program first reads process.stdout (a pipe's loads node:net and
 * node:stream, ~2 ms), and a program that writes nothing never makes one. Called in the
 * order given, before the stream reaches whoever asked. Where a stream may exist already
 * (a module Node makes one with is loaded: an earlier preload, a worker thread) or the
 * property is not Node's getter, both are made now.
 */
export function whenStdio(created: StdioCreated): void {
  if (stdioLazy === undefined) stdioLazy = deferStdio();
  if (!stdioLazy) {
    created(process.stdout, 1);
    created(process.stderr, 2);
  } else stdioWaiting.push(created);
}

function deferStdio(): boolean {
  // The modules a stdio stream is made with: tty (a terminal), net (a pipe or socket),
  // internal/fs/sync_write_stream (a file). (A closed fd's is a Writable that writes nowhere,
  // of node:stream, which rewind's worker_threads loads too.)
  const makers = ['tty', 'net', 'internal/fs/sync_write_stream'];
  // A forked child's IPC channel, set up before any preload, loads node:net without a stream.
  const forIpc = (m: string) => m === 'net' && thread.isMain && (process as { channel?: unknown }).channel != null;
  if (loadList() === null || makers.some((m) => nodeLoaded(m) && !forIpc(m))) return false;
  const fds = { stdout: 1, stderr: 2 } as const;
  const getters: [keyof typeof fds, () => NodeJS.WriteStream][] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const d = Object.getOwnPropertyDescriptor(process, name);
    if (!d?.get || !d.configurable || d.set) return false;
    getters.push([name, d.get as () => NodeJS.WriteStream]);
  }
  for (const [name, get] of getters) {
    let made = false;
    let ours: NodeJS.WriteStream | null = null;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: true,
      get() {
        if (made) return ours ?? get.call(this);
        made = true;
        let stream: NodeJS.WriteStream;
        stdioMaking.depth++;
        try {
          // Node's getter then never runs: it would open the fd a second time.
          ours = stdioMaker?.(fds[name]) ?? null;
          stream = ours ?? get.call(this);
        } finally {
          stdioMaking.depth--;
        }
        for (const created of stdioWaiting) created(stream, fds[name]);
        return stream;
      },
    });
  }
  return true;
}

/** A stdio stream's native handle (absent when it is a file or closed). */
export const stdioHandle = (stream: NodeJS.WriteStream): object | undefined =>
  (stream as unknown as { _handle?: object })._handle;

/**
 * Makes writes to stdout and stderr (or those given) finish before `write()` returns, when they are pipes or
 * sockets (files and terminals already do). Otherwise a write the reader is not ready for
 * waits in libuv's queue, and an exit that does not run the event loop again (a replay's
 * stop, `process.exit`) loses it.
 */
export function blockingStdio(...streams: NodeJS.WriteStream[]): void {
  for (const stream of streams.length ? streams : [process.stdout, process.stderr]) {
    const handle = stdioHandle(stream) as { setBlocking?: (on: boolean) => number } | undefined;
    if (typeof handle?.setBlocking === 'function') handle.setBlocking(true);
  }
}

/**
 * Calls `found` with node:test's Test class prototype (the one with `fail`), as the runner
 * creates its first test. node:test keeps that class to itself; it is an AsyncResource of
 * type 'Test', so a short-lived async hook meets the first test and is off again before it runs.
 */
export function onNodeTestClass<T extends object>(found: (proto: T) => void): void {
  let done = false;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (done || type !== 'Test') return;
      let proto = Object.getPrototypeOf(resource) as object | null;
      while (proto && !Object.hasOwn(proto, 'fail')) proto = Object.getPrototypeOf(proto);
      if (!proto) return;
      done = true;
      found(proto as T);
      // Not from inside the hook's own callback: Node would still be iterating its hooks.
      queueMicrotask(() => hook.disable());
    },
  });
  hook.enable();
}

/** Checks each field above is a function where rewind expects one. */
export function checkFields(): void {
  const fn = (name: string, affects: string, value: () => unknown) =>
    lookup(name, affects, () => (typeof value() === 'function' ? true : null));
  fn(
    'process.reallyExit',
    'the end of the program (its exit status) after exit listeners',
    () => nodeProcess.reallyExit,
  );
  fn('Module._load', 'calls of unsupported Node modules (reported)', () => cjsLoader._load);
  fn('Module.prototype.load', "telling the module loader's reads from the program's", () => cjsLoader.prototype.load);
  fn('Module._findPath', 'finding modules the program wrote or removed during the run', () => cjsLoader._findPath);
  fn(
    'Module.prototype._compile',
    "telling the module loader's reads from the program's",
    () => cjsLoader.prototype._compile,
  );
  nodeLoaded('internal/test_runner/test');
}

/** Checks net.Socket's field (once node:net is loaded: see check.ts). */
export function checkSocketFields(): void {
  lookup('net.Socket.prototype._onTimeout', 'socket idle timeouts (socket.setTimeout)', () =>
    typeof socketPrototype()._onTimeout === 'function' ? true : null,
  );
}

/** Checks the fields of node:http's responses (when node:http loads: see sources/http.ts); whether all are there. */
export function checkHttpFields(): boolean {
  const head = lookup('OutgoingMessage#_header', "HTTP responses' Date header (from the session's clock)", () =>
    Object.hasOwn(new (builtinModule<typeof Http>('_http_outgoing').OutgoingMessage)(), '_header') ? true : null,
  );
  const store = lookup('ServerResponse.prototype._storeHeader', 'the Date header of HTTP responses', () =>
    typeof serverResponse()._storeHeader === 'function' ? true : null,
  );
  return head !== null && store !== null;
}
