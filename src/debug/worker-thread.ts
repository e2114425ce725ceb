// A worker thread of a replay under a debugger (`rewind replay --inspect`, rewind dap): the
// debugger reaches it through its process's inspector (NodeWorker). Like the main thread's
// controller, it runs each turn inside insideTurn(), so that a pause says which of the
// worker's own events it is in (rewind dap's execution point in a worker: that event and the
// stops within it), and it keeps what a person evaluates while the worker is paused off the
// worker's log (handoff.ts).
import type { ReplaySession } from '../session/replay.js';
import { divertMathRandom, watchPauses } from './handoff.js';
import { insideTurn, turnStarts } from './position.js';

export function followWorkerThread(session: ReplaySession): void {
  let paused = false;
  watchPauses((p) => (paused = p));
  divertMathRandom(() => paused);
  session.hook = {
    created() {},
    value() {},
    turn(n, _op, enter) {
      turnStarts(n);
      insideTurn.call(n, n, enter);
    },
    get diverted() {
      return paused;
    },
  };
}
