// The one frame of rewind a debugger is meant to stop in. Keep it out of skipFiles and
// ignore lists (see README, "Debugging"): every other rewind frame is skipped when stepping.
import vm from 'node:vm';
import { DIST_URL } from '../paths.js';

/** The trampoline's script: the one of rewind's that no session of rewind's ignore-lists. */
export const TRAMPOLINE_URL = `${DIST_URL}debug/trampoline.js`;

const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** rewind's scripts but the trampoline, as a V8 blackbox pattern. */
export const REWIND_FRAMES = `^${escaped(DIST_URL)}(?!${escaped(TRAMPOLINE_URL.slice(DIST_URL.length))}$)`;

/**
 * Pauses just before `event`, then runs it. When the first client attaches, rewind steps
 * from here before the client sees the pause (see handoff.ts, settle): its first pause is
 * on the first line of a turn's callback, or in the program's frame that asked for a value.
 * A client that stays attached for a later stop pauses here: for a turn, step into (F11)
 * twice, onto the call and into it, and you are at that callback's first line (rewind's
 * frames in between are skipped); for a value, the program's call that asks for it is the
 * next frame up that is not rewind's. Called with `this` = `event`: a debugger reads it off
 * the pause (rewind dap) without asking, and `now` (position.ts's turnNow) too.
 */
export type StopBefore = (this: number, event: number, what: string, enter: () => void, now: () => number) => void;

let compiled: StopBefore | null = null;

/**
 * stopBefore, compiled as a script of its own under TRAMPOLINE_URL: rewind runs as one
 * bundle (the preload), which every session ignore-lists as a whole, and V8 skips a
 * `debugger;` statement in an ignore-listed script. Compiled on first use: only a replay a
 * debugger drives stops.
 */
export function trampoline(): StopBefore {
  compiled ??= vm.compileFunction(
    [
      'return function stopBefore(event, what, enter, now) {',
      '  debugger; // rewind stopped the replay here, before `event` (`what`): step into twice to enter it',
      '  enter();',
      '};',
    ].join('\n'),
    [],
    { filename: TRAMPOLINE_URL },
  )() as StopBefore;
  return compiled;
}
