// Process inputs and the end of the run. Replay restores argv, execArgv, env, cwd, pid and
// ppid as recorded. Both modes watch how the process ends — the 'exit' event and its code,
// uncaught exceptions and unhandled rejections, signals — recording it, or checking it.
import type * as ChildProcess from 'node:child_process';
import type * as DiagnosticsChannel from 'node:diagnostics_channel';
import os from 'node:os';
import { bindings } from '../node/bindings.js';
import { builtinModule, nodeProcess, thread } from '../node/fields.js';
import type { RecordSession } from '../session/record.js';
import { failureInfo } from '../session/failure.js';
import type { ReplaySession } from '../session/replay.js';
import { processEnding } from '../session/process-end.js';
import { original, writeStderr } from '../node/originals.js';
import { EXIT } from '../exit-codes.js';
import { Api, type EndInfo } from '../trace/format.js';
import type { Session, Source } from '../session/session.js';

/** Signal names, when first needed (node:os is not loaded at start-up for them). */
let signalNames: Set<string> | undefined;
const isSignalName = (name: string): boolean => (signalNames ??= new Set(Object.keys(os.constants.signals))).has(name);

/** Signals whose default action ends the process and that a handler can observe. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const exitCodeOf = (arg: unknown): number => {
  const c = process.exitCode ?? arg;
  const n = Number(c ?? 0);
  return Number.isInteger(n) ? n : 0;
};

function restoreInputs(s: ReplaySession): void {
  const h = s.header;
  process.argv.splice(0, process.argv.length, ...h.argv);
  process.execArgv.splice(0, process.execArgv.length, ...h.execArgv);
  for (const k of Object.keys(process.env)) if (!(k in h.env)) delete process.env[k];
  // The recorded environment, rewind's own variables included (REWIND_MODE=record): the
  // program may read them (rewind/jest does). The replayed program starts no real process,
  // and its worker threads learn that they replay from workerData (sources/workers.ts).
  Object.assign(process.env, h.env);
  if (h.argv[0]) process.execPath = h.argv[0];
  if (h.titleCapacity !== undefined) replayTitle(h.title, h.titleCapacity);
  for (const [key, value] of [
    ['pid', h.pid],
    ['ppid', h.ppid],
  ] as const) {
    // ppid is a native accessor that a plain defineProperty does not replace.
    delete (process as unknown as Record<string, unknown>)[key];
    Object.defineProperty(process, key, { value, enumerable: true, configurable: true, writable: true });
  }
}

/**
 * process.title reads back what the OS kept of the title set: the recorded process's
 * title, cut as its OS cut it. The replay's own title stays as it is.
 */
function replayTitle(initial: string, capacity: number): void {
  let title = initial;
  Object.defineProperty(process, 'title', {
    get: () => title,
    set(value: unknown) {
      title = Buffer.from(String(value)).subarray(0, capacity).toString();
    },
    enumerable: true,
    configurable: true,
  });
}

const CREDENTIALS = ['setuid', 'seteuid', 'setgid', 'setegid', 'setgroups', 'initgroups'] as const;

/**
 * The process's own state that the OS holds: its working directory and its credentials.
 * Changing them is recorded with what came of it (the new cwd, or the error: a directory
 * gone, EPERM), and not performed at replay, whose process.cwd() reads the recorded one.
 */
function recordProcessState(s: Session): void {
  const chdir = process.chdir;
  if (s.mode === 'replay') {
    let cwd = s.header.cwd;
    const real = process.cwd;
    process.cwd = function cwd_() {
      // A worker thread's process.cwd() checks its cache with an Atomics.load on memory it
      // shares with the main thread (recorded, see shared-memory.ts): made in both runs.
      if (!thread.isMain) real.call(process);
      return cwd;
    };
    process.chdir = function chdir_(dir: string) {
      cwd = s.call(Api['process.chdir'], String(dir), () => cwd);
    };
  } else {
    process.chdir = function chdir_(dir: string) {
      s.call(Api['process.chdir'], String(dir), () => {
        chdir(dir);
        return process.cwd();
      });
    };
  }
  Object.defineProperty(process.chdir, 'name', { value: 'chdir' });
  Object.defineProperty(process.cwd, 'name', { value: 'cwd' });
  for (const name of CREDENTIALS) {
    const real = (process as unknown as Record<string, unknown>)[name] as ((...a: unknown[]) => void) | undefined;
    if (typeof real !== 'function') continue; // not on Windows
    const wrapper = function (this: unknown, ...args: unknown[]) {
      s.call(Api['process.credentials'], [name, ...args.map((a) => (typeof a === 'object' ? a : String(a)))], () => {
        if (s.mode === 'record') real.apply(this, args);
      });
    };
    Object.defineProperty(wrapper, 'name', { value: name });
    (process as unknown as Record<string, unknown>)[name] = wrapper;
  }
}

/**
 * process.loadEnvFile (Node 20.12+) reads its file natively, not through the fs binding:
 * recorded as the variables it set, which replay sets (or the error it threw).
 */
function recordEnvFiles(s: Session): void {
  const real = process.loadEnvFile;
  if (typeof real !== 'function') return;
  process.loadEnvFile = function loadEnvFile(this: unknown, ...args: unknown[]) {
    const file = args[0] === undefined ? null : String(args[0]);
    const set = s.call(Api['process.loadEnvFile'], file, () => {
      const before = { ...process.env };
      real.apply(this, args as [string?]);
      return Object.fromEntries(Object.entries(process.env).filter(([k, v]) => before[k] !== v));
    });
    if (s.mode === 'replay') Object.assign(process.env, set);
  } as typeof process.loadEnvFile;
}

/** A failed process.execve throws from Node 26 on (nodejs/node#62878); before, Node aborts. */
const EXECVE_THROWS = Number(process.versions.node.split('.')[0]) >= 26;

/**
 * process.execve (Node 22.15+) replaces the process with another program, which rewind cannot
 * follow into. Rewind runs that program as a child instead, once Node has checked the
 * arguments and told the 'process.execve' diagnostics channel (rewind's subscriber is put
 * last as the call starts, and runs in place of the system call): spawnSync with this
 * process's stdio, whose output is recorded and replayed as any inheriting child's
 * (child-process.ts), then this process ends as that program ended, without the program's
 * exit handlers (which execve does not run either). At replay no program is started: its
 * output and its ending come from the log. Unlike a real execve, the program gets a process
 * id of its own, and a signal sent to this one does not reach it.
 */
function execveAsChild(s: Session): void {
  const P = process as unknown as { execve?: (...args: unknown[]) => never };
  const real = P.execve;
  if (typeof real !== 'function') return;
  let channel: DiagnosticsChannel.Channel | undefined;
  const replace = (message: unknown) => {
    channel!.unsubscribe(replace);
    try {
      runInstead(message);
    } catch (e) {
      // The channel would report this later and go on to the system call: never at replay.
      s.unsupported(
        'process.execve()',
        `rewind could not run ${String((message as { execPath: unknown }).execPath)} in its place (${String(e)})`,
      );
      if (s.mode === 'replay') original.reallyExit(EXIT.DIVERGENCE);
    }
  };
  // Node hands execve's environment over as "NAME=value" (its own validation made each so).
  const nameAndValue = (kv: string): [string, string] => {
    const eq = kv.indexOf('=');
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  };
  const runInstead = (message: unknown): void => {
    const { execPath, args, env } = message as { execPath: string; args: string[]; env: string[] };
    const { spawnSync } = builtinModule<typeof ChildProcess>('node:child_process');
    const r = spawnSync(execPath, args.slice(1), {
      argv0: args[0] ?? execPath,
      env: Object.fromEntries(env.map(nameAndValue)),
      stdio: 'inherit',
    });
    const failed = (r.error as NodeJS.ErrnoException | undefined)?.code;
    if (failed && EXECVE_THROWS) {
      // Node 26 throws the failure to the program, which goes on: the throw can only come
      // from the real system call, which the replay must never make.
      s.unsupported('a process.execve() that fails', `${execPath} could not be started (${failed})`);
      if (s.mode === 'record') return; // the real call fails as the child did, and throws
      writeStderr(
        `rewind: here the recorded process.execve(${execPath}) failed (${failed}) and Node threw that to the program; ` +
          'rewind cannot replay past it without making the system call, so the replay stops here.\n',
      );
      return original.reallyExit(EXIT.DIVERGENCE);
    }
    // A program that cannot be started: Node 22-25 report the failed system call and abort.
    if (failed) writeStderr(`process.execve failed with error code ${failed}\n`);
    const signal = r.error ? 'SIGABRT' : r.signal;
    const end: EndInfo = {
      code: signal ? null : (r.status ?? 1),
      signal,
      via: signal ? 'signal' : 'exit',
      execve: execPath,
    };
    processEnding(); // rewind's own duties: no 'exit' event comes
    if (s.mode === 'record') s.end(end);
    else s.endsAs(end);
    if (signal) {
      process.removeAllListeners(signal); // none of the program's handlers runs: its default action
      original.processKill(original.pid, signal);
    }
    return original.reallyExit(end.code ?? 1);
  };
  P.execve = function execve(this: unknown, ...args: unknown[]) {
    channel ??= builtinModule<typeof DiagnosticsChannel>('node:diagnostics_channel').channel('process.execve');
    channel.subscribe(replace); // after the program's own subscribers: they see the call first
    try {
      return real.apply(this, args);
    } finally {
      // Reached only when the call threw: Node refused the arguments, or (Node 26) it failed.
      channel.unsubscribe(replace);
    }
  } as never;
}

function recordEnding(s: RecordSession): void {
  let via: 'exit' | 'natural' | 'uncaught' = 'natural';
  const exit = original.processExit;
  process.exit = function exit_(this: NodeJS.Process, ...args: unknown[]) {
    if (via === 'natural') via = 'exit';
    return (exit as (...a: unknown[]) => never).apply(this, args);
  } as typeof process.exit;
  Object.defineProperty(process.exit, 'name', { value: 'exit' });

  // process.exit() called inside an 'exit' listener (tape's, after it removed every 'exit'
  // listener) goes straight to reallyExit, leaving the emit below unfinished: end the log there.
  const reallyExit = original.reallyExit;
  nodeProcess.reallyExit = function (code: number) {
    s.end({ code: exitCodeOf(code), signal: null, via: via === 'natural' ? 'exit' : via });
    return reallyExit.call(process, code);
  };

  process.on('uncaughtExceptionMonitor', (err, origin) => {
    s.failure(failureInfo(err, origin));
    if (process.listenerCount('uncaughtException') === 0) via = 'uncaught';
  });

  const emit = original.processEmit as (...a: unknown[]) => boolean;
  process.emit = function (this: NodeJS.Process, event: string | symbol, code?: unknown) {
    // `arguments`, not rest parameters: process.emit is hot, and this path allocates nothing.
    if (event !== 'exit') {
      // A signal the process listens for arrives through Node's signal handle, whose
      // callback is process.emit bound to (name, name), bound once the program listens
      // (after this wrapper is in place): that callback is the turn.
      if (code === event && typeof event === 'string' && isSignalName(event)) s.signal(event);
      return emit.apply(this, arguments as unknown as unknown[]);
    }
    try {
      return emit.apply(this, arguments as unknown as unknown[]);
    } finally {
      s.end({ code: exitCodeOf(code), signal: null, via });
    }
  } as typeof process.emit;

  // SIGINT, SIGTERM and SIGHUP end the process unless the program handles them: rewind
  // listens too, to end the log before the default action ends the process.
  const onSignal = (sig: NodeJS.Signals) => {
    if (process.listenerCount(sig) > 1) return; // the program handles it
    // Nobody else listens: the default action would have ended the process. Do it for real,
    // after rewind's own duties (threads still running get their logs finished: no 'exit' comes).
    processEnding();
    s.end({ code: null, signal: sig, via: 'signal' });
    for (const name of SIGNALS) process.removeListener(name, onSignal);
    original.processKill(process.pid, sig);
  };
  // Signals reach a process's main thread only.
  if (thread.isMain) for (const name of SIGNALS) process.on(name, onSignal);
}

/**
 * Signals are outside-world writes: at replay none is sent. A signal the program sent
 * itself comes back as the log's signal event, at the turn where it arrived.
 */
function replayKill(): void {
  // No signal reaches the replay from outside: the log's signal events are delivered
  // by the dispatcher, in the turn where they arrived. (Where Node no longer exposes its
  // signal handle, 24, a signal sent to the replay from outside still reaches it.)
  const Signal = bindings()?.Signal;
  if (Signal) Signal.prototype.start = () => 0;

  const real = original.processKill;
  process.kill = function kill(pid: number, signal?: string | number) {
    const badSignal = signal !== undefined && typeof signal !== 'number' && !(String(signal) in os.constants.signals);
    if (typeof pid !== 'number' || !Number.isFinite(pid) || badSignal) return real(pid, signal); // throws Node's error
    return true;
  } as typeof process.kill;
}

function checkEnding(s: ReplaySession): void {
  process.on('uncaughtExceptionMonitor', (err, origin) => s.failure(err, origin));
  const emit = original.processEmit as (...a: unknown[]) => boolean;
  let exiting = false;
  let exited = false;
  process.emit = function (this: NodeJS.Process, event: string | symbol, code?: unknown) {
    if (event !== 'exit') return emit.apply(this, arguments as unknown as unknown[]);
    s.exiting(exitCodeOf(code));
    exiting = true;
    try {
      return emit.apply(this, arguments as unknown as unknown[]);
    } finally {
      if (!exited) {
        exited = true;
        s.exited(exitCodeOf(code));
      }
    }
  } as typeof process.emit;
  // process.exit() inside an 'exit' listener (thread-stream's worker does it) goes straight
  // to reallyExit, leaving the emit above unfinished: the end is checked there, as recording
  // ended the log there (and a worker thread tells its parent it is done).
  const reallyExit = original.reallyExit;
  nodeProcess.reallyExit = function (code: number) {
    if (exiting && !exited) {
      exited = true;
      s.exited(exitCodeOf(code));
    }
    s.leaving(exitCodeOf(code));
    return reallyExit.call(process, code);
  };
}

export const processSource: Source = {
  name: 'process',
  install(s: Session) {
    execveAsChild(s);
    recordEnvFiles(s);
    recordProcessState(s);
    if (s.mode === 'record') recordEnding(s);
    else {
      restoreInputs(s);
      replayKill();
      checkEnding(s);
    }
  },
};
