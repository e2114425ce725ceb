// Child processes are part of the outside world (recording a child's own execution is the
// multi-process recorder's job): what the program sees of one — its pid, the bytes on
// its pipes, how it exited — is recorded, and at replay no process is started and no
// signal is sent. Pipes are stream handles (streams.ts); this module covers the Process
// handle under ChildProcess (spawn, exit, kill) and spawn_sync, the one function behind
// spawnSync, execSync and execFileSync.
import { bindings, type Bindings } from '../session/bindings.js';
import { chaos } from '../session/chaos.js';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';
import { handleState, laneOf } from './streams.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Handle = any;

/** What the program asked to run: from spawn's options object, or (Node 24) its positional arguments. */
function spawnArgs(a: ArrayLike<any>) {
  const o = typeof a[0] === 'object' && a[0] !== null ? a[0] : { file: a[0], args: a[1], cwd: a[2] };
  return { file: o.file, args: o.args, cwd: o.cwd ?? undefined };
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
    return s.call(Api['child_process.spawnSync'], spawnArgs([options]), () => spawnSync.call(this, options));
  };
}

function recordProcesses(s: RecordSession, b: Bindings): void {
  const P = b.Process.prototype;
  const spawn = P.spawn;
  P.spawn = function (this: Handle) {
    const args = arguments;
    const st = handleState(this)!;
    const [err] = s.call(Api['process.spawn'], spawnArgs(args), () => [spawn.apply(this, args), this.pid]);
    // A failed spawn reports through onexit from a nextTick, not from the OS: not a turn.
    if (err === 0) {
      const exit = this.onexit;
      const exited = function (this: Handle, code: number, signal: string) {
        s.callback(st.op, Api['process.exit'], [code, signal]);
        this.onexit = exit; // stack frames then read as Node's own
        return exit.apply(this, arguments);
      };
      this.onexit = chaos === null ? exited : chaos.wrap(laneOf(st), exited);
    }
    return err;
  };
}

function replayProcesses(s: ReplaySession, b: Bindings): void {
  b.Process.prototype.spawn = function (this: Handle) {
    const what = spawnArgs(arguments);
    const st = handleState(this)!;
    const [err, pid] = s.call(Api['process.spawn'], what, () => [0, 0] as [number, number]);
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
    if (s.mode === 'record') recordProcesses(s as RecordSession, b);
    else replayProcesses(s as ReplaySession, b);
  },
};
