// Child processes are part of the outside world (recording a child's own execution is the
// multi-process recorder's job): what the program sees of one — its pid, the bytes on
// its pipes, how it exited — is recorded, and at replay no process is started and no
// signal is sent. Pipes are stream handles (streams.ts); this module covers the Process
// handle under ChildProcess (spawn, exit, kill) and spawn_sync, the one function behind
// spawnSync, execSync and execFileSync.
import { bindings, type Bindings } from '../session/bindings.js';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';
import { handleState } from './streams.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Handle = any;

/**
 * What a spawn is checked by at replay. Process.prototype.spawn takes one options object
 * up to Node 22 and (file, args, cwd, envPairs, stdio, ...) on Node 24; spawn_sync takes
 * the options object.
 */
const spawnArgs = (a: ArrayLike<any>) => {
  const [file, args, cwd] = typeof a[0] === 'string' ? [a[0], a[1], a[2]] : [a[0]?.file, a[0]?.args, a[0]?.cwd];
  return { file, args, cwd: cwd ?? undefined };
};

function common(s: Session, b: Bindings): void {
  const P = b.Process.prototype;
  const kill = P.kill;
  P.kill = function (this: Handle, signal: number) {
    const st = handleState(this)!;
    return s.call(Api['process.kill'], { h: st.op, signal }, () => kill.call(this, signal));
  };
  const spawnSync = b.spawnSync.spawn;
  b.spawnSync.spawn = function (this: unknown) {
    const args = arguments;
    return s.call(Api['child_process.spawnSync'], spawnArgs(args), () => spawnSync.apply(this, args as unknown as [unknown]));
  };
}

function recordProcesses(s: RecordSession, b: Bindings): void {
  const P = b.Process.prototype;
  const spawn = P.spawn;
  P.spawn = function (this: Handle) {
    const st = handleState(this)!;
    const args = arguments;
    const [err] = s.call(Api['process.spawn'], spawnArgs(args), () => [spawn.apply(this, args), this.pid]);
    // A failed spawn reports through onexit from a nextTick, not from the OS: not a turn.
    if (err === 0) {
      const exit = this.onexit;
      this.onexit = function (this: Handle, code: number, signal: string) {
        s.callback(st.op, Api['process.exit'], [code, signal]);
        this.onexit = exit; // stack frames then read as Node's own
        return exit.apply(this, arguments);
      };
    }
    return err;
  };
}

function replayProcesses(s: ReplaySession, b: Bindings): void {
  b.Process.prototype.spawn = function (this: Handle) {
    const st = handleState(this)!;
    const spawned = spawnArgs(arguments);
    const [err, pid] = s.call(Api['process.spawn'], spawned, () => [0, 0] as [number, number]);
    this.pid = pid;
    if (err === 0) {
      s.register(st.op, {
        tag: Tag.Callback,
        api: Api['process.exit'],
        repeat: false,
        what: `child process ${spawned.file} running`,
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
    if (s.mode === 'record') recordProcesses(s as RecordSession, b);
    else replayProcesses(s as ReplaySession, b);
  },
};
