// Driving a replay's inspector from a test, as Chrome DevTools or VS Code would: a real
// DevTools-protocol client (chrome-remote-interface) over the inspector's WebSocket.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import CDP from 'chrome-remote-interface';
import { BIN, NODE, ROOT, baseEnv, tempDir, within } from './helpers.js';

type Client = CDP.Client;
type Paused = Parameters<Parameters<Client['Debugger']['paused']>[0]>[0];

export interface Attached {
  client: Client;
  /** Script URLs by scriptId. */
  scripts: Map<string, string>;
  /** The next Debugger.paused, in order. */
  nextPause(): Promise<Paused>;
  /** Evaluates on the top frame of a pause; throws with the exception text if it threw. */
  evaluate(p: Paused, expression: string): Promise<unknown>;
  /** The event rewind stopped before: the `event` local of its trampoline frame, down the stack. */
  eventOf(p: Paused): Promise<unknown>;
  /** Resolves when the program's context is gone (it is exiting). */
  contextGone: Promise<void>;
}

export interface DebuggedReplay extends Attached {
  child: ChildProcessWithoutNullStreams;
  /** Resumes, stays attached until the program ends, then detaches; resolves with what the replay printed and its status. */
  finish(): Promise<{ stdout: string; stderr: string; status: number | null }>;
}

/** rewind's frames that a user's skipFiles or ignore list would skip: all of dist/ but the trampoline. */
export const REWIND_FRAMES = `^file://${path.join(ROOT, 'dist').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(?!debug/trampoline\\.js$)`;

/** The inspector URL rewind prints. */
export const INSPECTOR_URL = /debugger listening on (ws:\/\/\S+)/;

/** Attaches a client to an inspector waiting for one, and lets the program run. */
export async function attach(url: string): Promise<Attached> {
  const client = await CDP({ target: url, local: true });
  const scripts = new Map<string, string>();
  client.Debugger.scriptParsed((s) => scripts.set(s.scriptId, s.url));
  const pauses: Paused[] = [];
  let waiter: ((p: Paused) => void) | null = null;
  client.Debugger.paused((p) => {
    if (waiter) {
      const w = waiter;
      waiter = null;
      w(p);
    } else pauses.push(p);
  });
  const contextGone = new Promise<void>((resolve) => client.Runtime.executionContextDestroyed(() => resolve()));
  await client.Runtime.enable();
  await client.Debugger.enable({});
  await client.Runtime.runIfWaitingForDebugger();
  const evaluateOn = async (callFrameId: string, expression: string) => {
    const r = await client.Debugger.evaluateOnCallFrame({ callFrameId, expression, returnByValue: true });
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return r.result.value;
  };
  return {
    client,
    scripts,
    contextGone,
    nextPause: () => {
      const p = pauses.shift();
      return p ? Promise.resolve(p) : within(new Promise<Paused>((resolve) => (waiter = resolve)), 'Debugger.paused');
    },
    async evaluate(p, expression) {
      return evaluateOn(p.callFrames[0].callFrameId, expression);
    },
    async eventOf(p) {
      const trampoline = p.callFrames.find((f) => f.functionName === 'stopBefore');
      if (!trampoline) throw new Error('no stopBefore frame on the stack');
      return evaluateOn(trampoline.callFrameId, 'event');
    },
  };
}

/**
 * Resumes a program paused where the replay handed itself over. Node loses a resume that
 * reaches the thread after the client was told of the pause but before Node's paused loop
 * began (the replay hands over from inside that pause's notification, debug/handoff.ts), so,
 * as rewind dap does (dap/replay.ts, Inspected.command): without Debugger.resumed within a
 * second, it is sent again; one that finds the program running took.
 */
export async function resume(client: Client): Promise<void> {
  let resumed: () => void = () => {};
  client.Debugger.resumed(() => resumed());
  for (let tries = 0; tries < 10; tries++) {
    const took = new Promise<boolean>((resolve) => {
      resumed = () => resolve(true);
      setTimeout(() => resolve(false), 1000);
    });
    try {
      await client.Debugger.resume({});
    } catch (e) {
      if (tries === 0) throw e;
      return;
    }
    if (await took) return;
  }
}

/** Starts `rewind replay ...args` (rewind's bin: `bin`), waits for its inspector URL, and attaches a client. */
export async function debugReplay(args: string[], bin = BIN): Promise<DebuggedReplay> {
  const child = spawn(NODE, [bin, 'replay', ...args], { cwd: tempDir('rewind-cwd-'), env: baseEnv(), stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = await within(
    new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
        const m = INSPECTOR_URL.exec(stderr);
        if (m) resolve(m[1]);
      });
      closed.then(() => reject(new Error(`the replay ended before its debugger was ready:\n${stderr}`)));
    }),
    'inspector URL from the replay',
  );
  const attached = await attach(url);
  return {
    ...attached,
    child,
    async finish() {
      await resume(attached.client);
      // Node keeps a process whose debugger is attached alive at exit until the client leaves.
      await within(attached.contextGone, 'the end of the program');
      await attached.client.close();
      const status = await within(closed, 'end of the replay');
      return { stdout, stderr, status };
    },
  };
}
