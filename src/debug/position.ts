// Where a paused debugger is in the recording. Once a debugger has the replay, every later
// turn runs inside insideTurn(), so a client (rewind dap) reads the turn's event number off
// the stack of any pause in it (the `turn` argument of this frame, and its `this`, which a
// pause reports without a round trip), without the replay telling anything to the program.
// A pause in a promise's continuation, after the turn's callback returned, has no frame of
// rewind's on its stack: the client calls the `now` argument it took off an earlier such
// frame (or off stopBefore's, see trampoline.ts). Ignore-listed, like the rest of rewind.

/** The turn event being run, set as each turn starts. */
let current = 0;

export function turnStarts(n: number): void {
  current = n;
}

export const turnNow = (): number => current;

/** Runs turn event `turn`'s callback; called with `this` = `turn`. `now`: for the client, see above. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- `now` is read off the frame by rewind dap
export function insideTurn(this: number, turn: number, enter: () => void, now = turnNow): void {
  enter();
}
