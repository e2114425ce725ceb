// One replay of a recording under rewind's debug adapter: `rewind replay --until N --inspect`
// in a child process, driven through its inspector by a DevTools-protocol client
// (chrome-remote-interface: the maintained Node client; Node 20 has no WebSocket of its own).
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import CDP from 'chrome-remote-interface';
import { DIST_URL } from '../paths.js';
import {
  CLIENT_EARLY,
  CLIENT_READY,
  STOP_SETTLES,
  WORKER_GOES,
  WORKER_STOP_SETTLES,
  WORKER_WAITS,
  settlesThrough,
} from '../debug/handoff.js';
import { ENV } from '../session/env.js';

export type Client = CDP.Client;
export type Paused = Parameters<Parameters<Client['Debugger']['paused']>[0]>[0];
export type CallFrame = Paused['callFrames'][number];

const BIN = fileURLToPath(new URL('../bin/rewind.js', DIST_URL));
/** The niceness of standby replays. */
const BACKGROUND_PRIORITY = 10;

function setPriority(pid: number | undefined, priority: number): void {
  try {
    if (pid !== undefined) os.setPriority(pid, priority);
  } catch {
    // Not allowed here: it runs at the adapter's priority.
  }
}
/**
 * Steps from the trampoline into the program at most. A bound only: V8 pauses at every
 * statement of Node's own scripts while stepping, ignore-listed or not (Node 20 and 26
 * alike), and a message reaches its listener through 30-45 of them (event_target's dispatch,
 * then events' emit for a Worker's 'message'). 20 left such a stop inside Node's dispatch.
 */
const MAX_SETTLE_STEPS = 500;
/** Debugger.paused's reason for the pause Node makes in a worker it held for its debugger. */
const BREAK_ON_START = 'Break on start';
/** How often a worker thread that waits for its debugger is told again to go on. */
const NUDGE_MS = 100;
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
  /** And a worker thread (Node's thread id) that stops before its own event `event` (rewind dap's goto in a worker). */
  workerStop?: { threadId: string; event: number };
}

export class ReplayFailed extends Error {}

/** A DevTools-protocol event the client's typings do not name (NodeWorker's). */
function listen<T>(client: Client, method: string, listener: (params: T) => void): void {
  (client.on as (event: string, listener: (params: T) => void) => void).call(client, method, listener);
}

/** A DevTools-protocol command the client's typings do not name. */
function call(client: Client, method: string, params: object): Promise<unknown> {
  return (client.send as (method: string, params: object) => Promise<unknown>).call(client, method, params);
}

type Settle = 'into' | 'out' | 'stay';

/** What runs a paused program on. */
export type RunCommand = 'stepInto' | 'stepOver' | 'stepOut' | 'resume';

/** How often the first command after a hand-over is sent at most, and how long Debugger.resumed may take to follow it (see Inspected.command). */
const MAX_RESENDS = 10;
const RESUME_GRACE_MS = 5000;

export type OutputCategory = 'stdout' | 'stderr' | 'console';
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

/**
 * A JavaScript thread the adapter inspects through its own DevTools-protocol session: a
 * replay's main thread (Replay) or one of its worker threads (WorkerThread). Its pauses
 * queue up until the adapter asks for the next one.
 */
export class Inspected {
  /** Script URLs by scriptId. */
  readonly scripts = new Map<string, string>();
  private readonly pauses: (Paused | null)[] = [];
  private waiter: ((p: Paused | null) => void) | null = null;
  protected ended = false;

  constructor(readonly client: Client) {
    listen(client, 'Debugger.scriptParsed', (s: { scriptId: string; url: string }) =>
      this.scripts.set(s.scriptId, s.url),
    );
    listen(client, 'Debugger.resumed', () => this.onResumed?.());
    listen(client, 'Debugger.paused', (p: Paused) => {
      if (this.accepts(p)) this.push(p);
    });
  }

  /** Called at the next Debugger.resumed. */
  private onResumed: (() => void) | null = null;
  /** Debugger.resumed came since the command was last sent. */
  private resumedLate = false;
  /** Its pause is the one the replay handed itself over in: the next command() makes sure it takes. */
  protected handedOver = false;

  /**
   * Runs the paused program on. Node loses a command that reaches the thread after a client
   * was told of a pause but before Node's paused loop began (V8 asks Node to quit a loop not
   * yet running, and the loop then waits for another command): the replay hands itself over
   * from inside the notification of its first pause (debug/handoff.ts, waitForClient) and
   * runs rewind's JavaScript for a moment after the client was told, long enough on a loaded
   * machine (1 run in ~20 with a client that resumes at once). So after the first command
   * since the hand-over, Debugger.resumed must follow: without it within RESUME_GRACE_MS
   * (long: a starved replay, a standby's at a lower priority, may take a second to answer) the
   * command was lost, and it is sent again once a probe is answered with still no
   * Debugger.resumed (a probe alone cannot tell: Node serves the messages that arrive while
   * it serves a batch in that batch, before it leaves the paused loop). One that finds the
   * program running took.
   */
  async command(command: RunCommand): Promise<void> {
    const d = this.client.Debugger;
    const send = () =>
      command === 'resume'
        ? d.resume({})
        : command === 'stepInto'
          ? d.stepInto({})
          : command === 'stepOver'
            ? d.stepOver({})
            : d.stepOut();
    if (!this.handedOver) return void (await send());
    this.handedOver = false;
    for (let tries = 0; tries < MAX_RESENDS && !this.ended; tries++) {
      let timer: NodeJS.Timeout | undefined;
      const resumed = new Promise<boolean>((resolve) => {
        this.resumedLate = false;
        this.onResumed = () => {
          this.resumedLate = true;
          resolve(true);
        };
        timer = setTimeout(() => resolve(false), RESUME_GRACE_MS);
      });
      try {
        await send();
      } catch (e) {
        if (tries === 0) throw e;
        return; // Not paused any more: the one before took.
      }
      let took = await resumed;
      clearTimeout(timer);
      // Answered after any event sent before Node served it: a Debugger.resumed delayed by a
      // starved replay arrives first.
      if (!took)
        took = !(await this.client.Runtime.getHeapUsage().then(
          () => true,
          () => false,
        ));
      this.onResumed = null;
      if (took || this.resumedLate) return;
    }
  }

  /** Is `p` a pause the adapter should see? */
  protected accepts(_p: Paused): boolean {
    return true;
  }

  /** Its session is over: the thread or its process ended. */
  protected end(): void {
    if (this.ended) return;
    this.ended = true;
    this.push(null);
  }

  /** Ends what the adapter holds of it. */
  async kill(): Promise<void> {
    this.end();
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

  /**
   * A function of rewind's, in the replay, that says which turn it is running (see
   * debug/position.ts), taken off an insideTurn or stopBefore frame. Taking it costs ~40 ms
   * (an evaluation, see below): done as a replay arrives at its stop (arrive()), ahead of
   * time for a standby replay, or else without waiting, at the first pause that allows it.
   */
  private turnNow: Promise<string | null> | null = null;

  /** Takes the turn function off `p`'s stack, if a frame there has it. */
  protected learnTurns(p: Paused): Promise<string | null> | null {
    if (this.turnNow !== null) return this.turnNow;
    const f = p.callFrames.find(
      (f) =>
        this.isRewindScript(f.location.scriptId) &&
        (f.functionName === 'insideTurn' || f.functionName === 'stopBefore'),
    );
    if (!f) return null;
    this.turnNow = this.client.Debugger.evaluateOnCallFrame({
      callFrameId: f.callFrameId,
      expression: 'now',
      objectGroup: 'rewind-turn',
      silent: true,
    }).then(
      (r) => (r.result.type === 'function' ? (r.result.objectId ?? null) : null),
      () => null,
    );
    return this.turnNow;
  }

  /** The turn event a pause is in: from rewind's frames on its stack; 0 for the main script. */
  async turnOf(p: Paused): Promise<number> {
    for (const f of p.callFrames) {
      if (!this.isRewindScript(f.location.scriptId)) continue;
      const name = f.functionName === 'insideTurn' ? 'turn' : f.functionName === 'stopBefore' ? 'event' : null;
      if (!name) continue;
      // Asked now, answered while the program goes on: the command is queued before any resume.
      void this.learnTurns(p);
      // Their `this` is the number, in the pause itself. An evaluation costs ~40 ms: Node's
      // inspector writes its scriptParsed event and its answer separately, and Nagle holds
      // the answer until the client's delayed ACK of the event.
      if (f.this.type === 'number') return f.this.value as number;
      return Number((await this.evaluate(f, name)).value);
    }
    // In a promise's continuation after a turn's callback (no frame of rewind's): ask the replay.
    const now = await this.turnNow;
    if (now) {
      const r = await this.client.Runtime.callFunctionOn({
        objectId: now,
        functionDeclaration: 'function () { return this(); }',
        returnByValue: true,
        silent: true,
      }).catch(() => null);
      if (typeof r?.result.value === 'number') return r.result.value;
    }
    return 0;
  }

  /**
   * From a pause at or before a stop of rewind's (the trampoline's `debugger;`) to the
   * program, as the replay does by itself when no client is attached (debug/handoff.ts,
   * settle): into the turn's callback, to its first line (or back to the trampoline when the
   * turn ran no code of the program's), or out to the program's frame that asked for a
   * value. A pause before the stop (a `debugger;` statement of the program's, which the
   * replay would have run through without a client) is not the stop.
   */
  async settleFrom(first: Paused, how: Settle): Promise<Paused | null> {
    const inTrampoline = (p: Paused) => this.isRewindScript(p.callFrames[0].location.scriptId);
    const atStop = (p: Paused) =>
      p.callFrames.some((f) => f.functionName === 'stopBefore' && this.isRewindScript(f.location.scriptId));
    let p: Paused | null = first;
    while (p && !atStop(p)) {
      await this.command('resume');
      p = await this.nextPause();
    }
    // Through rewind's frames (and Node's), as settle() does: from `debugger;` into
    // `enter();`, then into the program, or back to the trampoline once the turn ran nothing else.
    const through = (p: Paused) => settlesThrough(this.scripts.get(p.callFrames[0].location.scriptId) ?? '') !== null;
    for (let steps = 0; p && how !== 'stay' && (inTrampoline(p) || through(p)); steps++) {
      if (how === 'into' && steps >= 2 && p.callFrames[0].functionName === 'stopBefore') break;
      if (steps >= MAX_SETTLE_STEPS) break;
      await this.command(how === 'into' ? 'stepInto' : 'stepOut');
      p = await this.nextPause();
    }
    return p;
  }

  /** Its DevTools-protocol domains enabled, rewind's and Node's frames hidden. */
  protected async attach(): Promise<void> {
    await this.client.Runtime.enable();
    await this.client.Debugger.enable({});
    await this.client.Debugger.setBlackboxPatterns({ patterns: HIDDEN_FRAMES });
  }
}

/**
 * A worker thread of a replay, inspected through its process's inspector (the NodeWorker
 * domain, as Node's own inspector and VS Code's js-debug reach workers): the worker's own
 * DevTools-protocol session travels inside NodeWorker.sendMessageToWorker and
 * receivedMessageFromWorker messages of the main thread's session. Its thread runs and
 * pauses on its own, while the main thread goes on (or waits, at replay, for the worker's
 * next message in its recorded place).
 */
export class WorkerThread extends Inspected {
  private constructor(
    readonly parent: Replay,
    readonly sessionId: string,
    /** In the order the replay's workers attached: the same worker in every replay of the run. */
    readonly index: number,
    /** Node's thread id: the same in every replay (a worker's log is named by it). */
    readonly threadId: string,
    readonly title: string,
    client: Client,
  ) {
    super(client);
    // A worker started once we had the replay waits for us (debug/worker-thread.ts) and says so.
    listen(client, 'Runtime.consoleAPICalled', (m: { args: { value?: unknown }[] }) => {
      const said = m.args[0]?.value;
      if (said === WORKER_GOES) this.stopNudging();
      if (said === WORKER_STOP_SETTLES) this.settles = m.args[1]?.value as Settle;
      if (said !== WORKER_WAITS) return;
      this.waits = true;
      if (this.released) this.nudge();
    });
  }

  /**
   * Node pauses a worker it held for us (waitForDebuggerOnStart) on its first statement as it
   * lets it go: not a stop of the program's, and nobody may be there to resume it (a search
   * replay's workers run free).
   */
  protected override accepts(p: Paused): boolean {
    if ((p.reason as string) !== BREAK_ON_START) return true;
    void this.client.Debugger.resume({}).catch(() => {});
    return false;
  }

  /** How to get from its stop (rewind dap's goto: ReplaySpec.workerStop) into the program, once it said so. */
  private settles: Settle = 'stay';

  /**
   * Its first pause at the stop its replay was started with (ReplaySpec.workerStop), settled
   * into the program; null: it ended first.
   */
  async arriveAtStop(): Promise<Paused | null> {
    const first = await this.nextPause();
    return first && this.settleFrom(first, this.settles);
  }

  private released = false;
  /** It said it waits, and has not said it goes on. */
  private waits = false;
  private nudging: NodeJS.Timeout | null = null;

  /** Its breakpoints are in: it may run (now, or as soon as it says it waits). */
  async release(): Promise<void> {
    this.released = true;
    if (this.waits) this.nudge();
    await this.run();
  }

  /**
   * Lets it out of its wait, again until it says it goes on: a runIfWaitingForDebugger that
   * reaches the thread between its word and its wait (a slow thread: a standby's) is lost.
   */
  private nudge(): void {
    void this.run().catch(() => {});
    this.nudging ??= setInterval(() => {
      if (this.waits && !this.ended) void this.run().catch(() => {});
      else this.stopNudging();
    }, NUDGE_MS);
    this.nudging.unref();
  }

  private stopNudging(): void {
    this.waits = false;
    if (this.nudging !== null) clearInterval(this.nudging);
    this.nudging = null;
  }

  static async attach(parent: Replay, info: Attached, index: number): Promise<WorkerThread> {
    const client = new WorkerSession(parent.client, info.sessionId) as unknown as Client;
    // Node's title ("[worker 1]") and the worker's file, as a thread's name.
    const file = info.workerInfo.url.split('/').pop();
    const title = [info.workerInfo.title, file].filter(Boolean).join(' ');
    const worker = new WorkerThread(parent, info.sessionId, index, info.workerInfo.workerId, title, client);
    listen(parent.client, 'NodeWorker.detachedFromWorker', (d: { sessionId: string }) => {
      if (d.sessionId === info.sessionId) worker.end();
    });
    await worker.attach();
    return worker;
  }

  /** Lets a worker that waits for its debugger (started after NodeWorker.enable) run. */
  async run(): Promise<void> {
    await this.client.Runtime.runIfWaitingForDebugger();
  }
}

interface Attached {
  sessionId: string;
  workerInfo: { workerId: string; type: string; title: string; url: string };
  waitingForDebugger: boolean;
}

/**
 * A DevTools-protocol session on a worker thread, carried by its process's session, with
 * the surface the adapter uses of a chrome-remote-interface client: `send`, `on`, and the
 * Debugger and Runtime domains' commands as methods.
 */
class WorkerSession {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, ((params: never) => void)[]>();
  readonly Debugger = this.domain('Debugger');
  readonly Runtime = this.domain('Runtime');

  constructor(
    private readonly carrier: Client,
    private readonly sessionId: string,
  ) {
    listen(carrier, 'NodeWorker.receivedMessageFromWorker', (m: { sessionId: string; message: string }) => {
      if (m.sessionId !== sessionId) return;
      const msg = JSON.parse(m.message) as {
        id?: number;
        method?: string;
        params?: never;
        result?: unknown;
        error?: { message: string };
      };
      if (msg.id !== undefined) {
        const w = this.waiting.get(msg.id);
        this.waiting.delete(msg.id);
        if (msg.error) w?.reject(new Error(msg.error.message));
        else w?.resolve(msg.result);
      } else if (msg.method) for (const l of this.listeners.get(msg.method) ?? []) l(msg.params!);
    });
    listen(carrier, 'NodeWorker.detachedFromWorker', (d: { sessionId: string }) => {
      if (d.sessionId !== sessionId) return;
      for (const w of this.waiting.values()) w.reject(new Error('the worker thread ended'));
      this.waiting.clear();
    });
  }

  send(method: string, params: object = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      call(this.carrier, 'NodeWorker.sendMessageToWorker', {
        sessionId: this.sessionId,
        message: JSON.stringify({ id, method, params }),
      }).catch((e: Error) => {
        this.waiting.delete(id);
        reject(e);
      });
    });
  }

  on(method: string, listener: (params: never) => void): void {
    this.listeners.set(method, [...(this.listeners.get(method) ?? []), listener]);
  }

  private domain(name: string): Record<string, (params?: object) => Promise<unknown>> {
    return new Proxy({}, { get: (_, command: string) => (params?: object) => this.send(`${name}.${command}`, params) });
  }
}

export class Replay extends Inspected {
  /** Said by the replay once its wait for us is over: see handoff.ts, waitForClient. */
  private readonly ready: Promise<void>;
  readonly exitCode: Promise<number | null>;
  /** Its worker threads, in the order they attached. */
  readonly workers: WorkerThread[] = [];
  /**
   * Called with each worker thread as it attaches, before a worker started from then on
   * runs (set by the adapter once the replay is the session's: its breakpoints go in first).
   */
  onWorker: ((worker: WorkerThread) => Promise<void>) | null = null;

  private constructor(
    private readonly child: ChildProcess,
    client: Client,
    exitCode: Promise<number | null>,
    readonly spec: ReplaySpec,
  ) {
    super(client);
    this.exitCode = exitCode;
    this.ready = new Promise((resolve) => {
      client.Runtime.consoleAPICalled((m) => {
        const said = m.args[0]?.value;
        if (said === CLIENT_READY) resolve();
        else if (said === CLIENT_EARLY) this.early = true;
        else if (said === STOP_SETTLES) this.settles = m.args[1]?.value as Settle;
      });
      void exitCode.then(() => resolve());
    });
    // Node keeps a process whose debugger is attached alive at exit until the client leaves.
    client.Runtime.executionContextDestroyed(() => {
      this.end();
      void client.close();
    });
    this.workerWaits = new Promise((resolve) => (this.workerAttached = resolve));
    // Attachments come one after another: a worker's index is its place in that order.
    listen(client, 'NodeWorker.attachedToWorker', (info: Attached) => {
      this.attaching = this.attaching.then(() => this.attachWorker(info)).catch(() => {});
    });
  }

  /**
   * We attached before the replay's stop (a worker thread was about to start: see
   * debug/controller.ts, handOverEarly): the stop pauses in the trampoline, and arrive()
   * steps into the program as `settles` says.
   */
  private early = false;
  private settles: Settle | null = null;

  /** Resolved as a worker thread attaches before the adapter adopts the replay's workers. */
  readonly workerWaits: Promise<void>;
  private workerAttached: () => void = () => {};

  /** From now on `onWorker` sees each worker thread as it attaches; those attached already, now. */
  async adopt(onWorker: (worker: WorkerThread) => Promise<void>): Promise<void> {
    this.onWorker = onWorker;
    for (const worker of [...this.workers]) await onWorker(worker);
    // Those waiting for their debugger go on with the adapter's breakpoints in.
    const held = this.held.splice(0);
    for (const worker of held) await worker.release();
  }

  /** Worker threads that started after we attached, waiting for the adapter to adopt them. */
  private readonly held: WorkerThread[] = [];

  /** The worker threads' attachments, in order: done when the last one known is. */
  private attaching = Promise.resolve();

  private async attachWorker(info: Attached): Promise<void> {
    const worker = await WorkerThread.attach(this, info, this.workers.length);
    this.workers.push(worker);
    if (this.onWorker === null) {
      // A standby replay's: it waits for the session's breakpoints (adopt) before its first line.
      this.held.push(worker);
      this.workerAttached();
      return;
    }
    await this.onWorker(worker);
    await worker.release();
  }

  protected override end(): void {
    super.end();
    for (const w of this.workers) void w.kill();
  }

  /** Where the program's stdout and stderr lines go; null: dropped (a standby's replay of what the user saw). */
  output: Output | null = null;
  /**
   * How much the program has written so far, from its start (the replay runs the same
   * program, so the same count is the same place in its output in every replay of it).
   */
  written: Record<OutputCategory, number> = { stdout: 0, stderr: 0, console: 0 };

  /**
   * Starts the replay and attaches, leaving the program waiting for go(): a standby that
   * has already paid its process start and its run to the stop. Output before the first
   * go() is dropped unless `output` is set.
   */
  static async start(spec: ReplaySpec, background = false): Promise<Replay> {
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
    // Its worker threads wait for their breakpoints (WorkerThread.release).
    const env: NodeJS.ProcessEnv = { ...process.env, [ENV.HOLD_WORKERS]: '1' };
    if (spec.workerStop) env[ENV.WORKER_UNTIL] = `${spec.workerStop.threadId}:${spec.workerStop.event}`;
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
    // A standby yields the CPU to the replay the user drives (its program process, started by
    // this one a moment later, inherits the priority).
    if (background) setPriority(child.pid, BACKGROUND_PRIORITY);
    live.add(child);
    const exitCode = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    void exitCode.then(() => live.delete(child));
    let replay = null as Replay | null;
    // What the program prints on its way to the stop, the user saw the first time.
    const written: Record<OutputCategory, number> = { stdout: 0, stderr: 0, console: 0 };
    const output: Output = (category, text) => {
      written[category] += text.length;
      replay?.output?.(category, text);
    };
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
    replay.written = written;
    await replay.attach();
    // Its worker threads: those running attach now, those started later wait for us to attach.
    await call(client, 'NodeWorker.enable', { waitForDebuggerOnStart: true });
    // Node announces the running ones before it answers: attached before the adapter adopts them.
    await replay.attaching;
    return replay;
  }

  /** Lets the program run to its first pause (the stop it was started for), ready for commands. */
  async go(): Promise<void> {
    await this.client.Runtime.runIfWaitingForDebugger();
    await this.ready;
  }

  private arrival: Promise<Paused | null> | null = null;

  /**
   * Runs the program to its stop (go()) and returns that first pause (null: it ended
   * first), having taken the turn function off its stack (see turnNow). Once: a standby
   * replay arrives ahead of time, and the request that takes it finds it there.
   */
  arrive(): Promise<Paused | null> {
    this.arrival ??= (async () => {
      await this.go();
      let first = await this.nextPause();
      this.handedOver = first !== null;
      if (first && this.early) first = await this.settle(first);
      if (first) await this.learnTurns(first);
      return first;
    })();
    return this.arrival;
  }

  /**
   * With the adapter attached before the stop: from the first pause at the stop (in the
   * trampoline) to the program, as the replay does by itself when no client is attached
   * (debug/handoff.ts, settle). See Inspected.settleFrom.
   */
  private settle(first: Paused): Promise<Paused | null> {
    return this.settleFrom(first, this.settles ?? 'stay');
  }

  /** Ends the replay (its process, and our client). */
  override async kill(): Promise<void> {
    this.end();
    // The processes first: a client closing on a paused inspector may wait for an answer.
    killGroup(this.child);
    await this.exitCode;
    void this.client.close().catch(() => {});
  }
}
