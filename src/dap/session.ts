// `rewind dap`: the Debug Adapter Protocol over a replay. Forward execution is the replay's
// own, driven through its inspector (replay.ts). Going back is deterministic re-execution:
// a point of the run is the event the replay stopped before (`origin`) plus the commands
// that led from there (`history`, each with the breakpoints then set); a fresh replay that
// stops at the origin and runs the same commands lands on the same state, since replay
// never waits and never sees the outside world.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  Handles,
  InitializedEvent,
  LoggingDebugSession,
  OutputEvent,
  Scope,
  StoppedEvent,
  TerminatedEvent,
  ExitedEvent,
  ContinuedEvent,
  Thread,
  ThreadEvent,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { DIST_URL } from '../paths.js';
import {
  Replay,
  type ReplaySpec,
  type CallFrame,
  type Inspected,
  type OutputCategory,
  type Paused,
  type WorkerThread,
} from './replay.js';
import { eventList, processList, type Listed, type ListedProcess } from './events.js';

export interface LaunchArguments extends DebugProtocol.LaunchRequestArguments {
  /** A recording directory or .rwnd log; default: the latest under .rewind/ in the working directory. */
  recording?: string;
  /** In a recording of several processes, this one (pid or name). */
  process?: string;
  /** Where the first pause is: the program's start, the failing turn, or before event N. */
  stopOn?: 'start' | 'failure' | number;
  /** The recording's other processes as threads of their own (default true). */
  threads?: boolean;
}

type Command = 'stepInto' | 'stepOver' | 'stepOut' | 'resume';

interface BreakpointSpec {
  file: string;
  line: number;
  /** 1-based; the first breakable place at or after it (restartFrame's function entries). */
  column?: number;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}

/** What stops the program: source breakpoints and the exception filter, as one value. */
interface Stops {
  breakpoints: BreakpointSpec[];
  exceptions: 'none' | 'uncaught' | 'all';
}

interface Step {
  command: Command;
  stops: Stops;
}

/** What a fresh replay starts from at its origin: the hit counts there and its place among the known hits, when known. */
interface Start {
  counts: Counts | null;
  chain: Chain | null;
}

const UNKNOWN: Start = { counts: null, chain: null };

/** Hit counts of breakpoints, by specKey(): how often each has been hit with its condition true. */
type Counts = Map<string, number>;

/** A breakpoint's identity across setBreakpoints requests: what it is, not which request made it. */
const specKey = (b: BreakpointSpec): string =>
  JSON.stringify([b.file, b.line, b.condition, b.hitCondition, b.logMessage]);

/**
 * A stop for a breakpoint or an exception passed going forward, and how to land on it again:
 * a fresh replay stopped before `origin` (its turn, when it has one), with the hit counts
 * `counts`, then `resumes` continues.
 */
interface Hit {
  turn: number;
  seen: number;
  origin: number;
  counts: [string, number][];
  resumes: number;
}

/**
 * The stops of a run from its first event under one set of stops (`key`), in order, as far
 * as the adapter has followed it. Every forward run that passes a stop adds it, so that
 * reverseContinue knows the previous stop and needs one re-execution, straight to it.
 */
interface Known {
  key: string;
  hits: Hit[];
}

/** Where a pause is in a Known: how many of its hits lie at or before the pause. */
interface Chain {
  known: Known;
  passed: number;
}

/** Where a pause is: its turn, and how many breakpoint stops that turn had up to it. */
interface Position {
  turn: number;
  seen: number;
  /** Stopped by a breakpoint or an exception (not by a step). */
  hit: boolean;
}

/** A worker thread being re-executed to an earlier point: which one, and with which first stops. */
interface Landing {
  /** Its process's thread. */
  owner: number;
  threadId: string;
  start: Stops;
  /** A goto's: it stops before this event of its own log instead (ReplaySpec.workerStop), start's stops unset until then. */
  until: number | null;
  adopted: (side: Side) => void;
}

/** No breakpoints, no exception stops: a worker thread's on its way to a goto's event. */
const NO_STOPS: Stops = { breakpoints: [], exceptions: 'none' };

/** Debugger.paused's reason for the pause Node makes in a worker it held for its debugger. */
const BREAK_ON_START = 'Break on start';

const THREAD = 1;
/** Frame ids of thread t > 1 are t * FRAMES + index. */
const FRAMES = 100_000;
/** At most this many other processes of a recording are replayed as threads. */
const MAX_SIDE_THREADS = 8;
/**
 * Worker thread k (in the order a replay's workers attach) is thread WORKER_THREADS + k of
 * thread 1's process, thread s * WORKER_THREADS_OF + k of another process's thread s.
 */
const WORKER_THREADS = THREAD + 1 + MAX_SIDE_THREADS;
const WORKER_THREADS_OF = 1000;
/** gotoTargets of another process's thread s are s * SIDE_TARGETS + event. */
const SIDE_TARGETS = 1_000_000_000;

/**
 * A thread other than thread 1, stopping at the session's breakpoints:
 * - another process of the recording (each has its own log, so its replay stands alone:
 *   `rewind replay -p PID`), replayed from its first event. Going back re-executes that
 *   replay from its first event (`process`), as thread 1 goes back, running `history` again;
 * - a worker thread of a process's replay (`worker`, of thread `owner`): it replays within
 *   that process (its messages really cross), so it lives as long as that replay. Going
 *   back re-executes the whole process and runs the worker, from its first stop (`start`),
 *   through `history` again (landWorker).
 */
interface Side {
  id: number;
  name: string;
  replay: Inspected;
  paused: Paused | null;
  cdp: Map<string, BreakpointSpec>;
  counts: Counts;
  applied: string;
  /** The process's replay spec (`-p`), for a process; null for a worker thread. */
  process: string | null;
  worker: WorkerThread | null;
  /** A worker thread's process: thread 1 or another process's thread. */
  owner: number;
  /** A process's replay running its history again (resetSide): its worker threads' stops pass by. */
  reexecuting: boolean;
  /** The stops set when a worker thread was adopted: its first stop was the first of these it reached. */
  start: Stops;
  /** A worker thread being run to an earlier point of it (landWorker): its stops do not pass by. */
  landing: boolean;
  /** How many times its replay was started again (resetSide): a run of an earlier one reports nothing. */
  resets: number;
  /**
   * A process's: the event its replay stopped before (1, or a goto's). A worker thread's: the
   * event of its own log it stopped before (a goto's), or 0: its first stop under `start`.
   * And its event list (its own log's) once asked for.
   */
  origin: number;
  events: Promise<Listed[]> | null;
  /** The commands run since its origin (a process's) or its first stop (a worker's), and where it stands. */
  history: Step[];
  position: Position;
  turnHits: { turn: number; hits: number };
}

export class RewindDebugSession extends LoggingDebugSession {
  private args!: LaunchArguments;
  private events: Listed[] = [];
  private turnEvents = new Set<number>();
  private replay: Replay | null = null;
  private origin = 0;
  private history: Step[] = [];
  private stops: Stops = { breakpoints: [], exceptions: 'none' };
  /** The stops the current replay has set, and its CDP breakpoint ids. */
  private applied = '';
  private cdpBreakpoints = new Map<string, BreakpointSpec>();
  private hitCounts: Counts = new Map();
  /** The counts and chain at the origin: what a re-execution from it starts with. */
  private originStart: Start = UNKNOWN;
  /** The counts as the current turn began (before its first breakpoint pause). */
  private turnStart: Counts = new Map();
  private known: Known | null = null;
  private chain: Chain | null = null;
  /** Replays started ahead of time for the re-executions the next reverse request is likely to need, by origin. */
  private readonly standby = new Map<number, Promise<Replay>>();
  /** Fresh replays run to a stop (launch, goto, going back): what rewind/position reports. */
  private reexecutions = 0;
  private paused: Paused | null = null;
  private position: Position = { turn: 0, seen: 0, hit: false };
  private turnHits = { turn: -1, hits: 0 };
  private readonly variables = new Handles<{ replay: Inspected; objectId: string }>();
  private readonly sides = new Map<number, Side>();
  /** Output is held while re-executing: the user saw it the first time. */
  private quiet = false;
  /** How far into each thread's output (by Replay.written) the client has been shown, by thread id. */
  private readonly shown = new Map<number, Record<OutputCategory, number>>();
  /** Bumped by every new replay of thread 1: a run of the replay it ended reports nothing. */
  private generation = 0;
  /** A worker thread a reverse request is re-executing, and how: its next adoption lands it (adoptWorker). */
  private landing: Landing | null = null;
  /**
   * Thread 1 runs to its first stop: its worker threads' stops on the way are the run's
   * first, not ones the user saw already, so they stop (a worker started before that stop
   * has the session's breakpoints from its first line).
   */
  private launching = false;
  /** Threads (1, or a process's) whose stops pass by while one of their worker threads lands. */
  private readonly passing = new Set<number>();

  constructor() {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsConditionalBreakpoints: true,
      supportsHitConditionalBreakpoints: true,
      supportsLogPoints: true,
      supportsEvaluateForHovers: true,
      supportsStepBack: true,
      supportsRestartFrame: true,
      supportsGotoTargetsRequest: true,
      supportsLoadedSourcesRequest: true,
      supportsTerminateRequest: true,
      exceptionBreakpointFilters: [
        { filter: 'uncaught', label: 'Uncaught Exceptions', default: false },
        { filter: 'all', label: 'All Exceptions', default: false },
      ],
    };
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: LaunchArguments): Promise<void> {
    await this.guard(response, async () => {
      this.args = args;
      this.events = await eventList(args.recording, args.process);
      this.turnEvents = new Set(this.events.filter((e) => e.kind === 'turn').map((e) => e.n));
      const origin = this.stopEvent(args.stopOn);
      this.launching = true;
      try {
        await this.goTo(origin, [], 'entry', this.startAt(origin));
      } finally {
        this.launching = false;
      }
      if (args.threads !== false) await this.startSides();
    });
  }

  /** Starts the recording's other processes as threads 2, 3, ... */
  private async startSides(): Promise<void> {
    // A recording of one process (or a single log) has no other threads to show.
    const { all, main } = await this.listProcesses();
    const spec = listedSpec;
    // A worker thread replays only within its process's replay (`-p PID/T` replays the
    // process): thread 1's worker threads become threads as its replay starts them
    // (adoptWorker); forked and spawned Node processes are threads of their own here.
    const others = all.filter((p) => p.replayable && !p.thread && p.pid !== main?.pid).slice(0, MAX_SIDE_THREADS);
    for (const [i, p] of others.entries()) {
      const name = `${p.program} ${p.pid}`;
      const replay = await this.sideReplay(spec(p), name);
      const side: Side = {
        id: THREAD + 1 + i,
        name,
        replay,
        paused: null,
        cdp: new Map(),
        counts: new Map(),
        applied: '',
        process: spec(p),
        worker: null,
        owner: THREAD,
        reexecuting: false,
        start: this.stops,
        landing: false,
        resets: 0,
        origin: 1,
        events: null,
        history: [],
        position: { turn: 0, seen: 0, hit: false },
        turnHits: { turn: -1, hits: 0 },
      };
      this.sides.set(side.id, side);
      await replay.adopt((worker) => this.adoptWorker(worker, side.id));
      if ((await replay.arrive()) === null) {
        this.sides.delete(side.id);
        continue;
      }
      this.sendEvent(new ThreadEvent('started', side.id));
      void this.runSide(side, 'resume');
    }
  }

  /** A process's replay from its first event, run to it: its output goes to the client marked with its name. */
  private async sideReplay(process: string, name: string): Promise<Replay> {
    const replay = await Replay.start({ recording: this.args.recording, process, until: 1 });
    replay.output = (category, text) => this.sendEvent(new OutputEvent(`[${name}] ${text}`, category));
    return replay;
  }

  /**
   * A worker thread of the replay of thread `owner` becomes a thread of the session as it
   * attaches: the session's breakpoints go in before a worker started from then on runs.
   */
  private async adoptWorker(worker: WorkerThread, owner = THREAD): Promise<void> {
    const process = owner === THREAD ? null : (this.sides.get(owner) ?? null);
    if (worker.parent !== (process ? process.replay : this.replay)) return;
    const title = worker.title || `worker ${worker.index + 1}`;
    const side: Side = {
      id: owner === THREAD ? WORKER_THREADS + worker.index : owner * WORKER_THREADS_OF + worker.index,
      name: process ? `${process.name} ${title}` : title,
      replay: worker,
      paused: null,
      cdp: new Map(),
      counts: new Map(),
      applied: '',
      process: null,
      worker,
      owner,
      reexecuting: false,
      start: this.stops,
      landing: false,
      resets: 0,
      origin: 0,
      events: null,
      history: [],
      position: { turn: 0, seen: 0, hit: false },
      turnHits: { turn: -1, hits: 0 },
    };
    const landing = this.landing;
    if (landing && landing.owner === owner && landing.threadId === worker.threadId) {
      // The worker thread a reverse request re-executes: to its earlier point, from its first stop.
      this.landing = null;
      side.start = landing.start;
      side.origin = landing.until ?? 0;
      side.landing = true;
      // On its way to a goto's event, nothing stops it.
      const first = landing.until === null ? landing.start : NO_STOPS;
      await setStops(worker, first, side.cdp);
      side.applied = JSON.stringify(first);
      this.sides.set(side.id, side);
      this.sendEvent(new ThreadEvent('started', side.id));
      landing.adopted(side);
      return;
    }
    // The session's stops may change meanwhile (a setBreakpoints request): set the latest.
    while (side.applied !== JSON.stringify(this.stops)) {
      const stops = this.stops;
      await setStops(worker, stops, side.cdp);
      side.applied = JSON.stringify(stops);
    }
    side.start = this.stops;
    this.sides.set(side.id, side);
    this.sendEvent(new ThreadEvent('started', side.id));
    void this.runSide(side, null);
  }

  /** The worker threads of a replay being ended are threads no more. */
  private dropWorkers(replay: Inspected | null): void {
    for (const side of [...this.sides.values()]) {
      if (side.worker === null || side.worker.parent !== replay) continue;
      this.sides.delete(side.id);
      this.sendEvent(new ThreadEvent('exited', side.id));
    }
  }

  /**
   * Runs a side thread with `command` (null: it is running already) to the next pause the
   * user should see (breakpoints that do not stop resume by themselves, a step that ends in
   * rewind's frames goes on), or its end (null). A worker thread's stops pass by while its
   * process re-executes: it is a new run of the process, not the one the user looks at.
   */
  private async advanceSide(
    side: Side,
    command: Command | null,
    quiet: boolean,
    stops: Stops = this.stops,
  ): Promise<Paused | null> {
    const replay = side.replay;
    const key = JSON.stringify(stops);
    if (key !== side.applied) {
      await setStops(replay, stops, side.cdp);
      side.applied = key;
    }
    for (;;) {
      side.paused = null;
      if (command !== null) await send(replay, command);
      const p = await replay.nextPause();
      if (p === null) return null;
      command ??= 'resume';
      // Node pauses a worker it held for us (waitForDebuggerOnStart) as it lets it go: not a stop of the program's.
      if ((p.reason as string) === BREAK_ON_START) {
        command = 'resume';
        continue;
      }
      if (replay.isRewindScript(p.callFrames[0].location.scriptId)) {
        command = command === 'resume' ? 'resume' : 'stepInto';
        continue;
      }
      const atBreakpoint = (p.hitBreakpoints ?? []).length > 0;
      const passing = side.worker !== null && !side.landing && this.reexecuting(side.owner);
      const hit = await this.stopsHere(p, replay, side.cdp, side.counts, quiet || passing);
      if (!hit && command === 'resume' && atBreakpoint) continue;
      if (passing) {
        command = 'resume';
        continue;
      }
      const turn = await replay.turnOf(p);
      if (turn !== side.turnHits.turn) side.turnHits = { turn, hits: 0 };
      if (hit) side.turnHits.hits++;
      side.position = { turn, seen: side.turnHits.hits, hit };
      // A process running while one of its worker threads lands: its stops pass by, counted.
      if (hit && side.worker === null && this.passing.has(side.id)) {
        command = 'resume';
        continue;
      }
      side.paused = p;
      return p;
    }
  }

  /** Is thread `id`'s process re-executing (its worker threads' stops pass by)? */
  private reexecuting(id: number): boolean {
    return id === THREAD ? this.quiet && !this.launching : (this.sides.get(id)?.reexecuting ?? false);
  }

  /** Runs a side thread forward to its next stop (reported), or its end. */
  private async runSide(side: Side, command: Command | null): Promise<void> {
    const resets = side.resets;
    try {
      if (command !== null) side.history.push({ command, stops: this.stops });
      const p = await this.advanceSide(side, command, false);
      // Its process went back meanwhile (a reverse request in one of its worker threads).
      if (side.resets !== resets) return;
      if (p !== null) {
        const running = command === 'resume' || command === null;
        const reason =
          p.reason === 'exception'
            ? 'exception'
            : !running
              ? 'step'
              : (p.hitBreakpoints ?? []).length > 0
                ? 'breakpoint'
                : 'pause';
        this.sendEvent(new StoppedEvent(reason, side.id));
        return;
      }
    } catch (e) {
      if (side.resets !== resets) return;
      if (this.sides.get(side.id) === side)
        this.sendEvent(new OutputEvent(`rewind: thread ${side.name}: ${(e as Error).message}\n`, 'stderr'));
    }
    // A process that ran to its end while one of its worker threads is searched for an
    // earlier point (restartFrameWorker): it replays again for the next search, still a thread.
    if (side.worker === null && this.passing.has(side.id)) return void (await side.replay.kill());
    if (this.sides.get(side.id) === side) {
      this.sides.delete(side.id);
      this.sendEvent(new ThreadEvent('exited', side.id));
    }
    await side.replay.kill();
  }

  /**
   * Another process's thread back to an earlier point: a fresh replay of it from its first
   * event runs `history` again, with its output held (the user saw it). Its stop is reported
   * for `reason` (null: not reported, the replay is a search).
   */
  private async resetSide(
    side: Side,
    history: Step[],
    reason: string | null,
    origin = 1,
    workerStop?: ReplaySpec['workerStop'],
  ): Promise<void> {
    if (side.process === null) throw new Error(`${side.name} is a worker thread: see landWorker`);
    side.resets++;
    this.dropWorkers(side.replay);
    await side.replay.kill();
    side.paused = null;
    side.origin = origin;
    const spec = { recording: this.args.recording, process: side.process, until: origin, workerStop };
    const replay = await Replay.start(spec);
    side.replay = replay;
    side.reexecuting = true;
    await replay.adopt((worker) => this.adoptWorker(worker, side.id));
    side.cdp = new Map();
    side.counts = new Map();
    side.applied = '';
    side.history = [];
    side.turnHits = { turn: -1, hits: 0 };
    side.position = { turn: 0, seen: 0, hit: false };
    side.paused = await replay.arrive();
    if (side.paused === null) throw new Error(`the replay of ${side.name} ended before event ${origin}`);
    side.position = { turn: await replay.turnOf(side.paused), seen: 0, hit: false };
    side.turnHits = { turn: side.position.turn, hits: 0 };
    for (const step of history) {
      side.history.push(step);
      if ((await this.advanceSide(side, step.command, true, step.stops)) === null)
        throw new Error(`the re-executed run of ${side.name} ended early: the replay diverged`);
    }
    if (reason === null) return;
    side.reexecuting = false;
    replay.output = (category, text) => this.sendEvent(new OutputEvent(`[${side.name}] ${text}`, category));
    this.sendEvent(new StoppedEvent(reason, side.id));
  }

  /** stepBack in another process's thread: one command less from its first event. */
  private async stepBackSide(side: Side): Promise<void> {
    if (side.worker !== null) {
      const origin = side.origin === 0 ? null : side.origin;
      if (side.history.length > 0) {
        await this.landWorker(side, side.start, side.history.slice(0, -1), 'step', origin);
        return;
      }
      // At a goto's event: the worker's turn before it, as thread 1 goes back at a turn's start.
      const previous =
        origin === null
          ? undefined
          : (await this.sideEvents(side)).filter((e) => e.kind === 'turn' && e.n < origin).at(-1);
      if (!previous)
        throw new Error(
          origin === null
            ? `${side.name} is at its first stop since it started: its earlier lines ran before any stop of the debugger, so there is no step to go back`
            : `${side.name} is at its first event: there is no step to go back`,
        );
      await this.landWorker(side, side.start, [], 'step', previous.n);
      return;
    }
    if (side.history.length > 0) return this.resetSide(side, side.history.slice(0, -1), 'step', side.origin);
    // At its origin: the turn before it, as thread 1 goes back at a turn's start.
    const previous = (await this.sideEvents(side)).filter((e) => e.kind === 'turn' && e.n < side.origin).at(-1);
    if (side.origin === 1 || !previous)
      throw new Error(`${side.name} is at its first event: there is no step to go back`);
    await this.resetSide(side, [], 'step', previous.n);
  }

  /** The event list of a process's or worker's thread (its own log's), listed once. */
  private sideEvents(side: Side): Promise<Listed[]> {
    side.events ??= this.logOf(side).then((log) => eventList(this.args.recording, log));
    return side.events;
  }

  /** The `-p` of a thread's own log: a process's, or PID/T for a worker thread (Node's thread id T). */
  private async logOf(side: Side): Promise<string> {
    if (side.process !== null) return side.process;
    const owner = this.sides.get(side.owner);
    const pid = owner ? owner.process!.split('/')[0] : String((await this.mainProcess())?.pid ?? '');
    if (!pid) throw new Error(`the process of ${side.name} is not in the recording's process list`);
    return `${pid}/${side.worker!.threadId}`;
  }

  private mainListed: Promise<{ all: ListedProcess[]; main: ListedProcess | undefined }> | null = null;

  /** The recording's processes, and the one thread 1 replays. */
  private listProcesses(): Promise<{ all: ListedProcess[]; main: ListedProcess | undefined }> {
    this.mainListed ??= processList(this.args.recording)
      .catch(() => [])
      .then((all) => {
        const asked = this.args.process;
        const main =
          all.find((p) => asked !== undefined && (listedSpec(p) === asked || (!p.thread && p.program === asked))) ??
          all.find((p) => p.default) ??
          all[0];
        return { all, main };
      });
    return this.mainListed;
  }

  private async mainProcess(): Promise<ListedProcess | undefined> {
    return (await this.listProcesses()).main;
  }

  /** goto event `n` of a process's thread: a fresh replay of it stopped before that event. */
  private async gotoSide(side: Side, n: number): Promise<void> {
    if (!(await this.sideEvents(side)).some((e) => e.n === n)) throw new Error(`${side.name} has no event ${n}`);
    // A worker thread: its process replays again, and the worker pauses itself before its event n.
    if (side.worker !== null) await this.landWorker(side, this.stops, [], 'goto', n);
    else await this.resetSide(side, [], 'goto', n);
  }

  /**
   * A worker thread back to an earlier point of it: (its first stop under `start`, then
   * `history`), which its log alone decides (a worker's messages wait for their turn in it).
   * Its process replays again from its first event, with thread 1 (or the process's thread)
   * running, its stops passing by until the worker lands: the worker may need any of its
   * messages, so the process's thread cannot wait at its own earlier stop. What it prints
   * that the client was shown already is not shown again. The worker's stop is reported for
   * `reason` (null: not reported, a search). Returns the worker's thread, landed.
   */
  private async landWorker(
    side: Side,
    start: Stops,
    history: Step[],
    reason: string | null,
    until: number | null = null,
  ): Promise<Side> {
    const owner = side.owner;
    const threadId = side.worker!.threadId;
    let adopted!: (side: Side) => void;
    const landed = new Promise<Side>((resolve) => (adopted = resolve));
    this.landing = { owner, threadId, start, until, adopted };
    // Passing already (restartFrameWorker lands a worker several times): it stays so.
    const passing = !this.passing.has(owner);
    this.passing.add(owner);
    try {
      const { ended } = await this.restartRunning(owner, until === null ? undefined : { threadId, event: until });
      const gone = () => new Error(`the re-executed run ended before ${side.name} got back there: the replay diverged`);
      const worker = await Promise.race([landed, ended.then(() => Promise.reject(gone()))]);
      const arrived = until === null ? this.advanceSide(worker, null, true, start) : this.arriveAtStop(worker);
      if ((await Promise.race([arrived, ended.then(() => null)])) === null) throw gone();
      for (const step of history) {
        worker.history.push(step);
        if ((await this.advanceSide(worker, step.command, true, step.stops)) === null) throw gone();
      }
      worker.landing = false;
      if (reason !== null) this.sendEvent(new StoppedEvent(reason, worker.id));
      return worker;
    } finally {
      this.landing = null;
      if (passing) this.passing.delete(owner);
    }
  }

  /** A worker thread started to stop before an event of its own (a goto's): its pause there, in the program. */
  private async arriveAtStop(side: Side): Promise<Paused | null> {
    const p = await side.worker!.arriveAtStop();
    if (p === null) return null;
    side.paused = p;
    const turn = await side.replay.turnOf(p);
    side.turnHits = { turn, hits: 0 };
    side.position = { turn, seen: 0, hit: false };
    return p;
  }

  /**
   * Thread `owner` (1 or another process's) replayed again from its first event and running,
   * its output shown from where the client's left off; `ended`: when that replay has ended.
   */
  private async restartRunning(
    owner: number,
    workerStop?: ReplaySpec['workerStop'],
  ): Promise<{ ended: Promise<unknown> }> {
    const resume: Step = { command: 'resume', stops: this.stops };
    if (owner === THREAD) {
      const first = this.events[0].n;
      await this.goTo(first, [], null, this.startAt(first), workerStop);
      const replay = this.replay!;
      this.quiet = false;
      this.showOutput(THREAD, replay, '', true);
      this.history.push(resume);
      this.sendEvent(new ContinuedEvent(THREAD, false));
      void this.report(async () => this.run(resume), 'breakpoint');
      return { ended: replay.exitCode };
    }
    const process = this.sides.get(owner);
    if (!process) throw new Error(`there is no thread ${owner}`);
    await this.resetSide(process, [], null, 1, workerStop);
    process.reexecuting = false;
    const replay = process.replay as Replay;
    this.showOutput(owner, replay, `[${process.name}] `, true);
    this.sendEvent(new ContinuedEvent(owner, false));
    void this.runSide(process, 'resume');
    return { ended: replay.exitCode };
  }

  /**
   * Sends `replay`'s output (thread `id`'s) to the client, remembering how far it got; with
   * `skipShown`, what the client was shown already from an earlier replay of the same run is
   * not sent again.
   */
  private showOutput(id: number, replay: Replay, prefix: string, skipShown: boolean): void {
    const shown = this.shown.get(id) ?? { stdout: 0, stderr: 0, console: 0 };
    this.shown.set(id, shown);
    replay.output = (category, text) => {
      if (id === THREAD && this.quiet) return;
      const end = replay.written[category];
      const skip = skipShown ? Math.max(0, shown[category] - (end - text.length)) : 0;
      if (skip < text.length) this.sendEvent(new OutputEvent(prefix + text.slice(skip), category));
      shown[category] = Math.max(shown[category], end);
    };
  }

  /** reverseContinue in another process's thread: to the last stop before here, found by following its run from its first event. */
  private async reverseContinueSide(side: Side): Promise<void> {
    const here = side.position;
    const earlier = (p: Position) =>
      p.turn < here.turn || (p.turn === here.turn && p.seen < here.seen + (here.hit ? 0 : 1));
    if (side.worker !== null) return this.reverseContinueWorker(side, earlier);
    await this.resetSide(side, [], null);
    let passed = 0;
    const resume: Step = { command: 'resume', stops: this.stops };
    while ((await this.advanceSide(side, 'resume', true)) !== null && side.position.hit && earlier(side.position))
      passed++;
    await this.resetSide(
      side,
      Array.from({ length: passed }, () => resume),
      passed > 0 ? 'breakpoint' : 'entry',
    );
  }

  /**
   * reverseContinue in a worker thread: its stops under the session's stops are followed
   * from its first one (a re-execution of its process) up to here; then a second
   * re-execution lands on the last one before here.
   */
  private async reverseContinueWorker(side: Side, earlier: (p: Position) => boolean): Promise<void> {
    const stops = this.stops;
    const resume: Step = { command: 'resume', stops };
    const first = await this.landWorker(side, stops, [], null);
    // No stop before here since the worker started: as a process's thread goes back to its
    // first event, the worker goes to its first stop.
    if (!first.position.hit || !earlier(first.position))
      return void this.sendEvent(new StoppedEvent('entry', first.id));
    let passed = 1;
    first.landing = true;
    try {
      while (
        (await this.advanceSide(first, 'resume', true, stops)) !== null &&
        first.position.hit &&
        earlier(first.position)
      )
        passed++;
    } finally {
      first.landing = false;
    }
    await this.landWorker(
      first,
      stops,
      Array.from({ length: passed - 1 }, () => resume),
      'breakpoint',
    );
  }

  /** The side thread a request names, or null for thread 1. */
  private side(threadId: number | undefined): Side | null {
    if (threadId === undefined || threadId === THREAD) return null;
    const side = this.sides.get(threadId);
    if (!side) throw new Error(`there is no thread ${threadId}`);
    return side;
  }

  /** The replay and pause a request about `threadId` (or a frame id of it) looks at. */
  private view(threadId: number | undefined): { replay: Inspected | null; paused: Paused | null } {
    const side = this.side(threadId);
    return side ? { replay: side.replay, paused: side.paused } : { replay: this.replay, paused: this.paused };
  }

  private async endSides(): Promise<void> {
    const all = [...this.sides.values()];
    this.sides.clear();
    await Promise.all(all.map((side) => side.replay.kill()));
  }

  /** The event a launch stops before. */
  private stopEvent(stopOn: LaunchArguments['stopOn']): number {
    const failure = this.events.find((e) => e.kind === 'failure');
    if (typeof stopOn === 'number') return stopOn;
    if (stopOn === 'failure' || (stopOn === undefined && failure)) {
      if (!failure) throw new Error('the recorded run did not fail: there is no failure to stop on');
      const turn = this.events.filter((e) => e.kind === 'turn' && e.n < failure.n).at(-1);
      return turn?.n ?? this.events[0].n;
    }
    return this.events[0].n;
  }

  // -- Breakpoints

  protected override async setBreakPointsRequest(
    response: DebugProtocol.SetBreakpointsResponse,
    args: DebugProtocol.SetBreakpointsArguments,
  ): Promise<void> {
    const file = args.source.path!;
    const mine = (args.breakpoints ?? []).map((b) => ({
      file,
      line: b.line,
      condition: b.condition,
      hitCondition: b.hitCondition,
      logMessage: b.logMessage,
    }));
    this.stops = { ...this.stops, breakpoints: [...this.stops.breakpoints.filter((b) => b.file !== file), ...mine] };
    await this.guard(response, async () => {
      if (this.replay) await this.apply(this.stops);
      await this.applySides();
      response.body = { breakpoints: mine.map((b) => ({ verified: true, line: b.line })) };
    });
  }

  protected override async setExceptionBreakPointsRequest(
    response: DebugProtocol.SetExceptionBreakpointsResponse,
    args: DebugProtocol.SetExceptionBreakpointsArguments,
  ): Promise<void> {
    this.stops = {
      ...this.stops,
      exceptions: args.filters.includes('all') ? 'all' : args.filters.includes('uncaught') ? 'uncaught' : 'none',
    };
    await this.guard(response, async () => {
      if (this.replay) await this.apply(this.stops);
      await this.applySides();
    });
  }

  /** New stops reach the side threads that are paused (a running one gets them when it next runs... or now). */
  private async applySides(): Promise<void> {
    const key = JSON.stringify(this.stops);
    for (const side of this.sides.values()) {
      if (side.applied === key) continue;
      await setStops(side.replay, this.stops, side.cdp);
      side.applied = key;
    }
  }

  /** Makes the replay's breakpoints `stops`. */
  private async apply(stops: Stops): Promise<void> {
    const key = JSON.stringify(stops);
    if (key === this.applied || !this.replay) return;
    if (this.chain?.known.key !== key) {
      // Other stops: the known ones are not theirs. At the first event, a new list starts.
      const atFirst = this.origin === this.events[0].n && this.history.length === 0 && this.originStart.counts !== null;
      this.known = atFirst ? { key, hits: [] } : this.known;
      this.chain = atFirst ? { known: this.known!, passed: 0 } : null;
    }
    await setStops(this.replay, stops, this.cdpBreakpoints);
    this.applied = key;
  }

  // -- Running forward

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = {
      threads: [
        new Thread(THREAD, `replay of ${path.basename(this.args?.recording ?? 'recording')}`),
        ...[...this.sides.values()].map((side) => new Thread(side.id, side.name)),
      ],
    };
    this.sendResponse(response);
  }

  protected override continueRequest(
    response: DebugProtocol.ContinueResponse,
    args: DebugProtocol.ContinueArguments,
  ): void {
    response.body = { allThreadsContinued: false };
    void this.forward(response, 'resume', 'breakpoint', args.threadId);
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    void this.forward(response, 'stepOver', 'step', args.threadId);
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    void this.forward(response, 'stepInto', 'step', args.threadId);
  }

  protected override stepOutRequest(
    response: DebugProtocol.StepOutResponse,
    args: DebugProtocol.StepOutArguments,
  ): void {
    void this.forward(response, 'stepOut', 'step', args.threadId);
  }

  protected override async pauseRequest(
    response: DebugProtocol.PauseResponse,
    args: DebugProtocol.PauseArguments,
  ): Promise<void> {
    await this.guard(response, async () => {
      await this.view(args.threadId).replay?.client.Debugger.pause();
    });
  }

  private async forward(
    response: DebugProtocol.Response,
    command: Command,
    reason: string,
    threadId: number,
  ): Promise<void> {
    let side: Side | null;
    try {
      side = this.side(threadId);
      if (side && !side.paused) throw new Error(`thread ${threadId} is not paused`);
    } catch (e) {
      return this.sendErrorResponse(response, { id: 1, format: (e as Error).message, showUser: true });
    }
    this.sendResponse(response);
    if (side) return this.runSide(side, command);
    const step: Step = { command, stops: this.stops };
    this.history.push(step);
    await this.report(async () => this.run(step), reason);
  }

  /**
   * Runs one command to the next pause the user should see: breakpoints whose condition is
   * false, hit counts not yet reached and logpoints resume by themselves, and a step that
   * ends in rewind's frames goes on. False once the program has ended.
   */
  private async run(step: Step): Promise<boolean> {
    const replay = this.replay!;
    await this.apply(step.stops);
    let command: Command = step.command;
    for (;;) {
      this.paused = null;
      this.variables.reset();
      await send(replay, command);
      const p = await replay.nextPause();
      if (p === null || replay !== this.replay) return false;
      const top = p.callFrames[0];
      if (replay.isRewindScript(top.location.scriptId)) {
        // Out of the stopped turn, into the trampoline: on to the program.
        command = command === 'resume' ? 'resume' : 'stepInto';
        continue;
      }
      const atBreakpoint = (p.hitBreakpoints ?? []).length > 0;
      // The turn first: the counts as a turn begins are part of how to land in it again.
      let turn = atBreakpoint ? await replay.turnOf(p) : null;
      if (turn !== null) this.enterTurn(turn);
      const hit = await this.stopsHere(p);
      // A breakpoint that does not stop (condition, hit count, logpoint); a step stops anyway.
      if (!hit && command === 'resume' && atBreakpoint) continue;
      this.paused = p;
      turn ??= await replay.turnOf(p);
      this.enterTurn(turn);
      if (hit) this.turnHits.hits++;
      this.position = { turn, seen: this.turnHits.hits, hit };
      if (hit) this.follow(step.stops);
      // Running while one of its worker threads lands: its stops pass by, counted.
      if (hit && this.passing.has(THREAD) && replay === this.replay) {
        command = 'resume';
        continue;
      }
      return replay === this.replay;
    }
  }

  private enterTurn(turn: number): void {
    if (turn === this.turnHits.turn) return;
    this.turnHits = { turn, hits: 0 };
    this.turnStart = new Map(this.hitCounts);
  }

  /** Adds the stop just reached to the known ones (or checks it against them). */
  private follow(stops: Stops): void {
    const chain = this.chain;
    if (chain === null || chain.known.key !== JSON.stringify(stops)) {
      this.chain = null;
      return;
    }
    const { turn, seen } = this.position;
    const { hits } = chain.known;
    if (chain.passed < hits.length) {
      const h = hits[chain.passed];
      // Replay is deterministic, so this is the stop found before; if not, stop trusting the list.
      if (h.turn !== turn || h.seen !== seen) return void (this.chain = null);
    } else {
      const previous = hits.at(-1);
      // A turn's first stop is reached from that turn; any other from where the previous one was.
      if (this.turnEvents.has(turn) && previous?.turn !== turn)
        hits.push({ turn, seen, origin: turn, counts: [...this.turnStart], resumes: seen });
      else if (previous)
        hits.push({ turn, seen, origin: previous.origin, counts: previous.counts, resumes: previous.resumes + 1 });
      else hits.push({ turn, seen, origin: this.events[0].n, counts: [], resumes: 1 });
    }
    chain.passed++;
  }

  /** Does this pause stop for a breakpoint or an exception? Evaluates conditions and logpoints off the log. */
  private async stopsHere(
    p: Paused,
    replay: Inspected = this.replay!,
    cdp = this.cdpBreakpoints,
    hitCounts = this.hitCounts,
    quiet = this.quiet,
  ): Promise<boolean> {
    if (p.reason === 'exception' || p.reason === 'promiseRejection') return true;
    const specs = (p.hitBreakpoints ?? []).map((id) => cdp.get(id)).filter((b): b is BreakpointSpec => b !== undefined);
    let stops = false;
    for (const b of specs) {
      if (
        b.condition &&
        !(await replay.evaluate(p.callFrames[0], `Boolean(${b.condition})`).catch(() => ({ value: false }))).value
      )
        continue;
      const count = (hitCounts.get(specKey(b)) ?? 0) + 1;
      hitCounts.set(specKey(b), count);
      if (b.hitCondition && !hitReached(b.hitCondition, count)) continue;
      if (b.logMessage !== undefined) {
        const text = await this.interpolate(replay, p.callFrames[0], b.logMessage);
        if (!quiet) this.sendEvent(new OutputEvent(`${text}\n`, 'console'));
        continue;
      }
      stops = true;
    }
    return stops;
  }

  private async interpolate(replay: Inspected, frame: CallFrame, message: string): Promise<string> {
    const parts = message.split(/(\{[^}]+\})/);
    const out: string[] = [];
    for (const part of parts) {
      if (!/^\{[^}]+\}$/.test(part)) out.push(part);
      else {
        const r = await replay.evaluate(frame, part.slice(1, -1)).catch((e: Error) => ({
          value: e.message,
          description: undefined,
        }));
        out.push(r.description ?? String(r.value));
      }
    }
    return out.join('');
  }

  /** Runs `body`, then tells the client where the program stopped, or that it ended. */
  private async report(body: () => Promise<boolean>, reason: string): Promise<void> {
    const generation = this.generation;
    try {
      const stopped = await body();
      // Its replay was replaced meanwhile (a worker thread went back, and its process with it).
      if (generation !== this.generation) return;
      // It ran to its end while one of its worker threads is searched for an earlier point
      // (restartFrameWorker): it replays again for the next search, the session goes on.
      if (!stopped && this.passing.has(THREAD)) return;
      if (stopped) {
        this.sendEvent(new StoppedEvent(this.paused?.reason === 'exception' ? 'exception' : reason, THREAD));
        this.prepare();
      } else await this.ended();
    } catch (e) {
      if (generation !== this.generation) return;
      this.sendEvent(new OutputEvent(`rewind: ${(e as Error).message}\n`, 'stderr'));
      await this.ended();
    }
  }

  private async ended(): Promise<void> {
    await this.endStandby();
    const code = await this.replay?.exitCode;
    this.sendEvent(new ExitedEvent(code ?? 0));
    this.sendEvent(new TerminatedEvent());
  }

  // -- Going back: re-execution

  /** What a fresh replay stopped before `origin` starts from, as far as the adapter knows. */
  private startAt(origin: number): Start {
    if (origin !== this.events[0].n) return UNKNOWN;
    const key = JSON.stringify(this.stops);
    const known = this.known?.key === key ? this.known : { key, hits: [] };
    return { counts: new Map(), chain: { known, passed: 0 } };
  }

  /**
   * A fresh replay stopped before event `origin`, then `history` run on it; a stop reported
   * for `reason`. `start`: the hit counts at the origin, and its place among the known stops.
   */
  private async goTo(
    origin: number,
    history: Step[],
    reason: string | null,
    start: Start,
    workerStop?: ReplaySpec['workerStop'],
  ): Promise<void> {
    this.generation++;
    this.dropWorkers(this.replay);
    await this.replay?.kill();
    this.replay = null;
    this.applied = '';
    this.cdpBreakpoints.clear();
    this.originStart = start;
    this.hitCounts = new Map(start.counts ?? []);
    if (start.chain) this.known = start.chain.known;
    this.chain = start.chain ? { ...start.chain } : null;
    this.turnHits = { turn: -1, hits: 0 };
    this.origin = origin;
    this.history = [];
    this.quiet = true;
    this.reexecutions++;
    const replay = await this.replayFrom(origin, workerStop);
    this.showOutput(THREAD, replay, '', false);
    this.replay = replay;
    await replay.adopt((worker) => this.adoptWorker(worker));
    const first = await replay.arrive();
    if (first === null) throw new Error(`the replay ended before event ${origin}`);
    this.paused = first;
    this.position = { turn: await replay.turnOf(first), seen: 0, hit: false };
    this.enterTurn(this.position.turn);
    await this.apply(this.stops);
    for (const step of history) {
      this.history.push(step);
      if (!(await this.run(step))) throw new Error('the re-executed run ended early: the replay diverged');
    }
    await this.apply(this.stops);
    if (reason === null) return;
    this.quiet = false;
    this.sendEvent(new StoppedEvent(reason, THREAD));
    this.prepare();
  }

  /** A replay stopped before `origin`: the one started ahead of time for it, or a new one. */
  private replayFrom(origin: number, workerStop?: ReplaySpec['workerStop']): Promise<Replay> {
    // A worker's stop is the replay's from its start: no standby has it.
    if (workerStop) return Replay.start({ ...this.spec(origin), workerStop });
    let ready = this.standby.get(origin);
    this.standby.delete(origin);
    if (ready === undefined && origin === this.events[0].n && this.spare !== null) {
      ready = this.spare;
      this.spare = null;
    }
    return ready ?? Replay.start(this.spec(origin));
  }

  /** Thread 1's replay stopped before `origin`. */
  private spec(origin: number): ReplaySpec {
    return { recording: this.args.recording, process: this.args.process, until: origin };
  }

  /**
   * A standby replay, run to its stop before `origin`, waiting there. `background`: at a lower
   * CPU priority than the replay the user drives (the speculative ones at the first event).
   */
  private startReplay(origin: number, background: boolean): Promise<Replay> {
    const spec = { recording: this.args.recording, process: this.args.process, until: origin };
    const ready = Replay.start(spec, background).then(async (replay) => {
      // A worker thread that starts before the stop waits for the session's breakpoints, and
      // the replay may need it to get there: the request that takes the replay adopts its
      // workers, then lets it arrive.
      await Promise.race([replay.arrive(), replay.workerWaits]);
      return replay;
    });
    ready.catch(() => {}); // the request that takes it sees the failure
    return ready;
  }

  /**
   * A second standby replay at the first event: a reverseContinue with breakpoints just set
   * needs two replays from there (followToPreviousStop).
   */
  private spare: Promise<Replay> | null = null;

  /**
   * With the program stopped for the user: starts, ahead of time, the replays the next
   * stepBack and reverseContinue would start (each runs to its stop and waits there, so the
   * request pays neither the process start nor the run to the origin), and ends the others.
   */
  private prepare(): void {
    const wanted = new Set<number>();
    const back = this.stepBackTarget();
    if (back) wanted.add(back.origin);
    const previous = this.chain ? this.previousHit(this.chain) : undefined;
    if (previous) wanted.add(previous.origin);
    // And one at the first event: where a reverseContinue with breakpoints just set, a worker
    // thread going back, and goto to an early event start from.
    wanted.add(this.events[0].n);
    for (const [origin, ready] of this.standby) {
      if (wanted.has(origin)) continue;
      this.standby.delete(origin);
      void ready.then(
        (r) => r.kill(),
        () => {},
      );
    }
    // Run to its stop too, so that the request pays nothing but its own steps.
    const first = this.events[0].n;
    for (const origin of wanted)
      if (!this.standby.has(origin)) this.standby.set(origin, this.startReplay(origin, origin === first));
    this.spare ??= this.startReplay(first, true);
  }

  private async endStandby(): Promise<void> {
    const all = [...this.standby.values(), ...(this.spare ? [this.spare] : [])];
    this.standby.clear();
    this.spare = null;
    await Promise.all(
      all.map((ready) =>
        ready.then(
          (r) => r.kill(),
          () => {},
        ),
      ),
    );
  }

  /** Where stepBack goes: one command less from the origin, or the previous turn at a turn's start. */
  private stepBackTarget(): { origin: number; history: Step[]; start: Start } | null {
    if (this.history.length > 0)
      return { origin: this.origin, history: this.history.slice(0, -1), start: this.originStart };
    const previous = this.events.filter((e) => e.kind === 'turn' && e.n < this.origin).at(-1);
    if (!previous) return null;
    return { origin: previous.n, history: [], start: this.startAt(previous.n) };
  }

  /** The side thread a reverse request names (paused), or null for thread 1. */
  private pausedSide(threadId: number): Side | null {
    const side = this.side(threadId);
    if (side && !side.paused) throw new Error(`thread ${threadId} (${side.name}) is running: pause it first`);
    return side;
  }

  /** The last known stop before the pause at `chain`. */
  private previousHit(chain: Chain): Hit | undefined {
    const before = this.position.hit ? chain.passed - 1 : chain.passed;
    return before > 0 ? chain.known.hits[before - 1] : undefined;
  }

  protected override async stepBackRequest(
    response: DebugProtocol.StepBackResponse,
    args: DebugProtocol.StepBackArguments,
  ): Promise<void> {
    await this.guard(response, async () => {
      const side = this.pausedSide(args.threadId);
      if (side) return this.stepBackSide(side);
      const back = this.stepBackTarget();
      if (back) await this.goTo(back.origin, back.history, 'step', back.start);
      else await this.goTo(this.origin, [], 'step', this.originStart);
    });
  }

  protected override async reverseContinueRequest(
    response: DebugProtocol.ReverseContinueResponse,
    args: DebugProtocol.ReverseContinueArguments,
  ): Promise<void> {
    await this.guard(response, async () => {
      const side = this.pausedSide(args.threadId);
      if (side) return this.reverseContinueSide(side);
      const first = this.events[0].n;
      const resume: Step = { command: 'resume', stops: this.stops };
      let known: Known;
      let target: Hit | undefined;
      if (this.chain !== null && this.chain.known.key === JSON.stringify(this.stops)) {
        known = this.chain.known;
        target = this.previousHit(this.chain);
      } else return this.followToPreviousStop(resume);
      if (!target) return this.goTo(first, [], 'entry', this.startAt(first));
      const index = known.hits.indexOf(target);
      await this.goTo(
        target.origin,
        Array.from({ length: target.resumes }, () => resume),
        'breakpoint',
        { counts: new Map(target.counts), chain: { known, passed: index + 1 - target.resumes } },
      );
    });
  }

  /**
   * reverseContinue when the stops before here are not known (breakpoints just set): two
   * replays from the first event, started together. A scout follows the run stop by stop up
   * to here; the replay the user lands in follows it, one stop at a time, as far as the scout
   * found stops before here. So the request costs one replay's start and one run to here,
   * not two of each.
   */
  private async followToPreviousStop(resume: Step): Promise<void> {
    const first = this.events[0].n;
    const here = this.position;
    const earlier = (p: Position) =>
      p.turn < here.turn || (p.turn === here.turn && p.seen < here.seen + (here.hit ? 0 : 1));
    const starting = this.replayFrom(first);
    starting.catch(() => {}); // awaited below
    await this.goTo(first, [], null, this.startAt(first));
    const replay = await starting;
    // Its worker threads run free: it looks for thread 1's stops only.
    await replay.adopt(async () => {});
    await replay.arrive();
    const scout: Side = {
      id: 0,
      name: 'scout',
      replay,
      paused: null,
      cdp: new Map(),
      counts: new Map(),
      applied: '',
      process: null,
      worker: null,
      owner: THREAD,
      reexecuting: false,
      start: resume.stops,
      landing: false,
      resets: 0,
      origin: 1,
      events: null,
      history: [],
      position: { turn: 0, seen: 0, hit: false },
      turnHits: { turn: -1, hits: 0 },
    };
    let following: Promise<boolean> = Promise.resolve(true);
    let stops = 0;
    try {
      while ((await this.advanceSide(scout, 'resume', true, resume.stops)) !== null && earlier(scout.position)) {
        stops++;
        following = following.then((going) => {
          if (!going) return false;
          this.history.push(resume);
          return this.run(resume);
        });
      }
    } finally {
      void replay.kill();
    }
    if (!(await following)) throw new Error('the re-executed run ended early: the replay diverged');
    this.quiet = false;
    this.sendEvent(new StoppedEvent(stops > 0 ? 'breakpoint' : 'entry', THREAD));
    this.prepare();
  }

  // -- Jumping: gotoTargets/goto, restartFrame

  /** The events whose call site is on the line: where a value was asked for, or where a turn's callback was scheduled. */
  protected override async gotoTargetsRequest(
    response: DebugProtocol.GotoTargetsResponse,
    args: DebugProtocol.GotoTargetsArguments,
  ): Promise<void> {
    await this.guard(response, async () => {
      const file = args.source.path ?? '';
      const on = (events: Listed[]) =>
        events.filter((e) => e.site !== undefined && siteLine(e.site, file) === args.line);
      const targets = on(this.events).map((e) => ({
        id: e.n,
        label: `#${e.n} ${e.kind}: ${e.detail}`,
        line: args.line,
      }));
      // The other processes' events too: a target names its thread (id = thread * SIDE_TARGETS + n).
      for (const side of this.sides.values()) {
        for (const e of on(await this.sideEvents(side).catch(() => [])))
          targets.push({
            id: side.id * SIDE_TARGETS + e.n,
            label: `${side.name} #${e.n} ${e.kind}: ${e.detail}`,
            line: args.line,
          });
      }
      response.body = { targets };
    });
  }

  protected override async gotoRequest(
    response: DebugProtocol.GotoResponse,
    args: DebugProtocol.GotoArguments,
  ): Promise<void> {
    await this.guard(response, async () => {
      // A target of another process's names its thread; otherwise it is an event of the thread asked about.
      const thread = args.targetId >= SIDE_TARGETS ? Math.floor(args.targetId / SIDE_TARGETS) : args.threadId;
      const n = args.targetId % SIDE_TARGETS;
      const side = this.pausedSide(thread);
      if (side) return this.gotoSide(side, n);
      if (!this.events.some((e) => e.n === n)) throw new Error(`there is no event ${n}`);
      await this.goTo(n, [], 'goto', this.startAt(n));
    });
  }

  /**
   * Back to where the selected frame's function was entered, by re-execution. The entry is
   * the call whose callers are where they are now (same functions, same places) in the same
   * turn: counting such entries from here to the end of the run, and from the turn's start,
   * gives which one it was; a fresh replay from the turn's start resumes to it. A frame
   * entered in an earlier turn (an async function resumed after an await) was entered by
   * the one call of its function before this turn, if there was just one: a fresh replay
   * from the first event finds it. With several, which one this frame is cannot be told:
   * refused, and the program is put back where it was.
   */
  protected override async restartFrameRequest(
    response: DebugProtocol.RestartFrameResponse,
    args: DebugProtocol.RestartFrameArguments,
  ): Promise<void> {
    await this.guard(response, async () => {
      if (args.frameId >= FRAMES) {
        const side = this.pausedSide(Math.floor(args.frameId / FRAMES));
        if (side) return this.restartFrameSide(side, args.frameId % FRAMES);
      }
      const replay = this.replay!;
      const frames = this.paused?.callFrames ?? [];
      const frame = frames[args.frameId];
      const fn = frame?.functionLocation;
      if (!frame || !fn) throw new Error('the program is not paused in that frame');
      const url = replay.scripts.get(fn.scriptId) ?? '';
      // The callers that are not rewind's: a turn is entered through other frames of rewind's
      // in a replay that stopped before it than in one that ran through it.
      const shape = (callFrames: CallFrame[], r: Replay) =>
        callFrames
          .filter((f) => !r.isRewindScript(f.location.scriptId))
          .map((f) => `${r.scripts.get(f.location.scriptId)}:${f.location.lineNumber}:${f.location.columnNumber}`)
          .join('|');
      const callers = shape(frames.slice(args.frameId + 1), replay);
      const turn = this.position.turn;
      const entry = entryOf(url, fn);
      const only: Stops = { breakpoints: [entry], exceptions: 'none' };
      const resume: Step = { command: 'resume', stops: only };
      /** Is the pause an entry of the frame's function, with its callers as they are now? */
      const isEntry = (p: Paused) => {
        const f = p.callFrames[0].functionLocation;
        const at = (l: { lineNumber: number; columnNumber?: number }) => `${l.lineNumber}:${l.columnNumber ?? 0}`;
        return (
          f !== undefined &&
          this.replay!.scripts.get(f.scriptId) === url &&
          at(f) === at(fn) &&
          shape(p.callFrames.slice(1), this.replay!) === callers
        );
      };
      /** Such entries from where the replay stands to the end of the turn. */
      const count = async (): Promise<number> => {
        let n = 0;
        this.quiet = true;
        while ((await this.run(resume)) && this.position.turn === turn) if (isEntry(this.paused!)) n++;
        return n;
      };
      const was = { origin: this.origin, history: [...this.history], start: this.originStart };
      const after = await count();
      const origin = this.turnEvents.has(turn) ? turn : this.events[0].n;
      await this.goTo(origin, [], null, UNKNOWN);
      // A turn's callback is entered at the replay's first pause (a step, not a breakpoint hit).
      const first = isEntry(this.paused!) ? 1 : 0;
      const which = first + (await count()) - after;
      if (which >= 1)
        return this.goTo(
          origin,
          Array.from({ length: which - first }, () => resume),
          'restart',
          UNKNOWN,
        );
      // Entered in an earlier turn (an async function resumed after an await). This pause is
      // the k-th time the run reaches the frame's place: counted from here to the end, and
      // over the whole run. The calls of its function before that are its possible entries.
      await this.goTo(was.origin, was.history, null, was.start);
      const place = entryOf(url, frame.location);
      const stopsAt = (breakpoints: BreakpointSpec[]): Step => ({
        command: 'resume',
        stops: { breakpoints, exceptions: 'none' },
      });
      const at = (b: BreakpointSpec) =>
        (this.paused!.hitBreakpoints ?? []).some((id) => this.cdpBreakpoints.get(id) === b);
      this.quiet = true;
      let later = 0;
      while (await this.run(stopsAt([place]))) if (at(place)) later++;
      const start = this.events[0].n;
      await this.goTo(start, [], null, UNKNOWN);
      this.quiet = true;
      const both = stopsAt([entry, place]);
      const passes: Pass[] = [];
      while (await this.run(both)) {
        if (at(entry)) passes.push('entry');
        if (at(place)) passes.push('place');
      }
      // Just one call before here: this frame's. The first entry of the run, one resume away.
      if (oneCallBefore(passes, later)) return this.goTo(start, [resume], 'restart', UNKNOWN);
      await this.goTo(was.origin, was.history, 'restart', was.start);
      throw earlierCallUnknown(frame.functionName, passes, later);
    });
  }

  /**
   * restartFrame in a forked or spawned process's thread: as in thread 1, the entries of the
   * frame's function with its callers as they are now, counted from here to the end of the
   * turn and from the turn's start (a fresh replay of the process stopped there), say which
   * one the frame is; a third replay resumes to it. A frame entered in an earlier turn (an
   * async function resumed after an await) was entered by the one call of its function before
   * this point, if there was just one, as in thread 1: found by following the process's whole run.
   */
  private async restartFrameSide(side: Side, index: number): Promise<void> {
    if (side.worker !== null) return this.restartFrameWorker(side, index);
    const frame = side.paused?.callFrames[index];
    const fn = frame?.functionLocation;
    if (!frame || !fn) throw new Error('the program is not paused in that frame');
    const url = side.replay.scripts.get(fn.scriptId) ?? '';
    const shape = (callFrames: CallFrame[]) =>
      callFrames
        .filter((f) => !side.replay.isRewindScript(f.location.scriptId))
        .map(
          (f) => `${side.replay.scripts.get(f.location.scriptId)}:${f.location.lineNumber}:${f.location.columnNumber}`,
        )
        .join('|');
    const callers = shape(side.paused!.callFrames.slice(index + 1));
    const at = (l: { lineNumber: number; columnNumber?: number }) => `${l.lineNumber}:${l.columnNumber ?? 0}`;
    const isEntry = (p: Paused) => {
      const f = p.callFrames[0].functionLocation;
      return (
        f !== undefined &&
        side.replay.scripts.get(f.scriptId) === url &&
        at(f) === at(fn) &&
        shape(p.callFrames.slice(1)) === callers
      );
    };
    const entry = entryOf(url, fn);
    const resume: Step = { command: 'resume', stops: { breakpoints: [entry], exceptions: 'none' } };
    const turn = side.position.turn;
    /** Such entries from where its replay stands to the end of the turn. */
    const count = async (): Promise<number> => {
      let n = 0;
      while ((await this.advanceSide(side, 'resume', true, resume.stops)) !== null && side.position.turn === turn)
        if (isEntry(side.paused!)) n++;
      return n;
    };
    const was = { origin: side.origin, history: [...side.history] };
    const after = await count();
    const isTurn = (await this.sideEvents(side)).some((e) => e.n === turn && e.kind === 'turn');
    const origin = isTurn ? turn : 1;
    await this.resetSide(side, [], null, origin);
    const first = isEntry(side.paused!) ? 1 : 0;
    const which = first + (await count()) - after;
    if (which >= 1)
      return this.resetSide(
        side,
        Array.from({ length: which - first }, () => resume),
        'restart',
        origin,
      );
    // Entered in an earlier turn (an async function resumed after an await): as thread 1 does,
    // this pause is the k-th time the process reaches the frame's place, counted from here to
    // the end and over its whole run; the calls of its function before that are its possible entries.
    await this.resetSide(side, was.history, null, was.origin);
    const place = entryOf(url, frame.location);
    const stopsAt = (breakpoints: BreakpointSpec[]): Stops => ({ breakpoints, exceptions: 'none' });
    const hitAt = (b: BreakpointSpec) => (side.paused!.hitBreakpoints ?? []).some((id) => side.cdp.get(id) === b);
    let later = 0;
    while ((await this.advanceSide(side, 'resume', true, stopsAt([place]))) !== null) if (hitAt(place)) later++;
    await this.resetSide(side, [], null, 1);
    const passes: Pass[] = [];
    const both = stopsAt([entry, place]);
    while ((await this.advanceSide(side, 'resume', true, both)) !== null) {
      if (hitAt(entry)) passes.push('entry');
      if (hitAt(place)) passes.push('place');
    }
    // Just one call before here: this frame's. The first entry of the process's run, one resume away.
    if (oneCallBefore(passes, later)) return this.resetSide(side, [resume], 'restart', 1);
    await this.resetSide(side, was.history, 'restart', was.origin);
    throw earlierCallUnknown(frame.functionName, passes, later);
  }

  /**
   * restartFrame in a worker thread: as in a process's thread, but every run of the worker
   * is a re-execution of its process (landWorker), the process's thread running meanwhile,
   * its stops passing by: a worker paused in the user's run may need its process's messages
   * to finish its turn. The entries of the frame's function with its callers as they are now
   * are counted from here to the end of the turn (the worker landed here again), then from
   * the turn's start (the worker stopped before its turn event, as a goto does); a third run
   * lands on the one the frame is. A frame entered in an earlier turn is refused, as in a
   * process's thread.
   */
  private async restartFrameWorker(side: Side, index: number): Promise<void> {
    const frame = side.paused?.callFrames[index];
    const fn = frame?.functionLocation;
    if (!frame || !fn) throw new Error('the program is not paused in that frame');
    const url = side.replay.scripts.get(fn.scriptId) ?? '';
    // Script ids are a replay's own: frames are compared by URL and place.
    const shape = (w: Side, callFrames: CallFrame[]) =>
      callFrames
        .filter((f) => !w.replay.isRewindScript(f.location.scriptId))
        .map((f) => `${w.replay.scripts.get(f.location.scriptId)}:${f.location.lineNumber}:${f.location.columnNumber}`)
        .join('|');
    const callers = shape(side, side.paused!.callFrames.slice(index + 1));
    const at = (l: { lineNumber: number; columnNumber?: number }) => `${l.lineNumber}:${l.columnNumber ?? 0}`;
    const isEntry = (w: Side) => {
      const f = w.paused!.callFrames[0].functionLocation;
      return (
        f !== undefined &&
        w.replay.scripts.get(f.scriptId) === url &&
        at(f) === at(fn) &&
        shape(w, w.paused!.callFrames.slice(1)) === callers
      );
    };
    const entry = entryOf(url, fn);
    const only: Stops = { breakpoints: [entry], exceptions: 'none' };
    const resume: Step = { command: 'resume', stops: only };
    const turn = side.position.turn;
    /** Such entries from where worker `w` stands to the end of the turn. */
    const count = async (w: Side): Promise<number> => {
      let n = 0;
      w.landing = true;
      try {
        while ((await this.advanceSide(w, 'resume', true, only)) !== null && w.position.turn === turn)
          if (isEntry(w)) n++;
      } finally {
        w.landing = false;
      }
      return n;
    };
    const was = { start: side.start, history: [...side.history], origin: side.origin === 0 ? null : side.origin };
    // The turn the frame is in, when it is one of the worker's turn events; else (its main
    // script) the worker's start, where its first stop under `only` is the first entry.
    const isTurn = turn > 0 && (await this.sideEvents(side)).some((e) => e.n === turn && e.kind === 'turn');
    const origin = isTurn ? turn : null;
    const owner = side.owner;
    const passing = !this.passing.has(owner);
    this.passing.add(owner);
    try {
      const here = await this.landWorker(side, was.start, was.history, null, was.origin);
      const after = await count(here);
      const fromStart = await this.landWorker(here, only, [], null, origin);
      // A turn's callback is entered at the worker's stop (settled into it); the first entry of its start is its first stop.
      const first = isEntry(fromStart) ? 1 : 0;
      const which = first + (await count(fromStart)) - after;
      if (which >= 1) {
        const history = Array.from({ length: which - first }, () => resume);
        await this.landWorker(fromStart, only, history, 'restart', origin);
        return;
      }
      await this.landWorker(fromStart, was.start, was.history, 'restart', was.origin);
    } finally {
      if (passing) this.passing.delete(owner);
    }
    throw new Error(
      `${frame.functionName || 'the function'} was entered before this turn (an async function resumed after an await): in a worker thread, rewind finds a frame's entry in the same turn only. Set a breakpoint on its first line and use Reverse Continue`,
    );
  }

  protected override async customRequest(
    command: string,
    response: DebugProtocol.Response,
    args: { event?: number; threadId?: number },
  ): Promise<void> {
    await this.guard(response, async () => {
      if (command === 'rewind/events') {
        response.body = { events: this.events, current: this.position.turn };
      } else if (command === 'rewind/goto') {
        if (typeof args?.event !== 'number') throw new Error('rewind/goto needs {"event": N}');
        const side = args.threadId === undefined ? null : this.pausedSide(args.threadId);
        if (side) await this.gotoSide(side, args.event);
        else await this.goTo(args.event, [], 'goto', this.startAt(args.event));
      } else if (command === 'rewind/position') {
        response.body = {
          origin: this.origin,
          steps: this.history.length,
          ...this.position,
          reexecutions: this.reexecutions,
          knownStops: this.chain?.known.hits.length ?? null,
        };
      } else throw new Error(`unknown request ${command}`);
    });
  }

  // -- Inspecting

  protected override stackTraceRequest(
    response: DebugProtocol.StackTraceResponse,
    args: DebugProtocol.StackTraceArguments,
  ): void {
    const { replay, paused } = this.view(args.threadId);
    const base = args.threadId === THREAD ? 0 : args.threadId * FRAMES;
    const frames = (paused?.callFrames ?? [])
      .map((f, i) => ({ f, i }))
      .filter(({ f }) => !replay!.isRewindScript(f.location.scriptId))
      .map(({ f, i }) => {
        const url = replay!.scripts.get(f.location.scriptId) ?? '';
        const file = url.startsWith('file://') ? fileURLToPath(url) : url;
        return {
          id: base + i,
          name: f.functionName || '(anonymous)',
          source: {
            name: path.basename(file),
            path: file,
            presentationHint: url.startsWith('node:') ? ('deemphasize' as const) : undefined,
          },
          line: f.location.lineNumber + 1,
          column: (f.location.columnNumber ?? 0) + 1,
        };
      });
    response.body = { stackFrames: frames, totalFrames: frames.length };
    this.sendResponse(response);
  }

  /** The thread's replay and the call frame a frame id names. */
  private frame(frameId: number): { replay: Inspected | null; frame: CallFrame | undefined } {
    const thread = frameId >= FRAMES ? Math.floor(frameId / FRAMES) : THREAD;
    const { replay, paused } = this.view(thread);
    return { replay, frame: paused?.callFrames[frameId % FRAMES] };
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const { replay, frame } = this.frame(args.frameId);
    response.body = {
      scopes: (frame?.scopeChain ?? [])
        .filter((s) => s.type !== 'global')
        .map(
          (s) =>
            new Scope(
              s.type === 'local' ? 'Locals' : s.type[0].toUpperCase() + s.type.slice(1),
              this.variables.create({ replay: replay!, objectId: s.object.objectId! }),
              s.type === 'global',
            ),
        ),
    };
    this.sendResponse(response);
  }

  protected override async variablesRequest(
    response: DebugProtocol.VariablesResponse,
    args: DebugProtocol.VariablesArguments,
  ): Promise<void> {
    await this.guard(response, async () => {
      const { replay, objectId } = this.variables.get(args.variablesReference);
      const { result } = await replay.client.Runtime.getProperties({
        objectId,
        ownProperties: true,
        generatePreview: false,
      });
      response.body = {
        variables: result
          .filter((p) => p.value !== undefined || p.name !== '__proto__')
          .map((p) => ({
            name: p.name,
            value: describe(p.value),
            type: p.value?.type,
            variablesReference:
              (p.value?.objectId && p.value.type === 'object') || p.value?.type === 'function'
                ? this.variables.create({ replay, objectId: p.value!.objectId! })
                : 0,
          })),
      };
    });
  }

  protected override async evaluateRequest(
    response: DebugProtocol.EvaluateResponse,
    args: DebugProtocol.EvaluateArguments,
  ): Promise<void> {
    await this.guard(response, async () => {
      const { replay, frame } = this.frame(args.frameId ?? 0);
      if (!frame || !replay) throw new Error('the program is not paused');
      const r = await replay.evaluate(frame, args.expression);
      response.body = {
        result: describe(r),
        type: r.type,
        variablesReference:
          r.objectId && r.type === 'object' ? this.variables.create({ replay, objectId: r.objectId }) : 0,
      };
    });
  }

  protected override loadedSourcesRequest(response: DebugProtocol.LoadedSourcesResponse): void {
    const workers = [...this.sides.values()].filter((side) => side.worker !== null);
    const urls = new Set([
      ...(this.replay?.scripts.values() ?? []),
      ...workers.flatMap((w) => [...w.replay.scripts.values()]),
    ]);
    const sources = [...urls]
      .filter((u) => u.startsWith('file://') && !u.startsWith(DIST_URL))
      .map((u) => ({ name: path.basename(fileURLToPath(u)), path: fileURLToPath(u) }));
    response.body = { sources };
    this.sendResponse(response);
  }

  protected override async terminateRequest(response: DebugProtocol.TerminateResponse): Promise<void> {
    await this.endStandby();
    await this.endSides();
    await this.replay?.kill();
    this.replay = null;
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }

  protected override async disconnectRequest(response: DebugProtocol.DisconnectResponse): Promise<void> {
    await this.endStandby();
    await this.endSides();
    await this.replay?.kill();
    this.replay = null;
    this.sendResponse(response);
  }

  /** Sends `response` after `body`, or as an error with the message a user can act on. */
  private async guard(response: DebugProtocol.Response, body: () => Promise<void>): Promise<void> {
    try {
      await body();
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: 1, format: (e as Error).message, showUser: true });
    }
  }
}

/**
 * Makes `replay`'s breakpoints `stops`; `cdp` maps its CDP breakpoint ids to them. A
 * breakpoint already set at a place still wanted stays (its id now maps to the new spec):
 * removed and set again, it was missing for a moment, and a thread running meanwhile (a
 * forked child starting) passed it.
 */
function setStops(replay: Inspected, stops: Stops, cdp: Map<string, BreakpointSpec>): Promise<void> {
  // One at a time per target: a side thread starting and a setBreakpoints request may set the
  // same stops at once, and both, seeing a place unset, would set it (CDP: "already exists").
  const done = (settingStops.get(cdp) ?? Promise.resolve()).then(() => setStopsNow(replay, stops, cdp));
  settingStops.set(
    cdp,
    done.catch(() => undefined),
  );
  return done;
}

/** The setStops under way for each target's breakpoint map. */
const settingStops = new WeakMap<Map<string, BreakpointSpec>, Promise<void>>();

async function setStopsNow(replay: Inspected, stops: Stops, cdp: Map<string, BreakpointSpec>): Promise<void> {
  const { client } = replay;
  const where = (b: BreakpointSpec) => `${b.file}:${b.line}:${b.column ?? ''}`;
  const unset = [...stops.breakpoints];
  for (const [id, had] of [...cdp]) {
    const i = unset.findIndex((b) => where(b) === where(had));
    if (i >= 0) {
      cdp.set(id, unset[i]);
      unset.splice(i, 1);
      continue;
    }
    await client.Debugger.removeBreakpoint({ breakpointId: id });
    cdp.delete(id);
  }
  for (const b of unset) {
    const url = pathToFileURL(b.file).href;
    const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const r = await client.Debugger.setBreakpointByUrl({
      urlRegex: `^(${escaped(url)}|${escaped(b.file)})$`,
      lineNumber: b.line - 1,
      ...(b.column === undefined ? {} : { columnNumber: b.column - 1 }),
    });
    cdp.set(r.breakpointId, b);
  }
  await client.Debugger.setPauseOnExceptions({ state: stops.exceptions });
}

function send(replay: Inspected, command: Command): Promise<unknown> {
  return replay.command(command);
}

/** The `-p` of a listed process or worker thread. */
const listedSpec = (p: ListedProcess): string => (p.thread ? `${p.pid}/${p.thread}` : String(p.pid));

/** The line of `site` (path:line:column) when it lies in `file`, else -1. */
function siteLine(site: string, file: string): number {
  const m = /^(.*):(\d+):\d+$/.exec(site);
  return m && m[1] === file ? Number(m[2]) : -1;
}

/** DAP hit conditions: "N" or ">= N" (stop from the Nth hit on), "== N", "> N", "% N". */
function hitReached(condition: string, count: number): boolean {
  const m = /^\s*(>=|==|>|%)?\s*(\d+)\s*$/.exec(condition);
  if (!m) return true;
  const n = Number(m[2]);
  switch (m[1]) {
    case '==':
      return count === n;
    case '>':
      return count > n;
    case '%':
      return n > 0 && count % n === 0;
    default:
      return count >= n;
  }
}

function describe(
  v: { type?: string; value?: unknown; description?: string; unserializableValue?: string } | undefined,
): string {
  if (!v) return 'undefined';
  if (v.type === 'string') return JSON.stringify(v.value);
  if (v.type === 'undefined') return 'undefined';
  if ('value' in v && v.value !== undefined && v.type !== 'object') return String(v.value);
  return v.description ?? v.unserializableValue ?? String(v.value);
}

/** A pass of a run by a function's entry or by the paused frame's place, in the run's order. */
type Pass = 'entry' | 'place';

/**
 * For a frame resumed in a later turn than its function's entry (an async function after an
 * `await`): the pause is the k-th pass by the frame's place, k being the run's passes minus
 * `later` (those from the pause to the end); its function's entries before that pass are the
 * calls the frame can be.
 */
function entriesBefore(passes: Pass[], later: number): { k: number; before: number } {
  const k = passes.filter((p) => p === 'place').length - later;
  let before = 0;
  for (let i = 0, places = 0; i < passes.length && places < k; i++)
    if (passes[i] === 'place') places++;
    else before++;
  return { k, before };
}

/** The frame is the one call of its function before the pause: its entry is the run's first. */
function oneCallBefore(passes: Pass[], later: number): boolean {
  const { k, before } = entriesBefore(passes, later);
  return k >= 1 && before === 1;
}

/** Why restartFrame cannot find such a frame's entry. */
function earlierCallUnknown(functionName: string, passes: Pass[], later: number): Error {
  const { k, before } = entriesBefore(passes, later);
  const name = functionName || 'the function';
  return new Error(
    k < 1 || before === 0
      ? `${name} was entered before this turn, and its entry was not found again: the replay diverged`
      : `${name} was entered in an earlier turn, and it was entered ${before} times before this point: which of those calls this frame is cannot be told. Set a breakpoint on its first line and use Reverse Continue`,
  );
}

/** A breakpoint at CDP location `at` (0-based) in the script at `url`: a function's entry, a frame's place. */
function entryOf(url: string, at: { lineNumber: number; columnNumber?: number }): BreakpointSpec {
  return {
    file: url.startsWith('file://') ? fileURLToPath(url) : url,
    line: at.lineNumber + 1,
    column: (at.columnNumber ?? 0) + 1,
  };
}
