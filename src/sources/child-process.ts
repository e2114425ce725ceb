// Child processes are part of the outside world (recording a child's own execution is the
// multi-process recorder's job): what the program sees of one — its pid, the bytes on
// its pipes, how it exited — is recorded, and at replay no process is started and no
// signal is sent. Pipes are stream handles (streams.ts); this module covers the Process
// handle under ChildProcess (spawn, exit, kill) and spawn_sync, the one function behind
// spawnSync, execSync and execFileSync.
import { bindings, type Bindings } from '../node/bindings.js';
import { original, writeStderr } from '../node/originals.js';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { ENV } from '../session/env.js';
import { Api, Tag } from '../trace/format.js';
import { writeUnchecked } from './stdio.js';
import { handleState, laneOf } from './streams.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

// ---- children's inherited output -------------------------------------------------------
// A child given the program's own stdout or stderr (stdio: 'inherit', [0, 1, 2],
// process.stdout) writes what the user sees straight to that fd, where no process's log
// sees it: a shell, a native tool (typescript 7's tsc starts one), or a Node child whose
// log holds only a digest of large writes. When the program's stdout (stderr) is not a
// terminal, rewind gives such a child a pipe instead, writes what comes out of it to the
// program's stdout (stderr) as it arrives, and logs it: spawn's as reads of that pipe (a
// handle of the streams source, so replay feeds the same code the logged chunks in their
// turns), spawnSync's with its result. A child that writes to a pipe instead of a file sees
// no difference it acts on; to a terminal it would (colours, progress bars): then its output
// goes to the terminal as before, unrecorded, and the recording says so.

const kInherited = 'rewindInherited';
const warned = new Set<number>();

/** Indexes 1 and 2 of a spawn's stdio that hand the child the program's own fd 1 or 2. */
function inheritedOutputs(s: Session, stdio: unknown): number[] {
  if (!Array.isArray(stdio)) return [];
  const out: number[] = [];
  for (const fd of [1, 2]) {
    const e = stdio[fd] as { type?: string; fd?: number } | undefined;
    if (!e || (e.type !== 'inherit' && e.type !== 'fd') || e.fd !== fd) continue;
    // The terminal's shape at record, not at replay: both runs decide alike.
    const tty = (fd === 1 ? s.header.stdio.stdout : s.header.stdio.stderr).isTTY;
    if (!tty) {
      out.push(fd);
      continue;
    }
    const what = `child process output to the terminal (fd ${fd})`;
    if (s.mode === 'replay' && !warned.has(fd))
      writeStderr(
        `rewind: note: what a child process wrote to the terminal (fd ${fd}) when this was recorded is not in the recording, so this replay does not show it.\n`,
      );
    warned.add(fd);
    s.unsupported(what, 'a child given the terminal writes to it directly; its output is not part of the replay');
  }
  return out;
}

/** How long a child's exit waits for the rest of its output on rewind's pipes (recording). */
const DRAIN_MS = 100;

/**
 * spawn: pipes in place of the inherited fds while the real (or, at replay, inert) spawn
 * reads them. Returns how to deliver the child's exit after its output, as with the fd
 * itself: once the pipes are at their end, or (a grandchild holds them) shortly after.
 */
function spawnWithPipes(
  s: Session,
  b: Bindings,
  stdio: any[],
  spawn: () => number,
  child: Handle,
): (deliver: () => void) => void {
  const fds = inheritedOutputs(s, stdio);
  const now = (deliver: () => void) => deliver();
  if (fds.length === 0) {
    spawn();
    return now;
  }
  const saved = fds.map((fd) => [fd, stdio[fd], new b.Pipe(b.PipeConstants.SOCKET)] as const);
  for (const [fd, , pipe] of saved) stdio[fd] = { type: 'pipe', handle: pipe, readable: false, writable: true };
  let err: number;
  try {
    err = spawn();
  } finally {
    // Node's ChildProcess sees its own entries again: no child.stdout appears.
    for (const [fd, entry] of saved) stdio[fd] = entry;
  }
  const sbs = b.streamBaseState;
  let open = 0;
  let drained: (() => void) | null = null;
  for (const [fd, , pipe] of saved) {
    if (err !== 0) {
      pipe.close();
      continue;
    }
    open++;
    pipe.onread = function (this: Handle, ab?: ArrayBuffer) {
      const n = sbs[b.kReadBytesOrError];
      if (n > 0 && ab) writeUnchecked(fd, Buffer.from(ab, sbs[b.kArrayBufferOffset], n));
      else if (n < 0) {
        this.close();
        if (--open === 0 && drained) drained();
      }
    };
    pipe.readStart();
  }
  if (err !== 0) return now;
  // A child the program unref()s (a daemon) no longer holds it up, nor do its pipes.
  const unref = child.unref;
  child.unref = function (this: Handle) {
    for (const [, , pipe] of saved) pipe.unref();
    return unref.call(this);
  };
  return (deliver) => {
    if (open === 0) return deliver();
    const timer = original.setTimeout(() => {
      // A grandchild (a daemon) holds the pipes: they no longer keep the program alive,
      // as the fd it inherited would not have.
      for (const [, , pipe] of saved) pipe.unref();
      drained?.();
    }, DRAIN_MS);
    drained = () => {
      drained = null;
      original.clearTimeout(timer);
      deliver();
    };
  };
}

/** spawnSync: pipes in place of the inherited fds; what came out travels with the logged result. */
function spawnSyncWithPipes(s: Session, options: any, spawnSync: () => any): any {
  const fds = inheritedOutputs(s, options?.stdio);
  if (fds.length === 0) return s.call(Api['child_process.spawnSync'], spawnArgs([options]), spawnSync);
  const stdio = options.stdio as any[];
  const saved = fds.map((fd) => [fd, stdio[fd]] as const);
  for (const [fd] of saved) stdio[fd] = { type: 'pipe', readable: false, writable: true };
  // maxBuffer is for the program's own pipes: one inheriting the fd had no limit.
  const maxBuffer = options.maxBuffer;
  const others = stdio.some((e, i) => i > 0 && !fds.includes(i) && e?.type === 'pipe');
  if (!others) options.maxBuffer = Infinity;
  try {
    return s.call(Api['child_process.spawnSync'], spawnArgs([options]), () => {
      const result = spawnSync();
      if (result && Array.isArray(result.output)) {
        result[kInherited] = fds.map((fd) => result.output[fd] ?? null);
        for (const fd of fds) result.output[fd] = null;
      }
      return result;
    });
  } finally {
    for (const [fd, entry] of saved) stdio[fd] = entry;
    options.maxBuffer = maxBuffer;
  }
}

type Handle = any;

/** What the program asked to run: from spawn's options object, or (Node 24) its positional arguments. */
function spawnArgs(a: ArrayLike<any>) {
  const o = typeof a[0] === 'object' && a[0] !== null ? a[0] : { file: a[0], args: a[1], cwd: a[2] };
  return { file: o.file, args: o.args, cwd: o.cwd ?? undefined };
}

/** The stdio array of a Process spawn: in its options object, or (Node 24) its fifth argument. */
function stdioOf(a: ArrayLike<any>): any[] {
  return (typeof a[0] === 'object' && a[0] !== null ? a[0].stdio : a[4]) ?? [];
}

function common(s: Session, b: Bindings): void {
  const P = b.Process.prototype;
  const kill = P.kill;
  P.kill = function (this: Handle, signal: number) {
    const st = handleState(this)!;
    return s.call(Api['process.kill'], { h: st.op, signal }, () => kill.call(this, signal));
  };
  const spawnSync = b.spawnSync.spawn;
  b.spawnSync.spawn = function (this: unknown, options: any) {
    // At replay a child runs for real only when a debugger evaluates a call while paused
    // (off the log). The replayed environment is the recorded one, rewind's variables
    // included: that child must not record into the recording being replayed.
    const real = () =>
      spawnSync.call(this, s.mode === 'replay' ? { ...options, envPairs: unrecorded(options.envPairs) } : options);
    const result = spawnSyncWithPipes(s, options, real);
    const inherited = result?.[kInherited] as (Uint8Array | null)[] | undefined;
    if (inherited) {
      delete result[kInherited];
      // After the child ended, where the user saw it: the program was blocked meanwhile.
      inheritedOutputs(s, options.stdio).forEach((fd, i) => inherited[i] && writeUnchecked(fd, inherited[i]!));
    }
    return result;
  };
}

/** A child's environment ("K=V" strings) with rewind switched off in it. */
function unrecorded(envPairs: unknown): unknown {
  if (!Array.isArray(envPairs)) return envPairs;
  return [...envPairs.filter((kv) => !String(kv).startsWith(`${ENV.MODE}=`)), `${ENV.MODE}=off`];
}

function recordProcesses(s: RecordSession, b: Bindings): void {
  const P = b.Process.prototype;
  const spawn = P.spawn;
  P.spawn = function (this: Handle) {
    const args = arguments;
    const st = handleState(this)!;
    let err = 0;
    const afterOutput = spawnWithPipes(
      s,
      b,
      stdioOf(args),
      () => {
        [err] = s.call(Api['process.spawn'], spawnArgs(args), () => [spawn.apply(this, args), this.pid]);
        return err;
      },
      this,
    );
    // A failed spawn reports through onexit from a nextTick, not from the OS: not a turn.
    if (err === 0) {
      const exit = this.onexit;
      const exited = function (this: Handle, code: number, signal: string) {
        s.callback(st.op, Api['process.exit'], [code, signal]);
        this.onexit = exit; // stack frames then read as Node's own
        return exit.apply(this, arguments);
      };
      const deliver = s.chaos === null ? exited : s.chaos.wrap(laneOf(st), exited);
      this.onexit = function (this: Handle, ...outcome: unknown[]) {
        afterOutput(() => deliver.apply(this, outcome as [number, string]));
      };
    }
    return err;
  };
}

function replayProcesses(s: ReplaySession, b: Bindings): void {
  b.Process.prototype.spawn = function (this: Handle) {
    const what = spawnArgs(arguments);
    const st = handleState(this)!;
    let err = 0;
    let pid = 0;
    spawnWithPipes(
      s,
      b,
      stdioOf(arguments),
      () => {
        [err, pid] = s.call(Api['process.spawn'], what, () => [0, 0] as [number, number]);
        return err;
      },
      this,
    );
    this.pid = pid;
    if (err === 0) {
      s.register(st.op, {
        tag: Tag.Callback,
        api: Api['process.exit'],
        repeat: false,
        what: `child process ${what.file} running`,
        fire: (outcome) => this.onexit(...(outcome as [number, string])),
      });
    }
    return err;
  };
}

export const childProcessSource: Source = {
  name: 'child-process',
  install(s: Session) {
    const b = bindings();
    if (!b) return;
    common(s, b);
    if (s.mode === 'record') recordProcesses(s, b);
    else replayProcesses(s, b);
  },
};
