// Stack traces the program sees must not depend on whether it runs recorded or replayed.
// Record enters callbacks through rewind's wrappers and Node's timer lists; replay enters
// them from rewind's dispatcher. Both sets of frames are dropped from every stack, so an
// uncaught exception prints the same text in both runs.
import { isRewindFile } from '../paths.js';

// Where the event loop enters callbacks and drains microtasks: these frames depend on how
// a turn was dispatched (a timer list, an immediate batch), not on the program. Node enters
// native callbacks through async_hooks' callbackTrampoline only while hooks are enabled
// (rewind record --audit, a replay under the debug controller).
// A message port's messages enter from Node's per-context emitMessage when they come from
// the other thread, and from the dispatcher when replay delivers them (a worker's inbound
// messages wait for their turn): that frame is dropped too.
const HIDDEN_INTERNALS = new Set([
  'node:internal/timers',
  'node:internal/process/task_queues',
  'node:internal/async_hooks',
  'node:internal/per_context/messageport',
]);

export interface CallSite {
  getFileName(): string | undefined | null;
  getFunctionName(): string | null;
  toString(): string;
}

export function isHidden(site: CallSite): boolean {
  const file = site.getFileName();
  if (!file) return false;
  return isRewindFile(file) || HIDDEN_INTERNALS.has(file);
}

/**
 * A replayed callback runs in the async context its operation was started in, through
 * AsyncLocalStorage.snapshot() (session/async-context.ts): those frames (node:async_hooks,
 * node:internal/async_local_storage/…) right above rewind's are rewind's too. The same
 * frames above the program's own are the program's (its AsyncResource.runInAsyncScope).
 */
const isContextFrame = (site: CallSite): boolean => {
  const file = site.getFileName();
  return file === 'node:async_hooks' || (!!file && file.startsWith('node:internal/async_local_storage/'));
};

/** The frames the program sees. */
export function visibleFrames(trace: CallSite[]): CallSite[] {
  const out: CallSite[] = [];
  for (let i = 0; i < trace.length; i++) {
    const site = trace[i];
    if (isHidden(site)) continue;
    if (isContextFrame(site)) {
      let j = i + 1;
      while (j < trace.length && isContextFrame(trace[j])) j++;
      const below = trace[j]?.getFileName();
      if (below && isRewindFile(below)) {
        i = j - 1;
        continue;
      }
    }
    out.push(site);
  }
  return out;
}

type Prepare = (error: Error, trace: CallSite[]) => unknown;

/** While set, the main realm's Error.prepareStackTrace is this, unfiltered (see callSites). */
let ownPrepare: Prepare | null = null;
const keepSites: Prepare = (_error, trace) => trace;

/**
 * The frames above `fn`, at most `limit`, rewind's included, for rewind's own look at who
 * is calling (sources/fs/loader.ts): neither the filter below nor the program's
 * prepareStackTrace sees them. Call sites, or V8's own text when called from inside a
 * prepareStackTrace (V8 does not call the hook again there, and Node formats it itself).
 */
export function callSites(fn: (...a: never[]) => unknown, limit: number): CallSite[] | string | undefined {
  const E = Error as unknown as { stackTraceLimit: number };
  const saved = E.stackTraceLimit;
  const holder: { stack?: CallSite[] | string } = {};
  ownPrepare = keepSites;
  E.stackTraceLimit = limit;
  try {
    Error.captureStackTrace(holder, fn);
    return holder.stack;
  } finally {
    ownPrepare = null;
    E.stackTraceLimit = saved;
  }
}

/** Node's default formatting (lib/internal/errors.js), used when no hook is installed. */
function defaultPrepare(error: Error, trace: CallSite[]): string {
  let head: string;
  try {
    head = Error.prototype.toString.call(error);
  } catch {
    head = '<error>';
  }
  if (trace.length === 0) return head;
  return `${head}\n    at ${trace.join('\n    at ')}`;
}

/** Frames V8 captures beyond the program's Error.stackTraceLimit, for rewind's hidden ones. */
export const STACK_HEADROOM = 11;

/**
 * Hidden frames count against Error.stackTraceLimit when V8 captures a stack, and there
 * are more of them at replay (rewind's dispatcher) than when recording (Node's timer lists,
 * rewind's wrappers), or fewer: a stack deeper than the limit lost other program frames in
 * each run, most often the async frames at its end (a failed assertion's stack in ava's
 * worker, serialized to its parent, was shorter at replay). V8 reads the limit as a plain
 * data property (an accessor would turn stacks off), so rewind raises it by STACK_HEADROOM
 * and cuts the visible frames back to the program's limit. The program reads the raised
 * value (10 + 11 by default: not a round number a program would set itself), in both runs;
 * a value the program sets itself is used as is (but for the raised value itself).
 * Returns the cut, for the filter: a trace captured under the raised limit (as long as it
 * is still the value rewind set) keeps the program's limit in visible frames.
 */
function withHeadroom(ErrorClass: ErrorConstructor): (trace: CallSite[], frames: CallSite[]) => CallSite[] {
  const keep = (_trace: CallSite[], frames: CallSite[]) => frames;
  const E = ErrorClass as unknown as { stackTraceLimit: unknown };
  const d = Object.getOwnPropertyDescriptor(ErrorClass, 'stackTraceLimit');
  if (!d || !d.writable || typeof d.value !== 'number' || !Number.isFinite(d.value) || d.value < 0) return keep;
  const raised = Math.floor(d.value) + STACK_HEADROOM;
  const program = raised - STACK_HEADROOM;
  try {
    E.stackTraceLimit = raised;
  } catch {
    return keep;
  }
  return (trace, frames) =>
    E.stackTraceLimit === raised && trace.length <= raised && frames.length > program
      ? frames.slice(0, program)
      : frames;
}

/**
 * Wraps Error.prepareStackTrace (Node 20+ installs a default one that also applies source
 * maps) so that it never sees rewind's frames. Programs that install their own (vite's
 * module runner under vitest, source-map-support) get it wrapped too: the property is an
 * accessor whose setter keeps the program's function and whose getter hands out its
 * filtering wrapper, so a program that saves and restores it restores its own.
 * `ErrorClass`: a vm context's Error (sources/realms.ts). Node formats an error made in a
 * context with that context's Error.prepareStackTrace (Jest installs source-map-support
 * there), else with the main realm's: a context's getter gives nothing when the program set
 * nothing, so that Node still falls back to the main realm's.
 */
export function installStackFilter(ErrorClass: ErrorConstructor = Error): void {
  const realm = ErrorClass !== Error;
  const wrappers = new WeakMap<Prepare, Prepare>();
  const programs = new WeakMap<Prepare, Prepare>();
  const limit = withHeadroom(ErrorClass);
  const filtering = (fn: Prepare): Prepare => {
    let w = wrappers.get(fn);
    if (!w) {
      w = function prepareStackTrace(error: Error, trace: CallSite[]) {
        return fn(error, limit(trace, visibleFrames(trace)));
      };
      wrappers.set(fn, w);
      programs.set(w, fn);
    }
    return w;
  };
  const E = ErrorClass as unknown as { prepareStackTrace?: Prepare };
  let current: unknown = E.prepareStackTrace;
  Object.defineProperty(ErrorClass, 'prepareStackTrace', {
    configurable: true,
    enumerable: false,
    get: () =>
      (!realm && ownPrepare) ||
      (typeof current === 'function' ? filtering(current as Prepare) : realm ? current : filtering(defaultPrepare)),
    set: (fn: unknown) => {
      current = (typeof fn === 'function' && programs.get(fn as Prepare)) || fn;
    },
  });
}

/**
 * The current JS stack without rewind's frames, for reports. Formatted here, never by the
 * program's Error.prepareStackTrace: vite-node's and source-map-support's read files, and
 * at replay those reads would be taken for the program's (reported as the divergence).
 */
export function programStack(): string {
  const E = Error as unknown as { prepareStackTrace?: unknown };
  const limit = Error.stackTraceLimit;
  // Node's own formatting: the program's (jest's source maps) may read files, at replay
  // from the log it is reporting on.
  const prepare = E.prepareStackTrace;
  E.prepareStackTrace = undefined;
  Error.stackTraceLimit = 30;
  const captured: { stack?: string } = {};
  try {
    Error.captureStackTrace(captured);
    void captured.stack;
  } finally {
    Error.stackTraceLimit = limit;
    E.prepareStackTrace = prepare;
  }
  const lines = (captured.stack ?? '').split('\n').slice(1);
  const user = lines.filter((l) => !isRewindFile(l) && ![...HIDDEN_INTERNALS].some((f) => l.includes(`(${f}:`)));
  return user.join('\n');
}
