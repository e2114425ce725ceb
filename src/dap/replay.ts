// One replay of a recording under rewind's debug adapter: `rewind replay --until N --inspect`
// in a child process, driven through its inspector by a DevTools-protocol client
// (chrome-remote-interface: the maintained Node client; Node 20 has no WebSocket of its own).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import CDP from 'chrome-remote-interface';
import { DIST_URL } from '../paths.js';
import { CLIENT_READY } from '../debug/handoff.js';

export type Client = CDP.Client;
export type Paused = Parameters<Parameters<Client['Debugger']['paused']>[0]>[0];
export type CallFrame = Paused['callFrames'][number];

const BIN = fileURLToPath(new URL('../bin/rewind.js', DIST_URL));
const INSPECTOR_URL = /debugger listening on (ws:\/\/\S+)/;
/** rewind's scripts (all of them: the adapter never shows the trampoline) and Node's. */
const HIDDEN_FRAMES = [`^${DIST_URL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, '^node:'];
/** What the replay's front end and Node say on stderr, as opposed to the program. */
const REWIND_LINE =
  /^(rewind: |  |Debugger listening on |Debugger attached\.|Debugger ending on |For help, see: |Waiting for the debugger)/;

export interface ReplaySpec {
  /** Undefined: the latest recording under .rewind/ in the current directory. */
  recording?: string;
  process?: string;
  /** The event to stop before. */
  until: number;
}

export class ReplayFailed extends Error {}

type OutputCategory = 'stdout' | 'stderr' | 'console';
export type Output = (category: OutputCategory, text: string) => void;

/** Replays still running: ended with the adapter. */
const live = new Set<ChildProcess>();
process.on('exit', () => live.forEach(killGroup));

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export class Replay {
  /** Script URLs by scriptId. */
  readonly scripts = new Map<string, string>();
  private readonly pauses: (Paused | null)[] = [];
  private waiter: ((p: Paused | null) => void) | null = null;
  private ended = false;
  /** Said by the replay once its wait for us is over: see handoff.ts, waitForClient. */
  private readonly ready: Promise<void>;
  readonly exitCode: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly client: Client,
    exitCode: Promise<number | null>,
    readonly spec: ReplaySpec,
  ) {
    this.exitCode = exitCode;
    client.Debugger.scriptParsed((s) => this.scripts.set(s.scriptId, s.url));
    client.Debugger.paused((p) => this.push(p));
    this.ready = new Promise((resolve) => {
      client.Runtime.consoleAPICalled((m) => {
        if (m.args[0]?.value === CLIENT_READY) resolve();
      });
      void exitCode.then(() => resolve());
    });
    // Node keeps a process whose debugger is attached alive at exit until the client leaves.
    client.Runtime.executionContextDestroyed(() => {
      this.ended = true;
      this.push(null);
      void client.close();
    });
  }

  /** Where the program's stdout and stderr lines go; null: dropped (a standby's replay of what the user saw). */
  output: Output | null = null;

  /**
   * Starts the replay and attaches, leaving the program waiting for go(): a standby that
   * has already paid its process start and its run to the stop. Output before the first
   * go() is dropped unless `output` is set.
   */
  static async start(spec: ReplaySpec): Promise<Replay> {
    const args = [
      BIN,
      'replay',
      `--until=${spec.until}`,
      '--inspect=127.0.0.1:0',
      '--mark',
      '--no-summary',
      ...(spec.recording === undefined ? [] : [spec.recording]),
    ];
    if (spec.process !== undefined) args.push('-p', spec.process);
    // Its own process group: the front end and the replayed program under it end together (kill()).
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(child);
    const exitCode = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    void exitCode.then(() => live.delete(child));
    let replay = null as Replay | null;
    // What the program prints on its way to the stop, the user saw the first time.
    const output: Output = (category, text) => replay?.output?.(category, text);
    child.stdout!.on('data', (d: Buffer) => output('stdout', d.toString()));
    let said = '';
    let pending = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        pending += d.toString();
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const line of lines) {
          if (!REWIND_LINE.test(line)) output('stderr', `${line}\n`);
          else said += `${line}\n`;
          const m = INSPECTOR_URL.exec(line);
          if (m) resolve(m[1]);
        }
      });
      void exitCode.then(() => reject(new ReplayFailed(`the replay ended before its stop:\n${said}${pending}`)));
    });
    const client = await CDP({ target: url, local: true });
    replay = new Replay(child, client, exitCode, spec);
    await client.Runtime.enable();
    await client.Debugger.enable({});
    await client.Debugger.setBlackboxPatterns({ patterns: HIDDEN_FRAMES });
    return replay;
  }

  /** Lets the program run to its first pause (the stop it was started for), ready for commands. */
  async go(): Promise<void> {
    await this.client.Runtime.runIfWaitingForDebugger();
    await this.ready;
  }

  private push(p: Paused | null): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(p);
    } else this.pauses.push(p);
  }

  /** The next pause, or null once the program has ended. */
  nextPause(): Promise<Paused | null> {
    if (this.pauses.length > 0) return Promise.resolve(this.pauses.shift()!);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  isRewindScript(scriptId: string): boolean {
    const url = this.scripts.get(scriptId) ?? '';
    return url.startsWith(DIST_URL);
  }

  /** Evaluates `expression` on a frame, off the log (the replay diverts what runs while paused). */
  async evaluate(
    frame: CallFrame,
    expression: string,
  ): Promise<{ value: unknown; description?: string; objectId?: string; type: string }> {
    const r = await this.client.Debugger.evaluateOnCallFrame({
      callFrameId: frame.callFrameId,
      expression,
      silent: true,
    });
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return {
      value: r.result.value,
      description: r.result.description,
      objectId: r.result.objectId,
      type: r.result.type,
    };
  }

  /** The turn event a pause is in: from rewind's frames on its stack; 0 for the main script. */
  async turnOf(p: Paused): Promise<number> {
    for (const f of p.callFrames) {
      if (!this.isRewindScript(f.location.scriptId)) continue;
      const name = f.functionName === 'insideTurn' ? 'turn' : f.functionName === 'stopBefore' ? 'event' : null;
      if (!name) continue;
      // Their `this` is the number, in the pause itself. An evaluation costs ~40 ms: Node's
      // inspector writes its scriptParsed event and its answer separately, and Nagle holds
      // the answer until the client's delayed ACK of the event.
      if (f.this.type === 'number') return f.this.value as number;
      return Number((await this.evaluate(f, name)).value);
    }
    return 0;
  }

  /** Ends the replay (its process, and our client). */
  async kill(): Promise<void> {
    this.ended = true;
    // The processes first: a client closing on a paused inspector may wait for an answer.
    killGroup(this.child);
    await this.exitCode;
    void this.client.close().catch(() => {});
  }
}
