// The one frame of rewind a debugger is meant to stop in. Keep it out of skipFiles and
// ignore lists (see README, "Debugging"): every other rewind frame is skipped when stepping.
import { turnNow } from './position.js';

/**
 * Pauses just before `event`, then runs it. When the first client attaches, rewind steps
 * from here before the client sees the pause (see handoff.ts, settle): its first pause is
 * on the first line of a turn's callback, or in the program's frame that asked for a value.
 * A client that stays attached for a later stop pauses here: for a turn, step into (F11)
 * twice, onto the call and into it, and you are at that callback's first line (rewind's
 * frames in between are skipped); for a value, the program's call that asks for it is the
 * next frame up that is not rewind's. Called with `this` = `event`: a debugger reads it off
 * the pause (rewind dap) without asking.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- `now` is read off the frame by rewind dap (position.ts)
export function stopBefore(this: number, event: number, what: string, enter: () => void, now = turnNow): void {
  // eslint-disable-next-line no-debugger -- the one statement a debugger is meant to stop at
  debugger; // rewind stopped the replay here, before `event` (`what`): step into twice to enter it
  enter();
}
