// `rewind replay --until N | --break-before-failure [--inspect[=host:port]] [--mark]` and
// the call sites of `rewind events`: the front end starts the replay with a control
// channel, says where it stopped, and hands it over to a debugger.
import cliProgress from 'cli-progress';
import { DEFAULT_INSPECT, devtoolsUrl, type Address } from '../debug/handoff.js';
import { EXIT } from '../exit-codes.js';
import { blockingStdio } from '../node/fields.js';
import { ENV } from '../session/env.js';
import { describeEnd } from '../trace/describe.js';
import { exitLike, type ExitStatus } from './record.js';
import { CliError, resolveRecording, type Recording } from './recordings.js';
import { ReplayedProcess, describeStop, summarize, type EventSummary, type Next } from './replayed.js';

export interface DebugReplayOptions {
  until?: number;
  breakBeforeFailure?: boolean;
  /** With breakBeforeFailure: the failure of this test (a recording may hold several). */
  test?: string;
  inspect?: string | true;
  mark?: boolean;
  force?: boolean;
  trust?: boolean;
  summary?: boolean;
  process?: string;
  allowNative?: string[];
}

/** `--inspect`, `--inspect=9230`, `--inspect=0.0.0.0:9230`, `--inspect=[::1]:0` */
export function parseAddress(spec: string | true): Address {
  if (spec === true) return DEFAULT_INSPECT;
  const withPort = /^(?:(.+):)?(\d+)$/.exec(spec);
  const host = withPort ? (withPort[1] ?? DEFAULT_INSPECT.host) : spec;
  const port = withPort ? Number(withPort[2]) : DEFAULT_INSPECT.port;
  if (!/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+)$/.test(host) || port > 65535) {
    throw new CliError(
      `rewind: --inspect=${spec} is not an address: use --inspect, --inspect=PORT or --inspect=HOST:PORT (port 0 picks a free one).`,
      EXIT.USAGE,
    );
  }
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

/** What the instructions say to attach a debugger to `url`. */
export function attachInstructions(url: string): string {
  const hostPort = url.replace(/^ws:\/\/([^/]+)\/.*$/, '$1');
  return (
    `rewind: debugger listening on ${url}\n` +
    `  Chrome DevTools: open ${devtoolsUrl(url)}\n` +
    `    (or chrome://inspect, with ${hostPort} added under "Configure...")\n` +
    `  VS Code: run an "attach" configuration on ${hostPort} (examples/vscode-launch.json)\n` +
    `  The replay waits for the debugger, then pauses in the program: on the first line of the turn's callback,\n` +
    `    or in the frame that asked for the value.\n`
  );
}

interface Failing {
  /** The turn to stop before, or null when the failure came before any turn. */
  turn: EventSummary | null;
  failure: EventSummary;
  what: string;
}

/**
 * The failed test `spec` names among `names`: the one so named, or the only one whose name
 * contains it; null when none does.
 */
export function matchTest(names: readonly string[], spec: string): string | null {
  if (names.includes(spec)) return spec;
  const partial = [...new Set(names.filter((n) => n.includes(spec)))];
  if (partial.length > 1) {
    throw new CliError(
      `rewind: --test ${JSON.stringify(spec)} matches several failed tests: ${partial.map((n) => JSON.stringify(n)).join(', ')}. Give more of the name.`,
      EXIT.USAGE,
    );
  }
  return partial[0] ?? null;
}

/**
 * The turn in which the recorded run failed: an uncaught exception, an unhandled rejection,
 * a failed test (with `test`, that test's first failure), process.exit(non-zero).
 */
export function failingTurn(events: EventSummary[], test?: string): Failing {
  const failure = test === undefined ? firstFailure(events) : testFailure(events, test);
  let turn: EventSummary | null = null;
  for (const e of events) {
    if (e.n >= failure.n) break;
    if (e.kind === 'turn') turn = e;
  }
  const what = failure.kind === 'failure' ? failure.detail : `process.exit(${failure.end!.code})`;
  return { turn, failure, what };
}

function firstFailure(events: EventSummary[]): EventSummary {
  const failure =
    events.find((e) => e.kind === 'failure') ??
    events.find((e) => e.kind === 'end' && e.end!.via === 'exit' && e.end!.code !== 0 && e.end!.code !== null);
  if (failure) return failure;
  const end = events.find((e) => e.kind === 'end')?.end;
  const how = end ? describeEnd(end) : 'the log stops without an end record (the process was killed)';
  throw new CliError(
    `rewind: the recorded run did not fail (${how}): it has no uncaught exception, unhandled rejection, failed test or process.exit() ` +
      `with a non-zero status to break before. Use --until N to stop before any event (\`rewind events\` lists them).`,
    EXIT.USAGE,
  );
}

function testFailure(events: EventSummary[], test: string): EventSummary {
  const failed = events.filter((e) => e.failure?.origin === 'test');
  const name = matchTest(
    failed.map((e) => e.failure!.test ?? ''),
    test,
  );
  if (name !== null) return failed.find((e) => e.failure!.test === name)!;
  const known = failed.length
    ? `its failed tests: ${[...new Set(failed.map((e) => JSON.stringify(e.failure!.test)))].join(', ')}`
    : 'no test failed in it';
  throw new CliError(`rewind: no failed test ${JSON.stringify(test)} in this recording (${known}).`, EXIT.USAGE);
}

function checkUntil(until: number, events: EventSummary[]): void {
  const last = events[events.length - 1];
  if (until > events.length) {
    throw new CliError(
      last
        ? `rewind: --until ${until} is beyond the end of the recording: its last event is ${last.n} (${last.kind} ${last.detail}).`
        : `rewind: --until ${until}: the recording holds no events.`,
      EXIT.USAGE,
    );
  }
}

/**
 * A progress bar on stderr while the replay runs to its stop. The program's output is
 * relayed above the bar; at the stop, the bar goes once every byte the program wrote
 * before it has been relayed (the replay says how many it wrote).
 */
class Progress {
  private readonly bars = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
      format: 'rewind: replaying to event {total} [{bar}] {value}',
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly bar: cliProgress.SingleBar;
  private readonly relayed: [number, number] = [0, 0];
  private caughtUp: (() => void) | null = null;

  constructor(target: number, replayed: ReplayedProcess) {
    this.bar = this.bars.create(target, 0);
    // What is relayed must be out before this process exits (it exits right after the replay).
    blockingStdio();
    const relay = (i: 0 | 1, stream: NodeJS.WriteStream) => (d: Buffer) => {
      this.relayed[i] += d.length;
      // Around the bar only what shares its terminal; redirected output stays apart.
      if (this.active && stream.isTTY) this.bars.log(d.toString('utf8'));
      else stream.write(d);
      this.caughtUp?.();
    };
    replayed.child.stdout!.on('data', relay(0, process.stdout));
    replayed.child.stderr!.on('data', relay(1, process.stderr));
  }

  private active = true;

  update(n: number): void {
    this.bar.update(n);
  }

  /** Removes the bar once the output written before the stop (`written` bytes) is through. */
  async stop(written: [number, number] | null): Promise<void> {
    if (!this.active) return;
    if (written) {
      await new Promise<void>((resolve) => {
        this.caughtUp = () => {
          if (this.relayed[0] >= written[0] && this.relayed[1] >= written[1]) resolve();
        };
        this.caughtUp();
      });
      this.caughtUp = null;
    }
    this.bars.update(); // flushes the output logged since the last redraw
    this.bars.stop();
    this.active = false;
  }
}

export async function replayTo(arg: string | undefined, opts: DebugReplayOptions): Promise<never> {
  if (opts.test !== undefined && !opts.breakBeforeFailure) {
    throw new CliError(
      'rewind: --test names the failure --break-before-failure stops before: add --break-before-failure.',
      EXIT.USAGE,
    );
  }
  const rec = resolveRecording(arg, process.cwd(), opts.process ?? processOfTest(arg, opts.test));
  const events = summarize(rec.trace);
  let until = opts.until;
  let failing: Failing | null = null;
  if (opts.breakBeforeFailure) {
    if (until !== undefined)
      throw new CliError('rewind: give either --until N or --break-before-failure, not both.', EXIT.USAGE);
    failing = failingTurn(events, opts.test);
    until = failing.turn?.n ?? 1;
  }
  if (until !== undefined) checkUntil(until, events);
  if (opts.inspect && until === undefined) {
    throw new CliError('rewind: --inspect needs a place to stop: add --until N or --break-before-failure.', EXIT.USAGE);
  }
  const inspect = opts.inspect ? parseAddress(opts.inspect) : null;
  const env: Record<string, string> = {};
  if (until !== undefined) env[ENV.UNTIL] = String(until);
  if (inspect) env[ENV.INSPECT] = `${inspect.host}:${inspect.port}`;
  if (opts.mark) env[ENV.MARK] = '1';
  // Set by rewind dap, which releases each worker thread once its breakpoints are in.
  if (inspect && process.env[ENV.HOLD_WORKERS] === '1') env[ENV.HOLD_WORKERS] = '1';
  // Set by rewind dap's goto in a worker thread: that worker stops before its own event.
  const workerUntil = process.env[ENV.WORKER_UNTIL];
  if (inspect && workerUntil) env[ENV.WORKER_UNTIL] = workerUntil;
  const showProgress = Boolean(process.stderr.isTTY) && until !== undefined;
  if (showProgress) env[ENV.PROGRESS] = '1';

  let progress: Progress | null = null;
  const replayed = new ReplayedProcess(rec, {
    ...opts,
    env,
    stdio: ['inherit', showProgress ? 'pipe' : 'inherit', showProgress ? 'pipe' : 'inherit'],
    onProgress: (n) => progress?.update(n),
  });
  if (showProgress) progress = new Progress(until!, replayed);
  const forward = (sig: NodeJS.Signals) => replayed.child.kill(sig);
  process.on('SIGTERM', forward).on('SIGHUP', forward);

  let error: string | null = null;
  for (;;) {
    const next: Next = await replayed.next();
    await progress?.stop(next.t === 'stopped' ? next.written : null);
    if (next.t === 'stopped') {
      process.stderr.write(`rewind: ${describeStop(events[next.n - 1], events.length, next.site)}\n`);
      if (failing) process.stderr.write(failureNote(failing));
    } else if (next.t === 'inspector') {
      process.stderr.write(attachInstructions(next.url));
    } else if (next.t === 'error') {
      error = next.message;
    } else {
      if (error) {
        throw new CliError(
          `rewind: ${error}. Choose another with --inspect=HOST:PORT, or --inspect=${inspect!.host}:0 to pick a free port.`,
          EXIT.USAGE,
        );
      }
      return exitLike(next.status);
    }
  }
}

/** `--test` without `-p`: the pid of the process in which that test failed, if one did. */
function processOfTest(arg: string | undefined, test: string | undefined): string | undefined {
  if (test === undefined) return undefined;
  const list = resolveRecording(arg, process.cwd()).processes ?? [];
  const names = list.flatMap((p) => p.failures.filter((f) => f.origin === 'test').map((f) => f.test ?? ''));
  const name = matchTest(names, test);
  const p = name === null ? undefined : list.find((q) => q.failures.some((f) => f.test === name));
  return p && String(p.threadId ? `${p.pid}/${p.threadId}` : p.pid);
}

function failureNote(f: Failing): string {
  if (!f.turn)
    return `rewind: the recorded run failed (${f.what}, event ${f.failure.n}) before its first turn, while the main module ran.\n`;
  return `rewind: the recorded run failed in this turn: ${f.what} (event ${f.failure.n}).\n`;
}

/** Call sites of a recording's events, by replaying it; a note says why some are missing. */
export async function eventSites(
  rec: Recording,
  allowNative?: string[],
  trust = false,
): Promise<{ sites: Map<number, string>; note: string | null }> {
  const sites = new Map<number, string>();
  let replayed: ReplayedProcess;
  try {
    replayed = new ReplayedProcess(rec, {
      trust,
      env: { [ENV.SITES]: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
      sites,
      allowNative,
    });
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    return { sites, note: `rewind: events are listed without call sites: ${e.message.replace(/^rewind: /, '')}` };
  }
  let stderr = '';
  replayed.child.stderr!.on('data', (d: Buffer) => (stderr += d));
  let next: Next;
  while ((next = await replayed.next()).t !== 'ended');
  return {
    sites,
    note: faithful(rec, next.status)
      ? null
      : `rewind: call sites are missing after the replay stopped early:\n${stderr.trim()}`,
  };
}

/** The replay ended as the recorded run did. */
function faithful(rec: Recording, status: ExitStatus): boolean {
  const recorded = rec.index?.status;
  if (recorded) return recorded.code === status.code && recorded.signal === status.signal;
  return status.code !== EXIT.DIVERGENCE && status.code !== EXIT.BAD_TRACE;
}
