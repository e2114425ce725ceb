// Where a paused debugger is in the recording. Once a debugger has the replay, every later
// turn runs inside insideTurn(), so a client (rewind dap) reads the turn's event number off
// the stack of any pause in it (the `turn` argument of this frame, and its `this`, which a
// pause reports without a round trip), without the replay telling anything to the program.
// Ignore-listed, like the rest of rewind.

/** Runs turn event `turn`'s callback; called with `this` = `turn`. */
export function insideTurn(this: number, turn: number, enter: () => void): void {
  enter();
}
