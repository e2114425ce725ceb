// A worker thread of a replay under a debugger (`rewind replay --inspect`, rewind dap): the
// debugger reaches it through its process's inspector (NodeWorker). Like the main thread's
// controller, it runs each turn inside insideTurn(), so that a pause says which of the
// worker's own events it is in (rewind dap's execution point in a worker: that event and the
// stops within it), and it keeps what a person evaluates while the worker is paused off the
// worker's log (as handoff.ts does for the main thread). Under rewind dap, a worker started
// once the client had the replay waits for it before its first line, so that the client's
// breakpoints are in: Node holds (waitForDebuggerOnStart) only the workers that the main
// thread, or a worker it held, starts after NodeWorker.enable.
//
// Part of the preload bundle: node:inspector is loaded only in a worker of a debugged replay.
import { inspectorModule } from '../node/fields.js';
import { original } from '../node/originals.js';
import type { ReplaySession } from '../session/replay.js';
import { ownStop, workerStartedUnderClient } from '../sources/workers.js';
import { insideTurn, turnNow, turnStarts } from './position.js';
import { REWIND_FRAMES, trampoline } from './trampoline.js';

/** What a waiting worker says on its inspector's console: rewind dap lets it run. */
export const WORKER_WAITS = 'rewind: this worker thread waits for its debugger';
/** And once it goes on (a Runtime.runIfWaitingForDebugger served just before its wait began is lost: rewind dap sends another until it hears this). */
export const WORKER_GOES = 'rewind: this worker thread goes on';

/** Said before the pause at the worker's stop (rewind dap's goto), with how to settle from the trampoline into the program. */
export const WORKER_STOP_SETTLES = 'rewind: the worker thread stops';

/**
 * rewind's scripts but the trampoline, and Node's: skipped when the client steps (V8 skips a
 * frame only if every session does). The trampoline's `debugger;` is where the worker stops
 * for rewind dap's goto: V8 ignores it in a script every session ignore-lists.
 */
const SKIPPED = [REWIND_FRAMES, '^node:'];

export function followWorkerThread(session: ReplaySession): void {
  const inspector = inspectorModule();
  // Told of pauses synchronously, before the client's first command while paused runs.
  let paused = false;
  const watch = new inspector.Session();
  watch.connect();
  watch.on('Debugger.paused', () => (paused = true));
  watch.on('Debugger.resumed', () => (paused = false));
  watch.post('Debugger.enable');
  watch.post('Debugger.setBlackboxPatterns', { patterns: SKIPPED });
  // Math.random is the seeded stream the program consumes: a draw made while paused comes from the real generator.
  const seeded = Math.random;
  Math.random = function random() {
    return paused ? original.mathRandom() : seeded();
  };
  // rewind dap's goto in this worker: pause before its own event `until`, in the trampoline,
  // and say how to get into the program from there (as the main thread's early stop does).
  const until = ownStop();
  const stopBefore = until === null ? null : trampoline();
  session.hook = {
    created() {},
    value(n) {
      if (n !== until) return;
      inspector.console.debug(WORKER_STOP_SETTLES, 'out');
      stopBefore!.call(n, n, 'value', () => {}, turnNow);
    },
    turn(n, _op, enter) {
      turnStarts(n);
      if (n !== until) return insideTurn.call(n, n, enter);
      inspector.console.debug(WORKER_STOP_SETTLES, 'into');
      stopBefore!.call(n, n, 'turn', () => insideTurn.call(n, n, enter), turnNow);
    },
    get diverted() {
      return paused;
    },
  };
  // Set only under rewind dap (debug/handoff.ts), which releases the worker.
  if (workerStartedUnderClient()) {
    // Kept by V8 and reported when the client enables Runtime here, if it has not yet.
    inspector.console.debug(WORKER_WAITS);
    // Until Runtime.runIfWaitingForDebugger (this thread's inspector is active: `watch`).
    inspector.waitForDebugger();
    inspector.console.debug(WORKER_GOES);
  }
}
