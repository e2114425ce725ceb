// The public fs functions still recorded above the binding, because what they call is not
// the fs binding (Dir reads through a native directory handle of another binding; watchers
// are libuv handles): the three shapes of a call, written once against the Session. Each
// form of one function shares its Api id; the first element of the argument summary names
// the form, so a listing reads `fs.opendir ["cb", "a"]`.
import { currentSession, type ResultCodec } from '../../session/session.js';
import { encodeValue, decodeValue } from '../../trace/values.js';

export type Form = 'sync' | 'cb' | 'promise';
type Results = unknown[];
type Callback = (...results: unknown[]) => void;

/**
 * While > 0, fs binding calls go straight to Node, unrecorded: inside a call recorded here
 * whole (Node's own calls inside it are part of it). Reset to 0 wherever rewind hands
 * control back to the program.
 */
export const guard = { depth: 0 };

export const recording = (): boolean => currentSession().mode === 'record';

/** Runs program code (a listener, a callback) with recording on, whatever the guard was. */
export function asProgram<A extends unknown[]>(fn: (...a: A) => void, ...args: A): void {
  const saved = guard.depth;
  guard.depth = 0;
  try {
    fn(...args);
  } finally {
    guard.depth = saved;
  }
}

// ---- argument summaries ------------------------------------------------------------------

/** A path, flag, mode, fd or option as stored in a summary: small and msgpack-safe. */
export function argOf(a: unknown): unknown {
  if (a === null || typeof a !== 'object') return typeof a === 'function' || typeof a === 'symbol' ? undefined : a;
  if (ArrayBuffer.isView(a) || a instanceof Date) return a;
  if (typeof (a as { href?: unknown }).href === 'string') return (a as { href: string }).href; // a file: URL
  if (Array.isArray(a)) return a.length;
  // Options: their plain values (flags, encodings, modes), not signals or functions.
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(a)) {
    const v = (a as Record<string, unknown>)[k];
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) out[k] = v;
  }
  return out;
}

/** [form, ...arguments] without the callback and without trailing undefineds. */
export function summary(form: Form, args: ArrayLike<unknown>, end = args.length): unknown[] {
  while (end > 0 && args[end - 1] === undefined) end--;
  const out: unknown[] = [form];
  for (let i = 0; i < end; i++) out.push(argOf(args[i]));
  return out;
}

// ---- the three forms ---------------------------------------------------------------------

/** A synchronous call: Node's nested calls inside it are not recorded on their own. */
export function syncCall<T>(api: number, args: unknown, real: () => T, codec?: ResultCodec<T>): T {
  guard.depth++;
  try {
    return currentSession().call(api, args, real, codec);
  } finally {
    guard.depth--;
  }
}

/** Results stored as they are (already encoded). */
const RAW: ResultCodec<unknown> = { encode: (v) => v, decode: (v) => v };
const DEFAULT_CODEC: ResultCodec<Results> = { encode: (r) => encodeValue(r), decode: (p) => decodeValue(p) as Results };

/**
 * A callback call. Its start is a Call: Node validates the arguments synchronously, so it
 * may throw, or (exists, readdir recursive on Node 20, an aborted signal) call back at once;
 * the Call records which. Otherwise the callback runs in a later turn, logged as that turn.
 * Returns the op id, or 0 when there is none.
 */
export function callbackCall(
  api: number,
  args: unknown,
  what: string,
  invoke: (cb: Callback) => void,
  cb: Callback,
  codec: ResultCodec<Results> = DEFAULT_CODEC,
): number {
  const s = currentSession();
  let done: Callback | null = null;
  let early: Results | null = null;
  // Node's own calls made by this one (fs.exists → fs.access) are part of it.
  guard.depth++;
  let logged: unknown;
  try {
    logged = s.call(
      api,
      args,
      () => {
        invoke(function (...results: unknown[]) {
          if (done) done(...results);
          else early = results;
        });
        return early === null ? undefined : codec.encode(early);
      },
      RAW,
    );
  } finally {
    guard.depth--;
  }
  if (s.mode === 'record' ? early !== null : logged !== undefined) {
    cb(...(s.mode === 'record' ? early! : codec.decode(logged)));
    return 0;
  }
  return s.async({
    api,
    what,
    start(d) {
      done = d;
    },
    cb,
    codec,
  });
}

const PROMISE_CODEC: ResultCodec<Results> = DEFAULT_CODEC;

/** A promise call: recorded when the real promise settles (a turn), replayed in that turn. */
export function promiseCall<T>(
  api: number,
  args: unknown,
  what: string,
  start: () => Promise<T>,
  codec: ResultCodec<Results> = PROMISE_CODEC,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    currentSession().async({
      api,
      args,
      what,
      start(done) {
        guard.depth++;
        try {
          start().then(
            (v) => done(null, v),
            (e) => done(e),
          );
        } finally {
          guard.depth--;
        }
      },
      cb(err, value) {
        if (err) reject(err);
        else resolve(value as T);
      },
      codec,
    });
  });
}

/**
 * The op will never complete again (a watcher closed): replay's dispatcher forgets it;
 * recording with --chaos drops the events it still holds back for it.
 */
export function cancelOp(op: number): void {
  if (!op) return;
  const s = currentSession();
  if (s.mode === 'replay') s.cancel(op);
  else s.chaos?.finished(op);
}
