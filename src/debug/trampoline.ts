// The one frame of rewind a debugger is meant to stop in. Keep it out of skipFiles and
// ignore lists (see README, "Debugging"): every other rewind frame is skipped when stepping.

/**
 * Pauses the attached debugger just before `event`, then runs it. For a turn, `enter`
 * runs its callback: step into (F11) twice, onto the call and into it, and you are at that
 * callback's first line (rewind's frames in between are skipped). For a value
 * (a clock reading, random bytes, a write), `enter` does nothing: the program's call that
 * asks for the value is the next frame up that is not rewind's.
 */
export function stopBefore(event: number, what: string, enter: () => void): void {
  // eslint-disable-next-line no-debugger -- the one statement a debugger is meant to stop at
  debugger; // rewind stopped the replay here, before `event` (`what`): step into twice to enter it
  enter();
}
