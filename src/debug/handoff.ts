// Handing the paused replay to a debugger: the inspector is opened (or the active one
// reused), a client attaches, and from then on rewind knows, synchronously, whether the
// client has the program paused. That is what keeps evaluations off the log.
//
// The pause watch is an inspector.Session on the main thread that only listens: V8 sends
// Debugger.paused to every session before the paused loop serves the client's first
// command, so the flag is set before any evaluation can run. It never pauses or resumes
// anything itself. (A worker-thread session, connectToMainThread, cannot be set up while
// the replay is blocked in a stop, and would learn of a pause asynchronously, racing
// the client's first evaluation.)
import { pathToFileURL } from 'node:url';
import { isRewindFile } from '../paths.js';
import { cjsLoader, inspectorModule } from '../node/fields.js';
import { original } from '../node/originals.js';
import { ENV } from '../session/env.js';
import { debuggerClientAttached } from '../sources/workers.js';
import { REWIND_FRAMES } from './trampoline.js';

export class HandoffError extends Error {}

/**
 * Under rewind dap: worker threads started once its client has the replay wait for it
 * before their first line (see worker-thread.ts). Read as the preload loads this, before the
 * replay restores the program's environment.
 */
const HOLD_WORKERS = process.env[ENV.HOLD_WORKERS] === '1';
export const holdsWorkers = (): boolean => HOLD_WORKERS;

export interface Address {
  host: string;
  port: number;
}

export const DEFAULT_INSPECT: Address = { host: '127.0.0.1', port: 9229 };

/** The inspector's WebSocket URL: the active inspector's, or one opened on `at`. */
export function openInspector(at: Address): string {
  const active = inspectorModule().url();
  if (active) return active;
  try {
    inspectorModule().open(at.port, at.host, false);
  } catch (e) {
    throw new HandoffError(`${at.host}:${at.port}: ${(e as Error).message}`);
  }
  const url = inspectorModule().url();
  // Node (20 to 24) reports a taken port on stderr and leaves the inspector closed instead of throwing.
  if (!url) throw new HandoffError(`${at.host}:${at.port}: the port is taken`);
  return url;
}

export { WORKER_GOES, WORKER_STOP_SETTLES, WORKER_WAITS } from './worker-thread.js';

/** What the inspector's console says once the replay has stopped waiting for its client. */
export const CLIENT_READY = 'rewind: the debugger has the replay';

/**
 * What the inspector's console says when the client attaches before the replay's stop
 * (rewind dap, a worker thread about to start): the stop then pauses in the trampoline, and
 * the client steps into the program itself, as STOP_SETTLES says.
 */
export const CLIENT_EARLY = 'rewind: the debugger has the replay before its stop';

/**
 * What the console says just before an early client's first pause at the stop, with how to
 * get from the trampoline to the program (what settle() does when no client is attached):
 * 'into' the turn's callback, 'out' to the frame that asked for a value, or 'stay'.
 */
export const STOP_SETTLES = 'rewind: the stop settles';

export function announceSettle(how: 'into' | 'out' | 'stay'): void {
  inspectorModule().console.debug(STOP_SETTLES, how);
}

/**
 * Blocks until a client attaches and sends Runtime.runIfWaitingForDebugger, then tells it
 * so on the inspector's console (not the program's). Called inside a pause (settle), the
 * wait serves the client's commands before V8 runs its paused loop: a resume served then is
 * lost and the program stays paused for good. A client that resumes only after this
 * message (rewind dap) is safe: nothing is served between it and the paused loop.
 * `early`: not at a pause, before the replay's stop (see CLIENT_EARLY).
 */
export function waitForClient(early = false): void {
  // Kept by V8 and reported when the client enables Runtime.
  if (early) inspectorModule().console.debug(CLIENT_EARLY);
  inspectorModule().waitForDebugger();
  if (HOLD_WORKERS) debuggerClientAttached();
  inspectorModule().console.debug(CLIENT_READY);
}

/** Node's own scripts: skipped too while rewind settles the first pause in the program. */
const NODE_FRAMES = '^node:';

/**
 * The log's codec (msgpackr), which rewind's dispatcher runs within a turn's delivery after
 * Node's code for it: skipped too while settling (the preload bundle has it inside; a replay
 * run with rewind's ES modules (`--import rewind-replay/register`) loads it from node_modules).
 */
let codecFound: string | null | undefined;
function codecUrl(): string | null {
  if (codecFound !== undefined) return codecFound;
  try {
    const file = cjsLoader.createRequire(import.meta.url).resolve('msgpackr/pack');
    const at = file.lastIndexOf(`node_modules`);
    codecFound = at < 0 ? null : pathToFileURL(file.slice(0, at)).href + 'node_modules/msgpackr/';
  } catch {
    codecFound = null;
  }
  return codecFound;
}
const escaped = (url: string): string => url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * What settling steps through, by script URL: rewind's own (and its codec's), or Node's.
 * V8 stops in Node's scripts when stepping into a turn's delivery (a worker's message enters
 * through event_target's dispatch, a worker's exit through its onexit), although they are
 * blackboxed: settling steps on through them (handoff's settle, and rewind dap's).
 */
export function settlesThrough(url: string): 'rewind' | 'node' | null {
  const codec = codecUrl();
  if (isRewindFile(url) || (codec !== null && url.startsWith(codec))) return 'rewind';
  return url.startsWith('node:') ? 'node' : null;
}

/** The main thread's listening session, and the one thing it may do besides listening. */
export interface PauseWatch {
  /**
   * Before any client attaches, moves the next pause (the trampoline's `debugger;`) into
   * the program, then runs `then` (waiting for the client) with the program paused there.
   * 'into': step into `enter()`, to the first line of the program's callback (or back to
   * the trampoline once `entered()` says `enter()` ran no program code). 'out': step out
   * of rewind's frames, to the program's frame that asked for a value.
   */
  settle(how: 'into' | 'out', entered: () => boolean, then: () => void): void;
}

/**
 * Calls `onChange(true)` as a client pauses the program and `onChange(false)` as it
 * resumes. V8 skips a frame when stepping only if every session skips it: this one skips
 * rewind's frames, so the client's own skipFiles or ignore list decides.
 *
 * While no client is attached, this session is the only one, so its skip list alone
 * decides, and a pause does not wait (Node runs its paused loop only for a client): that
 * is when settle() steps, from inside the pause notification, so that the client's first
 * pause is already in the program.
 */
export function watchPauses(onChange: (paused: boolean) => void): PauseWatch {
  const watch = new (inspectorModule().Session)();
  watch.connect();
  let settling: { how: 'into' | 'out'; entered: () => boolean; then: () => void } | null = null;
  // A paused frame names its script by id (its url field is often empty).
  const rewindScripts = new Set<string>();
  const nodeScripts = new Set<string>();
  watch.on('Debugger.scriptParsed', (m) => {
    const through = settlesThrough(m.params.url);
    if (through === 'rewind') rewindScripts.add(m.params.scriptId);
    else if (through === 'node') nodeScripts.add(m.params.scriptId);
  });
  watch.on('Debugger.paused', (m) => {
    onChange(true);
    const s = settling;
    if (!s) return;
    const top = m.params.callFrames[0].location.scriptId;
    if (rewindScripts.has(top) && !s.entered())
      return watch.post(s.how === 'into' ? 'Debugger.stepInto' : 'Debugger.stepOut');
    if (nodeScripts.has(top) && !s.entered())
      return watch.post(s.how === 'into' ? 'Debugger.stepInto' : 'Debugger.stepOut');
    settling = null;
    // Stepping from this session leaves V8 ignoring breakpoints (Node 20 to 24) until the
    // session's debugger is enabled anew; the pause stays.
    watch.post('Debugger.disable');
    enable();
    s.then();
  });
  watch.on('Debugger.resumed', () => onChange(false));
  const enable = () => {
    watch.post('Debugger.enable');
    const patterns = [REWIND_FRAMES, NODE_FRAMES];
    const codec = codecUrl();
    if (codec !== null) patterns.push(`^${escaped(codec)}`);
    watch.post('Debugger.setBlackboxPatterns', { patterns });
  };
  enable();
  return {
    settle(how, entered, then) {
      settling = { how, entered, then };
    },
  };
}

/**
 * Math.random is the seeded generator whose stream the program consumes; a draw made
 * while paused would shift it, so paused draws come from the real generator instead.
 */
export function divertMathRandom(diverted: () => boolean): void {
  const seeded = Math.random;
  Math.random = function random() {
    return diverted() ? original.mathRandom() : seeded();
  };
}

/** The DevTools front end URL for a ws:// inspector URL (what chrome://inspect opens). */
export function devtoolsUrl(ws: string): string {
  return `devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=${ws.replace(/^ws:\/\//, '')}`;
}
