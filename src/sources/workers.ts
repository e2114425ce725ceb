// Worker threads. Each thread records into a log of its own, next to its process's
// (start.ts: <program>-<pid>-t<threadId>.rwnd). What crosses between threads arrives as a
// message on a MessagePort — a Worker's ports in the parent, parentPort and its control
// port in the worker, MessageChannels the program makes — and each arrival is a turn of
// its port; a Worker's exit is a turn of the Worker.
//
// At replay the threads run together again, each from its own log. Messages really cross
// (they are not stored: the sending thread, replayed, sends the same ones), and each
// arrival waits for its turn in the receiving thread's log, as background work does. So a
// worker's log replays within its process, not alone.
import workerThreads from 'node:worker_threads';
import { ENV } from '../session/env.js';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Port = any;

const kHybridDispatch = Symbol.for('nodejs.internal.kHybridDispatch');
const kCurrentlyReceivingPorts = Symbol.for('nodejs.internal.kCurrentlyReceivingPorts');
const kOp = Symbol('rewind.op');

/** The log of worker thread `id` of the process whose main log is `mainLog`. */
export const workerLog = (mainLog: string, id: number): string => mainLog.replace(/\.rwnd$/, `-t${id}.rwnd`);
/** The main log of the process a (worker's) log belongs to. */
export const mainLogOf = (log: string): string => log.replace(/-t\d+\.rwnd$/, '.rwnd');

/** Finds a private field of a Node object by its symbol's description. */
function privateField(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((k) => k.description === description);
}

function recordWorkers(s: RecordSession): void {
  const P = workerThreads.MessagePort.prototype as any;
  const opOf = (port: Port): number => (port[kOp] ??= s.newOp());
  let draining = 0;

  const start = P.start;
  P.start = function (this: Port) {
    opOf(this);
    return start.call(this);
  };
  const dispatch = P[kHybridDispatch];
  P[kHybridDispatch] = function (this: Port, data: unknown, type: string, event: unknown) {
    // Messages a Worker's exit drains from its port arrive inside that turn, not in their own.
    s.callback(opOf(this), draining > 0 ? Api['worker.drained'] : Api['worker.message'], undefined);
    return dispatch.call(this, data, type, event);
  };

  patchWorker((_worker, handle) => {
    const op = s.newOp();
    const exit = handle.onexit;
    handle.onexit = function (this: unknown, ...args: unknown[]) {
      s.callback(op, Api['worker.exit'], undefined);
      draining++;
      try {
        return exit.apply(this, args);
      } finally {
        draining--;
      }
    };
  });
}

function replayWorkers(s: ReplaySession): void {
  const P = workerThreads.MessagePort.prototype as any;
  const dispatch = P[kHybridDispatch];
  let draining = 0;

  /** The port's op: its real arrivals queue until the log says they arrive. */
  const opOf = (port: Port): { op: number; arrived: unknown[][] } => {
    if (port[kOp]) return port[kOp];
    const state = { op: s.newOp(), arrived: [] as unknown[][] };
    port[kOp] = state;
    s.register(state.op, {
      tag: Tag.Callback,
      api: Api['worker.message'],
      repeat: true,
      what: 'a message port receiving',
      ready: () => state.arrived.length > 0,
      fire: () => deliver(port, state.arrived.shift()!),
    });
    return state;
  };
  const deliver = (port: Port, [data, type, event, ports]: unknown[]) => {
    port[kCurrentlyReceivingPorts] = ports;
    try {
      dispatch.call(port, data, type, event);
    } finally {
      port[kCurrentlyReceivingPorts] = undefined;
    }
  };

  const start = P.start;
  P.start = function (this: Port) {
    opOf(this);
    return start.call(this);
  };
  P[kHybridDispatch] = function (this: Port, data: unknown, type: string, event: unknown) {
    const state = opOf(this);
    const arrival = [data, type, event, this[kCurrentlyReceivingPorts]];
    if (draining > 0 && s.takeCallback(state.op, Api['worker.drained'])) return deliver(this, arrival);
    state.arrived.push(arrival);
    s.wake();
  };

  patchWorker((worker, handle) => {
    const op = s.newOp();
    const exit = handle.onexit;
    let exited: unknown[] | null = null;
    handle.onexit = (...args: unknown[]) => {
      exited = args;
      s.wake();
    };
    s.register(op, {
      tag: Tag.Callback,
      api: Api['worker.exit'],
      repeat: false,
      what: `worker thread ${worker.threadId} running`,
      ready: () => exited !== null,
      fire: () => {
        draining++;
        try {
          exit.apply(handle, exited!);
        } finally {
          draining--;
        }
      },
    });
  }, mainLogOf(s.file.path));
}

/**
 * Replaces worker_threads.Worker with a subclass that hands each new Worker (and its native
 * handle, where Node's onexit lives) to `patch`. At replay the new thread is told to replay
 * too, from its own log next to `replayOf`: the program's environment is the recorded
 * one, in which rewind recorded.
 */
function patchWorker(patch: (worker: any, handle: any) => void, replayOf?: string): void {
  const Real = workerThreads.Worker;
  class RewindWorker extends Real {
    constructor(filename: string | URL, options?: any) {
      const env = options?.env === workerThreads.SHARE_ENV ? options.env : { ...(options?.env ?? process.env) };
      if (replayOf && env !== workerThreads.SHARE_ENV) Object.assign(env, { [ENV.MODE]: 'replay', [ENV.TRACE]: replayOf });
      super(filename, { ...options, env });
      const key = privateField(this, 'kHandle');
      if (key) patch(this, (this as any)[key]);
    }
  }
  Object.defineProperty(RewindWorker, 'name', { value: 'Worker' });
  (workerThreads as any).Worker = RewindWorker;
}

export const workersSource: Source = {
  name: 'workers',
  install(s: Session) {
    if (s.mode === 'record') recordWorkers(s as RecordSession);
    else replayWorkers(s as ReplaySession);
  },
};
