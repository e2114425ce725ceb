// Shared memory between threads. What an Atomics operation finds in a SharedArrayBuffer
// depends on how far the other threads have got: a race, which the recording settles.
// Threads that hand work over through shared memory (thread-stream's ring buffer under
// pino's transports, piscina's task counters) read each other's progress with Atomics.load
// and block in Atomics.wait.
//
// Once a process has worker threads, its threads' Atomics operations on shared memory take
// tickets from one counter (sources/workers.ts hands it to each thread), each operation
// with its ticket under a lock, so the tickets are the order in which they reached memory;
// each is logged with its ticket and what it returned. At replay the threads run together
// again, and each operation waits for its ticket: the threads' operations reach memory in
// the recorded order, so each finds what it found then. It is performed for real (the
// replayed threads see each other's writes) and its result checked against the log. An
// Atomics.wait takes a ticket as it starts and one as it returns; at replay it does not
// block for real: it returns, as recorded, when the operations before its second ticket
// are done (time is virtual: one that timed out costs nothing). Atomics.notify wakes the
// same threads, which at replay wait for their tickets instead: it returns the recorded count.
//
// Plain indexing of shared memory (sharedArray[i]) is not seen: programs that synchronise
// through Atomics write data before the Atomics operation that publishes it, and read it
// after the one that sees it published, so the order of their Atomics operations decides
// what they read. Atomics.waitAsync is not covered.
import { Api } from '../trace/format.js';
import type { TraceEvent } from '../trace/reader.js';
import { original } from '../node/originals.js';
import type { Session, Source } from '../session/session.js';
import { sharedMemoryOrder } from './workers.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Cells = any; // an integer TypedArray

const A = original.Atomics as any;
/** How long a replayed thread waits for the others to do the shared-memory operations recorded before its own. */
const CATCH_UP_MS = 60_000;
/** Recording: the slots of the process's counter (sources/workers.ts). */
const NEXT = 0;
const LOCK = 1;

const isShared = (ta: unknown): boolean =>
  ArrayBuffer.isView(ta) && (ta as { buffer: unknown }).buffer instanceof SharedArrayBuffer;

const ATOMICS_APIS = new Set<number>([Api['atomics.read'], Api['atomics.wait'], Api['atomics.notify']]);
/** The ticket an event of this source holds (for the replay's ticket table, sources/workers.ts). */
export const atomicsTicket = (ev: TraceEvent): number | undefined => {
  if (ev.kind !== 'call' || !ATOMICS_APIS.has(ev.api!) || ev.call?.status !== 1) return undefined;
  const v = ev.call.value as number[];
  return Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined;
};

/** Operations on a cell, in order: a store too, or a load after it could find it early. Their result is what they found (a store's, what it stored). */
const READS = ['load', 'store', 'add', 'sub', 'and', 'or', 'xor', 'exchange', 'compareExchange'] as const;

export const sharedMemorySource: Source = {
  name: 'shared-memory',
  install(s: Session) {
    const target = Atomics as any;
    const replay = s.mode === 'replay' ? s : null;

    // ---- recording: the operation and its ticket, together --------------------------------
    const locked = <T>(order: Int32Array, op: () => T): [number, T] => {
      // Held for one operation only; a thread terminated while holding it never lets go: after
      // a while its lock is taken over.
      for (let spins = 0; A.compareExchange(order, LOCK, 0, 1) !== 0; spins++) {
        if (spins > 1000 && A.wait(order, LOCK, 1, 1) === 'timed-out' && spins > 1200) break;
      }
      try {
        const ticket = A.add(order, NEXT, 1);
        return [ticket, op()];
      } finally {
        A.store(order, LOCK, 0);
      }
    };

    // ---- replay: wait for the ticket, do the operation, pass the turn ---------------------
    const awaitTicket = (order: Int32Array, ticket: number, what: string): void => {
      let now = A.load(order, 0);
      if (now === ticket) return;
      replay!.passTurn(); // this thread's last output is written: the thread we wait for may write next
      const since = original.dateNow();
      while (now !== ticket) {
        if (now > ticket || original.dateNow() - since > CATCH_UP_MS) {
          replay!.mismatch(
            `${what}, and waited for the process's other threads to do the shared-memory operations recorded before it; ` +
              (now > ticket ? 'its turn has passed' : `they stopped at operation ${now} of the recording`),
          );
        }
        A.wait(order, 0, now, 50);
        now = A.load(order, 0);
      }
    };
    const passTicket = (order: Int32Array): void => {
      // Slot 1 + k: the next ticket after k that some thread's log holds (sources/workers.ts).
      const now = A.load(order, 0);
      A.store(order, 0, now + 1 < order.length ? order[now + 1] : now + 1);
      A.notify(order, 0);
    };

    /** An Atomics operation on shared memory, in its place among the process's threads' operations. */
    const ordered = (api: number, args: unknown[], what: () => string, real: () => unknown): unknown => {
      const order = sharedMemoryOrder();
      if (order === null) return real(); // no other thread yet
      if (!replay) return s.call(api, args, () => locked(order, real))[1];
      const [ticket, recorded] = s.call(api, args, () => [-1, real()] as [number, unknown]);
      if (ticket < 0) return recorded; // evaluated while a debugger has the program paused
      awaitTicket(order, ticket, what());
      try {
        const result = api === Api['atomics.read'] ? real() : recorded;
        if (result !== recorded)
          replay.mismatch(`${what()} and found ${String(result)} (the recording found ${String(recorded)})`);
        return result;
      } finally {
        passTicket(order);
      }
    };

    for (const name of READS) {
      const real = A[name];
      target[name] = function (this: unknown, ta: Cells, index: number, ...values: unknown[]) {
        if (!isShared(ta)) return real(ta, index, ...values);
        const what = () => `called Atomics.${name} on shared memory (${ta.constructor.name} cell ${index})`;
        return ordered(Api['atomics.read'], [name, Number(index)], what, () => real(ta, index, ...values));
      };
    }

    const realWait = A.wait;
    target.wait = function wait(ta: Cells, index: number, value: unknown, timeout?: number) {
      if (!isShared(ta) || sharedMemoryOrder() === null) return realWait(ta, index, value, timeout);
      const what = () => `called Atomics.wait on shared memory (${ta.constructor.name} cell ${index})`;
      // Its start: whether the cell holds `value` is decided here (A.load throws Node's own
      // errors for a bad array or index, in both modes).
      ordered(Api['atomics.read'], ['wait', Number(index)], what, () => A.load(ta, index));
      // Its end, blocked outside the lock: recording, the ticket is taken once it returns.
      const how = replay ? undefined : realWait(ta, index, value, timeout);
      return ordered(Api['atomics.wait'], [Number(index)], what, () => how);
    };

    // Its promise settles as another thread notifies, whenever that is: not recorded, and said so.
    const realWaitAsync = A.waitAsync;
    if (typeof realWaitAsync === 'function') {
      target.waitAsync = function waitAsync(ta: Cells, index: number, value: unknown, timeout?: number) {
        if (isShared(ta) && sharedMemoryOrder() !== null)
          s.unsupported('Atomics.waitAsync', 'when it settles, as another thread notifies, is not recorded');
        return realWaitAsync(ta, index, value, timeout);
      };
    }

    const realNotify = A.notify;
    target.notify = function notify(ta: Cells, index: number, count?: number) {
      if (!isShared(ta)) return realNotify(ta, index, count);
      const what = () => `called Atomics.notify on shared memory (${ta.constructor.name} cell ${index})`;
      return ordered(Api['atomics.notify'], [Number(index)], what, () => realNotify(ta, index, count));
    };
  },
};
