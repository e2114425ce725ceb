// The debug front end's view of a replay: the replayed process started with a control
// channel (src/debug/protocol.ts), what it reports, and the recording's events to describe
// its stops with.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import type { Command, Report } from '../debug/protocol.js';
import { ENV } from '../session/env.js';
import { describeEvent, formatTime } from '../trace/describe.js';
import type { EndInfo, EventKind, FailureInfo } from '../trace/format.js';
import { TraceReader, type TraceFile } from '../trace/reader.js';
import type { ExitStatus } from './record.js';
import type { Recording } from './recordings.js';
import { replayCommand, type ReplayCliOptions } from './replay.js';

/** The control channel's fd in the replayed process. */
const CONTROL_FD = 3;

export interface EventSummary {
  n: number;
  kind: EventKind;
  timeUs: number;
  detail: string;
  failure?: FailureInfo;
  end?: EndInfo;
}

export function summarize(t: TraceFile): EventSummary[] {
  const out: EventSummary[] = [];
  for (const ev of TraceReader.events(t)) {
    out.push({
      n: ev.n,
      kind: ev.kind,
      timeUs: ev.timeUs,
      detail: describeEvent(ev, t.header),
      failure: ev.failure,
      end: ev.end,
    });
  }
  return out;
}

/** A call site as the user reads it: relative to the current directory when inside it. */
export function showSite(site: string): string {
  const rel = path.relative(process.cwd(), site);
  return rel.startsWith('..') || path.isAbsolute(rel) ? site : rel;
}

/** "stopped before event 12 of 40 (+10.000ms): turn setTimeout callback (op #3), scheduled at app.js:7:3" */
export function describeStop(ev: EventSummary, total: number, site: string | null): string {
  const turn = ev.kind === 'turn';
  const where = site ? `, ${turn ? 'scheduled' : 'called'} at ${showSite(site)}` : '';
  return `stopped ${turn ? 'before' : 'inside'} event ${ev.n} of ${total} (${formatTime(ev.timeUs)}): ${ev.kind} ${ev.detail}${where}`;
}

/** What the front end waits for: a report other than a site or progress, or the end of the replay. */
export type Next = Exclude<Report, { t: 'site' | 'progress' | 'touched' }> | { t: 'ended'; status: ExitStatus };

export interface ReplayedOptions extends ReplayCliOptions {
  /** Steering variables (ENV.UNTIL, ENV.STEP, ...). */
  env: Record<string, string>;
  stdio: StdioOptions;
  /** Receives every call site the replay reports. */
  sites?: Map<number, string>;
  onProgress?: (n: number) => void;
  /** Receives the code each turn named in ENV.STATE ran. */
  onTouched?: (r: Extract<Report, { t: 'touched' }>) => void;
}

/** A replay running under the front end's control. */
export class ReplayedProcess {
  readonly child: ChildProcess;
  private readonly control: Duplex;
  private readonly queue: Next[] = [];
  private waiting: ((next: Next) => void) | null = null;
  private exit: ExitStatus | null = null;

  constructor(rec: Recording, opts: ReplayedOptions) {
    const { args, cwd, env, stdin } = replayCommand(rec, opts);
    // fd 0 of the recorded kind (the program never reads it); the caller's stdout and stderr;
    // a forked child's IPC channel, as `rewind replay` gives it (nothing is sent on it).
    const ipc = rec.trace.header.ipc?.serialization;
    const stdio = [stdin, ...(opts.stdio as unknown[]).slice(1, 3), 'pipe', ...(ipc ? ['ipc'] : [])] as StdioOptions;
    const childEnv = { ...env, ...opts.env, [ENV.CONTROL]: String(CONTROL_FD) };
    this.child = spawn(process.execPath, args, { cwd, env: childEnv, stdio, serialization: ipc });
    this.control = this.child.stdio[CONTROL_FD] as Duplex;
    createInterface({ input: this.control }).on('line', (line) => {
      const r = JSON.parse(line) as Report;
      if (r.t === 'site') opts.sites?.set(r.n, r.site);
      else if (r.t === 'progress') opts.onProgress?.(r.n);
      else if (r.t === 'touched') opts.onTouched?.(r);
      else this.push(r);
    });
    // Ended once the process exited and all it wrote, reports and output, has been read.
    this.child.on('close', (code, signal) => {
      this.exit = { code, signal };
      this.push({ t: 'ended', status: this.exit });
    });
  }

  private push(next: Next): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(next);
    } else this.queue.push(next);
  }

  /** The next thing the replay has to say: a stop, the debugger's URL, an error, or its end. */
  next(): Promise<Next> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => (this.waiting = resolve));
  }

  send(cmd: Command): void {
    this.control.write(`${JSON.stringify(cmd)}\n`);
  }

  /** Ends the replay (the user quit or restarts it) and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.exit) return;
    const gone = new Promise((r) => this.child.once('close', r));
    this.child.kill('SIGKILL');
    await gone;
  }
}
