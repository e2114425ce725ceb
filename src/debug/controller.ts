// The replay side of debugging: a ReplayHook that watches every event go by, stops where
// the front end (src/cli/debug.ts and replay-until.ts) asked, and hands the program to a debugger through
// the trampoline. Attached only when the CLI set ENV.CONTROL: a plain replay runs without it.
import { EXIT } from '../exit-codes.js';
import { ENV } from '../session/env.js';
import { original } from '../node/originals.js';
import type { ReplayHook, ReplaySession } from '../session/replay.js';
import { waitForPausedThreads } from '../session/replay-dispatcher.js';
import { TAGS } from '../trace/format.js';
import { TraceReader } from '../trace/reader.js';
import {
  DEFAULT_INSPECT,
  HandoffError,
  announceSettle,
  divertMathRandom,
  holdsWorkers,
  openInspector,
  waitForClient,
  watchPauses,
  type Address,
} from './handoff.js';
import { onWorkerWithoutClient } from '../sources/workers.js';
import { TurnCoverage } from './coverage.js';
import { countWritten, markLines } from './output.js';
import { insideTurn, turnNow, turnStarts } from './position.js';
import { ControlChannel, type Goal, type Report } from './protocol.js';
import { callSite, siteAt } from './sites.js';
import { trampoline } from './trampoline.js';

/** Progress reports on the way to the stop: about this many. */
const PROGRESS_STEPS = 200;

class Controller implements ReplayHook {
  /** rewind's own work at a stop (opening the inspector) runs off the log too. */
  private busy = false;
  private paused = false;
  private watching = false;
  /** The client attached before the stop (handOverEarly): it steps from the trampoline into the program itself. */
  private early = false;
  private goal: Goal;
  private readonly tags: Uint8Array;
  private readonly opSites = new Map<number, string | null>();
  private readonly everySite: boolean;
  /**
   * A stack capture per operation is most of what this hook costs, so creation sites are
   * kept for every operation only when a goal may name a site (`rewind debug`) or sites are
   * listed; otherwise for the one operation whose turn `--until` stops before.
   */
  private readonly siteOfEveryOp: boolean;
  private readonly targetOp: number | undefined;
  private readonly progressEvery: number;
  /** Bytes written to stdout and stderr, when the front end relays them around its progress bar. */
  written: [number, number] | null = null;
  /** What the turns analyze asked about ran (ENV.STATE). */
  coverage: TurnCoverage | null = null;

  constructor(
    private readonly channel: ControlChannel,
    private readonly options: {
      until: number | null;
      inspect: Address | null;
      step: boolean;
      sites: boolean;
      progress: boolean;
    },
    file: ReplaySession['file'],
  ) {
    this.goal = options.until === null ? { run: true } : { until: options.until };
    this.tags = new Uint8Array(file.eventCount + 1);
    let targetOp: number | undefined;
    for (const ev of TraceReader.events(file)) {
      this.tags[ev.n] = ev.tag;
      if (ev.n === options.until) targetOp = ev.op;
    }
    this.everySite = options.sites || options.step;
    this.siteOfEveryOp = this.everySite;
    this.targetOp = targetOp;
    this.progressEvery =
      options.progress && options.until ? Math.max(1, Math.floor(options.until / PROGRESS_STEPS)) : 0;
  }

  /** Sends a report at once (the process may end before the next flush). */
  report(r: Report): void {
    this.channel.send(r);
  }

  get diverted(): boolean {
    return this.busy || this.paused;
  }

  created(op: number): void {
    this.coverage?.created(op);
    if (this.siteOfEveryOp || op === this.targetOp) this.opSites.set(op, callSite());
  }

  value(n: number): void {
    // The last event: nothing runs after it. (Within a turn, the next turn's start is soon enough.)
    if (n === this.tags.length - 1) this.coverage?.end();
    this.arrive(n, callSite, null);
  }

  turn(n: number, op: number, enter: () => void): void {
    turnStarts(n);
    const cov = this.coverage;
    const last = n === this.tags.length - 1;
    cov?.turnStarts(n, op);
    const run = cov
      ? () => {
          try {
            enter();
          } finally {
            if (last) cov.end();
            else cov.checkpoint();
          }
        }
      : enter;
    this.arrive(n, () => this.opSites.get(op) ?? null, run);
  }

  /** `siteOf` runs at most once per event, and only when a site is needed: capturing a stack costs. */
  /** `enter` runs a turn's callback; null for a value event. */
  private arrive(n: number, siteOf: () => string | null, enter: (() => void) | null): void {
    const site = this.everySite || 'file' in this.goal ? siteOf() : null;
    if (this.everySite && site !== null) this.channel.post({ t: 'site', n, site });
    if (this.progressEvery && n % this.progressEvery === 0) this.channel.send({ t: 'progress', n });
    // The log's last event: the process is about to end, with no later chance to flush.
    if (n === this.tags.length - 1) this.channel.flush();
    if (!this.reached(n, site)) {
      if (enter === null) return;
      // Under a debugger, the turn's number is on the stack of every pause in it.
      return this.watching ? insideTurn.call(n, n, enter) : enter();
    }
    this.stop(n, site ?? siteOf(), enter);
  }

  private reached(n: number, site: string | null): boolean {
    const g = this.goal;
    if ('run' in g) return false;
    if ('until' in g) return n === g.until;
    if (n <= g.after) return false;
    if ('kind' in g) return TAGS[this.tags[n]]?.kind === g.kind;
    return site !== null && siteAt(site, g.file, g.line);
  }

  private stop(n: number, site: string | null, enter: (() => void) | null): void {
    this.channel.send({ t: 'stopped', n, site, written: this.written });
    if (!this.options.step) {
      if (!this.options.inspect) return original.reallyExit(0);
      this.goal = { run: true };
      return this.enterUnderDebugger(n, enter, site, this.options.inspect);
    }
    const cmd = this.channel.receive();
    if ('quit' in cmd) return original.reallyExit(0);
    if ('goal' in cmd) {
      this.goal = cmd.goal;
      return enter?.();
    }
    // inspect: run this event under the debugger, then stop at the next turn.
    this.goal = { kind: 'turn', after: n };
    this.enterUnderDebugger(n, enter, site, this.options.inspect ?? DEFAULT_INSPECT);
  }

  private enterUnderDebugger(n: number, enter: (() => void) | null, site: string | null, at: Address): void {
    let entered = false;
    const run = () => {
      enter?.();
      entered = true;
    };
    const { kind, call } = TAGS[this.tags[n]];
    if (this.watching) {
      // A client that attached at an earlier stop, or before this one (handOverEarly), is
      // still there: do not wait for another. It pauses in the trampoline; an early one is
      // told how to get into the program from there (settle() cannot step with a client attached).
      if (this.early) announceSettle(enter !== null ? 'into' : site !== null ? 'out' : 'stay');
      this.early = false;
      this.handOver(at, false);
      return trampoline().call(n, n, `${kind}: ${call}`, run, turnNow);
    }
    this.busy = true;
    const watch = watchPauses((paused) => (this.paused = paused));
    divertMathRandom(() => this.diverted);
    this.watching = true;
    this.busy = false;
    // The first client's first pause is in the program: its callback's first line, or the
    // frame that asked for the value. rewind steps there before opening the inspector, so
    // that no client can attach mid-way. A value no program frame asked for stays in the trampoline.
    if (enter !== null || site !== null)
      watch.settle(
        enter ? 'into' : 'out',
        () => entered,
        () => this.handOver(at, true),
      );
    else this.handOver(at, true);
    trampoline().call(n, n, `${kind}: ${call}`, run, turnNow);
  }

  /**
   * Under rewind dap, as a worker thread is about to start before the stop while no client
   * has the replay: the client attaches now, so that Node holds that worker (and every later
   * one) until the client's breakpoints are in it. Holding the worker until the stop instead
   * could deadlock: the main thread may need its messages, output or shared memory to get
   * there. The replay goes on once the client says so; its stop pauses in the trampoline.
   */
  handOverEarly(at: Address): void {
    if (this.watching) return;
    this.busy = true;
    watchPauses((paused) => (this.paused = paused));
    divertMathRandom(() => this.diverted);
    this.watching = true;
    this.early = true;
    this.busy = false;
    this.handOver(at, true, true);
  }

  /** Opens the inspector (or finds it open), says where, and waits for a client if `wait`. */
  private handOver(at: Address, wait: boolean, early = false): void {
    const busy = this.busy;
    this.busy = true;
    try {
      this.channel.send({ t: 'inspector', url: openInspector(at) });
      if (wait) waitForClient(early);
    } catch (e) {
      if (!(e instanceof HandoffError)) throw e;
      this.channel.send({ t: 'error', message: `cannot open the debugger on ${e.message}` });
      original.reallyExit(EXIT.USAGE);
    } finally {
      this.busy = busy;
    }
  }
}

function address(spec: string | undefined): Address | null {
  if (!spec) return null;
  const i = spec.lastIndexOf(':');
  return { host: spec.slice(0, i), port: Number(spec.slice(i + 1)) };
}

/** Hooks the debug controller into a replay session (see session/start.ts). */
export function attach(session: ReplaySession): void {
  const env = process.env;
  const until = env[ENV.UNTIL] ? Number(env[ENV.UNTIL]) : null;
  if (env[ENV.INSPECT]) waitForPausedThreads();
  const controller = new Controller(
    new ControlChannel(Number(env[ENV.CONTROL])),
    {
      until,
      inspect: address(env[ENV.INSPECT]),
      step: env[ENV.STEP] === '1',
      sites: env[ENV.SITES] === '1',
      progress: env[ENV.PROGRESS] === '1',
    },
    session.file,
  );
  session.hook = controller;
  const inspect = address(env[ENV.INSPECT]);
  if (inspect && until !== null && holdsWorkers()) onWorkerWithoutClient(() => controller.handOverEarly(inspect));
  const measured = env[ENV.STATE];
  if (measured) {
    const [a, b] = measured.split(',').map(Number);
    controller.coverage = new TurnCoverage(a, b, (r) => controller.report(r));
  }
  // Installed first, so it counts what the marks make of the output.
  if (env[ENV.PROGRESS] === '1') controller.written = countWritten();
  if (env[ENV.MARK] === '1') markLines(session, () => controller.diverted);
}
