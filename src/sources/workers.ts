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
import { kCurrentlyReceivingPorts, kHybridDispatch, workerField } from '../node/symbols.js';
import { builtinModule, cjsLoader, loaderHooksLock, nodeLoaded, thread, whenLoaded } from '../node/fields.js';
import { EXIT } from '../exit-codes.js';
import { original, writeStderr } from '../node/originals.js';
import { CHUNK_HEADER_BYTES, type EndInfo } from '../trace/format.js';
import { Tail, encodeChunk, encodeEnd } from '../trace/writer.js';
import { TraceReader, type TraceEvent } from '../trace/reader.js';
import { debuggerMayHold, waitForPausedThreads } from '../session/replay-dispatcher.js';
import { atomicsTicket } from './shared-memory.js';
import { calledFromLoader } from './fs/loader.js';
import { callSites } from '../session/stack.js';
import path from 'node:path';
import type V8 from 'node:v8';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { Api, Tag } from '../trace/format.js';
import { ENV, replayStartEnv, steeringVariables, takeHanded } from '../session/env.js';
import { withPreload, withoutPreload } from '../paths.js';
import { harmlessNodeOptions } from '../session/trust.js';
import { atProcessEnd } from '../session/process-end.js';
import { crc32 } from '../node/bindings.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Port = any;

const kOp = Symbol('rewind.op');

/** The log of worker thread `id` of the process whose main log is `mainLog`. */
export const workerLog = (mainLog: string, id: number): string => mainLog.replace(/\.rwnd$/, `-t${id}.rwnd`);
/** The main log of the process a (worker's) log belongs to. */
export const mainLogOf = (log: string): string => log.replace(/-t\d+\.rwnd$/, '.rwnd');

// ---- a worker's log when the thread is stopped ------------------------------------------
// worker.terminate() and the process ending stop a thread without running its 'exit'
// listeners: no JS of its own flushes its log or writes its end. So a recording worker
// fills its log's chunks in a SharedArrayBuffer its parent holds too (TraceWriter.share),
// and the parent writes what is left there, and an end record, once the thread stopped.
// The buffer reaches the worker inside its workerData, which the preload unwraps before the
// program can read it.

const WRAPPED = '__rewindWorkerData';
let ownTail: SharedArrayBuffer | null = null;
let ownDone: Int32Array | null = null;
/**
 * Replaying, the main log of the process whose thread this is: the thread replays its own
 * log next to it. Handed over in workerData, not in the environment, so that the program
 * reads the environment it recorded (a SHARE_ENV worker shares its parent's).
 */
let ownReplayOf: string | null = null;
export const workerReplayOf = (): string | null => ownReplayOf;
/** The process's output counter (RecordSession.outputOrder): the parent's, or made with the first worker. */
let outputOrder: Int32Array | null = null;
/**
 * The process's order of Atomics operations on shared memory (sources/shared-memory.ts):
 * recording, [next ticket, lock]; replaying, a ticket table as for outputs. Made with the
 * first worker: before it, no other thread can see this thread's shared memory.
 */
let memoryOrder: Int32Array | null = null;
export const sharedMemoryOrder = (): Int32Array | null => memoryOrder;
/**
 * Replaying under a debugger: [1 once a debugger client has the replay], shared by all the
 * process's threads (made by the first thread that starts a worker, handed down in workerData).
 * A worker started from then on waits for the client's breakpoints before its first line.
 */
let clientFlag: Int32Array | null = null;
const ownClientFlag = (): Int32Array => (clientFlag ??= new Int32Array(new SharedArrayBuffer(4)));
/** A debugger client has the replay (debug/handoff.ts): the workers started from now on wait for it. */
export function debuggerClientAttached(): void {
  original.Atomics.store(ownClientFlag(), 0, 1);
}
/**
 * Under rewind dap, called as a worker thread is about to start while no debugger client has
 * the replay yet (set by debug/controller.ts): the client attaches first, so that Node holds
 * the new worker until the client's breakpoints are in it, whether or not the replay has
 * reached its stop.
 */
let beforeWorkerWithoutClient: (() => void) | null = null;
export function onWorkerWithoutClient(hook: () => void): void {
  beforeWorkerWithoutClient = hook;
}
/**
 * Under rewind dap (ENV.WORKER_UNTIL, "T:N"): worker thread T of this process pauses before
 * event N of its own log (debug/worker-thread.ts), as the main thread does for `--until`.
 * Read by the main thread as the preload loads (before the replay restores the program's
 * environment), handed down to every worker, nested ones too, in workerData.
 */
let workerUntil: string | null = thread.isMain ? (process.env[ENV.WORKER_UNTIL] ?? null) : null;
/** The event this replayed worker thread stops before, if rewind dap asked for one. */
export function ownStop(): number | null {
  const m = workerUntil === null ? null : /^(\d+):(\d+)$/.exec(workerUntil);
  return m && Number(m[1]) === thread.id ? Number(m[2]) : null;
}
/** Did this replayed worker thread start once a debugger client had its process's replay? */
let startedUnderClient = false;
export const workerStartedUnderClient = (): boolean => startedUnderClient;

/**
 * This thread is Node's module-hooks thread: its polls of its own ports (receiveMessageOnPort
 * from node:internal/modules/esm/worker) are its own, recorded as any thread's, not the
 * loader's asking it (askingLoaderHooks).
 */
let hooksThread = false;
/** This thread is one Node made for itself (the module-hooks thread), told by a replay to run unrecorded. */
let nodesOwnThread = false;
export const isNodesOwnThread = (): boolean => nodesOwnThread;

/** In a worker thread, first thing: takes rewind's shared buffers out of workerData. */
export function unwrapWorkerData(): void {
  // Node's own threads (the module loader's hooks thread) get it in their environment data.
  const internal = workerThreads.getEnvironmentData(WRAPPED) as Record<string, unknown> | undefined;
  if (internal !== undefined) {
    workerThreads.setEnvironmentData(WRAPPED, undefined);
    // A replay of a recording older than hooksThreadLog: it runs unrecorded.
    nodesOwnThread = internal.off === true;
    hooksThread = true;
    // Recording: the tail its process finishes its log from, and where it says which thread it is.
    if (internal.tail instanceof SharedArrayBuffer) ownTail = internal.tail;
    if (internal.who instanceof SharedArrayBuffer)
      original.Atomics.store(new Int32Array(internal.who), 0, workerThreads.threadId);
    return;
  }
  const data = workerThreads.workerData as Record<string, unknown> | null | undefined;
  if (!data || typeof data !== 'object' || !(WRAPPED in data)) return;
  const {
    tail,
    done,
    replay,
    order,
    memory,
    debugged,
    client,
    until,
    handed,
    data: program,
  } = data[WRAPPED] as {
    tail?: SharedArrayBuffer;
    done?: SharedArrayBuffer;
    replay?: string;
    order?: SharedArrayBuffer;
    memory?: SharedArrayBuffer;
    debugged?: boolean;
    client?: SharedArrayBuffer;
    until?: string;
    handed?: Handed;
    data: unknown;
  };
  (workerThreads as any).workerData = program;
  // Before anything reads the environment (the header records it): the program's, as given.
  if (handed) takeHanded(handed.restore, handed.steering);
  ownReplayOf = typeof replay === 'string' ? replay : null;
  ownTail = tail ?? null;
  ownDone = done ? new Int32Array(done) : null;
  outputOrder = order ? new Int32Array(order) : null;
  memoryOrder = memory ? new Int32Array(memory) : null;
  workerUntil = typeof until === 'string' ? until : null;
  // Its process's replay is under a debugger, which may hold any of its threads paused.
  if (debugged === true) waitForPausedThreads();
  if (client) {
    clientFlag = new Int32Array(client);
    startedUnderClient = original.Atomics.load(clientFlag, 0) === 1;
  }
}

/**
 * A replayed worker thread has consumed its log (to the point where it was stopped, or to
 * its end) or stops replaying: its parent, waiting to stop it or to exit, goes on.
 */
export function replayedThreadDone(): void {
  if (ownDone === null) return;
  original.Atomics.store(ownDone, DONE, 1);
  original.Atomics.notify(ownDone, DONE);
}

// A replayed thread's [done, stop code] (see replayedThreadDone, replayStopped).
const DONE = 0;
const STOPPED = 1;
const DONE_BYTES = 8;

/** This replayed worker thread stops its replay with `code` (its report written): its parent will too. */
function replayStopped(code: number): void {
  if (ownDone !== null) original.Atomics.store(ownDone, STOPPED, code);
}

/**
 * The replay stops with `code` here, before a session replays (its report written). A worker
 * thread's reallyExit ends the thread only: its parent is told, and stops the process so too.
 */
export function stopReplay(code: number): never {
  replayStopped(code);
  replayedThreadDone();
  return original.reallyExit(code);
}

/** A replayed worker thread of this one stopped its replay: this thread stops it too (the worker said why). */
function followStop(done: Int32Array): void {
  const code = original.Atomics.load(done, STOPPED);
  if (code !== 0) stopReplay(code);
}

/** A file read by rewind itself, off the log (readFileSync would go through the program's fs.openSync). */
function readOwn(file: string): Buffer {
  const fd = original.fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(original.fs.fstatSync(fd).size);
    let off = 0;
    while (off < buf.length) {
      const n = original.fs.readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    original.fs.closeSync(fd);
  }
}

/**
 * Replay: the output counter of a process's threads, [next ticket, then for each ticket k
 * the next one after it that some log of the process holds]. Tickets can be taken and never
 * logged (a thread stopped between the two, its process ending while it wrote): the counter
 * steps over them instead of waiting for them.
 */
function ticketTable(mainLog: string, ticketOf: (ev: TraceEvent) => number | undefined): Int32Array {
  const held: number[] = [];
  const dir = path.dirname(mainLog);
  const base = path.basename(mainLog).replace(/\.rwnd$/, '');
  const logs = original.fs
    .readdirSync(dir)
    .filter((f) => f === `${base}.rwnd` || (f.startsWith(`${base}-t`) && f.endsWith('.rwnd')));
  for (const f of logs) {
    try {
      for (const ev of TraceReader.events(TraceReader.parse(readOwn(path.join(dir, f)), f))) {
        const ticket = ticketOf(ev);
        if (ticket !== undefined) held.push(ticket);
      }
    } catch {
      // an unreadable log replays (or refuses to) on its own
    }
  }
  const max = held.reduce((m, k) => (k > m ? k : m), -1); // not Math.max(...held): a log can hold more tickets than a call has arguments
  const table = new Int32Array(new SharedArrayBuffer(4 * (max + 2)));
  let next = max + 1;
  const present = new Set(held);
  for (let k = max; k >= 0; k--) {
    table[k + 1] = next;
    if (present.has(k)) next = k;
  }
  table[0] = next; // the first ticket held
  return table;
}

const outputTicket = (ev: TraceEvent): number | undefined =>
  ev.kind === 'value' && ev.api === Api['thread.outputOrder'] ? (ev.payload as number) : undefined;

/** How long a replay's parent waits for a worker thread to reach where the recorded one was stopped. */
const CATCH_UP_MS = 60_000;

/** This thread's Node flags as it started (replaying, the program's execArgv is then made the recorded one). */
const execArgv = [...process.execArgv];

/** A NODE_OPTIONS or execArgv entry that loads rewind's preload (this copy's or another's). */
const PRELOAD = /preload\.cjs|register\.js|node-test\.cjs|rewind\/(register|node-test)/;

/** What rewind hands a new worker thread beside its environment, or null: it runs without rewind. */
interface Handed {
  /** What the thread's start puts back in its environment before the program runs: a value, or away (null). */
  restore: Record<string, string | null>;
  /** Recording: this thread's steering variables (REWIND_DIR...) the worker's environment lacks. */
  steering: Record<string, string>;
}

/**
 * A new worker's environment, and what rewind hands the thread beside it.
 *
 * Node reads a worker's NODE_OPTIONS from the environment it is given (new Worker(f, { env })),
 * not from its process's: given one of the program's, the thread would run unrecorded, and its
 * workerData arrive wrapped. So rewind's preload goes into that environment's NODE_OPTIONS, put
 * back as the program gave it first thing in the thread, and rewind's steering variables go in
 * workerData: the program sees the environment it gave (its values; Node's order of a thread's
 * variables, a hash map's, is not promised).
 */
function workerEnv(options: any, replaying: boolean): { env: unknown; handed: Handed | null } {
  const inherits = options?.execArgv === undefined && execArgv.some((a) => PRELOAD.test(a));
  // Shared with this thread: what this thread has (Node then reads no NODE_OPTIONS for it).
  if (options?.env === workerThreads.SHARE_ENV) {
    const runs = inherits || PRELOAD.test(process.env.NODE_OPTIONS ?? '');
    return { env: options.env, handed: runs ? { restore: {}, steering: {} } : null };
  }
  // Replaying, the thread starts in the replay's environment (see replayStartEnv), and its
  // start gives the program the environment it recorded (sources/process.ts).
  const start = replaying ? replayStartEnv() : null;
  if (start) {
    const env = { ...start };
    // Given an environment of its own, the thread ran with its NODE_OPTIONS (and rewind's
    // preload): it does again, but for what could run code or write files.
    if (options?.env != null) env.NODE_OPTIONS = harmlessNodeOptions(withoutPreload(options.env.NODE_OPTIONS));
    if (!inherits && !PRELOAD.test(env.NODE_OPTIONS ?? '')) env.NODE_OPTIONS = withPreload(env.NODE_OPTIONS);
    if (env.NODE_OPTIONS === '') delete env.NODE_OPTIONS;
    return { env, handed: { restore: {}, steering: {} } };
  }
  const env: Record<string, string | undefined> = { ...(options?.env ?? process.env) };
  if (env[ENV.MODE] === 'off') return { env, handed: null };
  const handed: Handed = { restore: {}, steering: {} };
  if (!inherits && !PRELOAD.test(env.NODE_OPTIONS ?? '')) {
    handed.restore.NODE_OPTIONS = env.NODE_OPTIONS ?? null;
    env.NODE_OPTIONS = withPreload(env.NODE_OPTIONS);
  }
  // Replaying, the thread learns what it needs from workerData's `replay`.
  if (!replaying)
    for (const [k, v] of Object.entries(steeringVariables())) if (env[k] === undefined) handed.steering[k] = v;
  return { env, handed };
}

/**
 * The parent's side: writes the events left in a stopped (or, as the process ends, still
 * running) worker's tail and an end record into its log, unless the worker ended it itself.
 */
export function finishWorkerLog(tail: SharedArrayBuffer, log: string, end: EndInfo, running: boolean): void {
  const slots = new Int32Array(tail, 0, 4);
  let state: number = original.Atomics.compareExchange(slots, Tail.STATE, Tail.OPEN, Tail.TAKEN);
  // A running worker may be writing a chunk right now: it takes a moment.
  for (let i = 0; running && state === Tail.FLUSHING && i < 200; i++) {
    original.Atomics.wait(slots, Tail.STATE, Tail.FLUSHING, 5);
    state = original.Atomics.compareExchange(slots, Tail.STATE, Tail.OPEN, Tail.TAKEN);
  }
  if (state === Tail.CLOSED || state === Tail.TAKEN) return;
  original.Atomics.store(slots, Tail.STATE, Tail.TAKEN);
  let fd: number;
  try {
    fd = original.fs.openSync(log, 'r+');
  } catch {
    return; // the worker recorded nothing (or could not create its log)
  }
  try {
    const published = original.Atomics.load(slots, Tail.POS);
    const pos = published & ~Tail.ENDED;
    // The worker wrote its own end record (it ended as the parent stopped it): that one stands.
    const ended = (published & Tail.ENDED) !== 0;
    // Shared before the worker's preload got to it: its log holds the header only.
    const shared = pos >= CHUNK_HEADER_BYTES;
    // Ended, and its tail already on disk (it flushed after its end record): nothing to add.
    if (ended && pos <= CHUNK_HEADER_BYTES) return;
    // Stopped while writing a chunk: that chunk is written again, whole, where it began.
    const at = shared ? slots[Tail.FILE] : original.fs.fstatSync(fd).size;
    // No header (stopped between creating its log and writing it, where the file system has
    // no hard links: see createLog): a chunk alone would be no log. Left empty, it reads as a
    // thread that recorded nothing.
    if (at === 0) return;
    const events = shared
      ? Buffer.from(tail, Tail.HEADER + CHUNK_HEADER_BYTES, pos - CHUNK_HEADER_BYTES)
      : Buffer.alloc(0);
    const body = ended ? events : Buffer.concat([events, encodeEnd(end)]);
    // A header-only log has written no chunk: this one is chunk 0.
    const chunk = encodeChunk(shared ? slots[Tail.SEQ] : 0, body);
    original.fs.ftruncateSync(fd, at);
    let off = 0;
    while (off < chunk.length) off += original.fs.writeSync(fd, chunk, off, chunk.length - off, at + off);
  } catch {
    // the log stays as the worker left it: its replay says where it ends
  } finally {
    original.fs.closeSync(fd);
  }
}

// ---- which port is which op ----------------------------------------------------------
// A port's messages are the turns of its op, so ops go to ports in an order the program
// decides, the same in both runs: as ports are made (a Worker's, a MessageChannel's, this
// thread's parentPort) or received (transferred in a message, within that message's turn).
// Not as messages first arrive: in a pool that order is a race. (`port.on('message')`
// starts a port natively, without MessagePort.prototype.start.)

/** A Worker's own ports: the program's messages, and Node's (stdio, errors). */
function workerPorts(worker: any, opOf: (port: Port) => unknown): void {
  for (const name of ['kPublicPort', 'kPort'] as const) {
    const key = workerField(worker, name);
    if (key && worker[key]) opOf(worker[key]);
  }
}

/** Ports that arrive inside the message being dispatched on `port`. */
function receivedPorts(port: Port, opOf: (port: Port) => unknown): void {
  const ports = port[kCurrentlyReceivingPorts] as Port[] | undefined;
  if (ports) for (const p of ports) if (p instanceof workerThreads.MessagePort) opOf(p);
}

/** Each end of a MessageChannel the program made, to its other end. */
const peers = new WeakMap<object, Port>();
/** A port whose messages come from Node's module-hooks thread (see hooksPorts). */
let v8: typeof V8 | undefined; // loaded with the first such port: most programs never load node:v8
const v8Module = (): typeof V8 => (v8 ??= builtinModule<typeof V8>('node:v8'));
const kFromHooks = Symbol('rewind.fromHooks');

/** What else a port that receives from the hooks thread needs (replay: its messages come from the log). */
let markHooksPort: (port: Port) => void = () => {};

/**
 * Ports the program hands its module.register() hooks (tsx, tap's processinfo: `data: { port }`
 * with the port in `transferList`): their other ends receive what the hooks thread sends. That
 * thread runs live at replay, unrecorded (see askingLoaderHooks), so what it sends is input
 * from outside the replay, like a socket's bytes: its messages are logged whole (a structured
 * clone's bytes: data, never code) and, at replay, delivered from the log in their turns while
 * the live thread's are dropped. Left to the live thread, they came in another order (its
 * hooks finish concurrent loads as they please) or not where the log has them, and the replay
 * waited for them.
 */
function hooksPorts(): void {
  const Module = cjsLoader as { register?: unknown };
  const register = Module.register as ((...args: unknown[]) => unknown) | undefined;
  if (typeof register !== 'function') return;
  Module.register = function (this: unknown, ...args: unknown[]) {
    const options = [args[1], args[2]].find((a) => a !== null && typeof a === 'object' && !(a instanceof URL)) as
      { transferList?: unknown } | undefined;
    if (Array.isArray(options?.transferList)) {
      for (const sent of options.transferList) {
        // Every port a program makes comes with worker_threads (see portGlobalsLoadWorkerThreads).
        const port = nodeLoaded('worker_threads') && sent instanceof workerThreads.MessagePort;
        const kept = port ? peers.get(sent) : undefined;
        if (kept && kept[kFromHooks] !== true) {
          kept[kFromHooks] = true;
          markHooksPort(kept);
        }
      }
    }
    return register.apply(this, args);
  };
}

/**
 * Node's own port to a worker thread's parent (its environment's port): over it came the
 * message that loaded the thread's script, before rewind, and after that Node's stdio
 * messages only, sent as the parent's end of the thread's stdio wants them: stdin's data
 * ('stdioPayload'), and 'stdioWantsMoreData' whenever the parent reads what the thread
 * printed (at its start, when its pipe to process.stdout begins to flow, and again as a
 * program reads worker.stdout). The program neither makes, starts nor receives that port, so
 * its op cannot come in the program's order as it is made: it is taken as the thread starts,
 * next to parentPort's (see ownPorts), and given to the port with its first message. Taken at
 * its first message, as any other port's, it was taken in an order the two threads' race
 * decides: a pool's worker (tinypool) given its task port in its first message, whose parent's
 * stdout read came after that message when recording and before it at replay, gave the task
 * port op 2 when recording and 3 at replay (or the reverse), and its replay stopped at its
 * first receiveMessageOnPort.
 */
const NODE_STDIO_MESSAGES = new Set(['stdioPayload', 'stdioWantsMoreData']);
function nodesStdioMessage(port: Port, data: unknown): boolean {
  if (port[kOp] !== undefined || thread.isMain || port === workerThreads.parentPort) return false;
  const m = data as { type?: unknown; stream?: unknown } | null;
  return (
    m !== null && typeof m === 'object' && NODE_STDIO_MESSAGES.has(m.type as string) && typeof m.stream === 'string'
  );
}

/**
 * This thread's parentPort, a worker thread's own port to its parent (`envPort`: takes its op
 * now, see nodesStdioMessage), and a MessageChannel's two ports as it is made.
 */
function ownPorts(opOf: (port: Port) => unknown, envPort: (() => void) | null): void {
  if (workerThreads.parentPort) opOf(workerThreads.parentPort);
  if (envPort !== null && !thread.isMain) envPort();
  const Real = workerThreads.MessageChannel;
  class MessageChannel extends Real {
    constructor() {
      super();
      opOf(this.port1);
      opOf(this.port2);
      peers.set(this.port1, this.port2);
      peers.set(this.port2, this.port1);
    }
  }
  (workerThreads as any).MessageChannel = MessageChannel;
  if ((globalThis as any).MessageChannel === Real) (globalThis as any).MessageChannel = MessageChannel;
}

/**
 * Node's module loader asks the thread that runs module.register() hooks (tsx, ts-node/esm,
 * tap) over a port per request, polled after an Atomics wait on a lock of its own. The hooks
 * thread really runs at replay and answers, so the polls themselves are Node's: replayed from
 * the log, a poll that found nothing when recording would find nothing again while the answer
 * is there, and the loader would wait forever for a notification already sent. What is
 * logged is where the loader took each answer ('loader.answer'), since the program's module
 * code runs from there: at replay an answer that comes before its place is kept back (the
 * loader is told "nothing yet") until the turns before it have run, then the loader is woken
 * through its lock. Concurrent requests' answers are matched in the order they are taken.
 */
const askingLoaderHooks = (fn: (...a: never[]) => unknown): boolean => !hooksThread && calledFromLoader(fn);
/** A message from the hooks thread as logged (v8.serialize), or null when it cannot be (ports, shared memory). */
function hooksMessageBytes(port: Port, data: unknown): Buffer | null {
  if ((port[kCurrentlyReceivingPorts] as unknown[] | undefined)?.length) return null;
  try {
    return v8Module().serialize(data);
  } catch {
    return null;
  }
}

/** An answer's URL, the crc32 of the whole answer, and (header.answerKinds) whether it answers a resolve or a load. */
type AnswerKey = [string, number] | [string, number, string];

/**
 * Which answer the loader took: the hooks thread finishes concurrent requests in whatever
 * order its hooks take, and which request's answer comes first decides which module the
 * loader compiles there (tap's processinfo looked up source maps in between: found for other
 * modules). Logged with each answer as its URL (resolved, or loaded) and a digest of the whole
 * answer (format, source...), so that the replay's loader takes the same answer in each
 * place. (Requests cannot be told apart by their ports: each has its own, but which is polled
 * first depends on when the hooks thread's notifications come.)
 */
function answerKey(answer: { message: unknown }, kinds: boolean): AnswerKey {
  const m = answer.message as { status?: unknown; body?: { url?: unknown; responseURL?: unknown } } | null;
  const url = m?.body?.url ?? m?.body?.responseURL;
  const parts: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') parts.push(v);
    else if (ArrayBuffer.isView(v)) parts.push(String(crc32(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))));
    else if (v instanceof ArrayBuffer) parts.push(String(crc32(new Uint8Array(v))));
    else if (v !== null && typeof v === 'object' && depth < 6) {
      for (const k of Object.keys(v).sort()) {
        parts.push(k);
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
    } else parts.push(String(v));
  };
  walk(m, 0);
  const key: AnswerKey = [typeof url === 'string' ? url : String(m?.status), crc32(parts.join('\u0000'))];
  // A resolve's answer names its `url`; a load's, the `responseURL` it was loaded from (when its hooks say).
  if (kinds) key.push(m?.body?.url !== undefined ? 'resolve' : m?.body?.responseURL !== undefined ? 'load' : '');
  return key;
}

/** The loader's request is an asynchronous one (a synchronous one blocks in Atomics.wait: never kept back). */
const asyncLoaderRequest = (fn: (...a: never[]) => unknown): boolean => {
  const sites = callSites(fn, 4);
  return (
    Array.isArray(sites) &&
    sites.some((site) => (site as { getFunctionName?(): string | null }).getFunctionName?.() === 'makeAsyncRequest')
  );
};

/**
 * A port the program never had closes: one end of a channel Node made and transferred (a
 * Worker's, to its thread) closes here as it goes. Its 'close' runs no JS of the program and
 * comes whenever the transfer completes, a race: not a turn, or it would take an op in
 * whatever order the race gives. A port of the program's has its op by then (made, started
 * or received in order), or a 'close' listener (it arrives as a turn, as ever).
 */
const unseenClose = (port: Port, type: string): boolean =>
  type === 'close' && port[kOp] === undefined && !(port.listenerCount?.('close') > 0);

// ---- worker exits that come together ---------------------------------------------------
// Node hands a stopped thread's exit to its parent as a native immediate, and runs a batch of
// those (every thread that stopped since the last batch: a pool destroyed) before any
// microtask: each exit's 'exit' listeners, and terminate()'s promise settling, run with the
// others' listeners already run. So a worker.exit that came before the microtasks of the one
// before is marked in its payload, and replay runs it inside that turn, once every thread of
// the batch has really stopped. Run one turn each, the microtasks of one exit (tinypool's
// destroy() settling a task, vitest's test ending and reading the clock) came before the
// next exit's listeners instead of after the whole batch.
const JOINED_EXIT = 'joined';
const isJoinedExit = (payload: unknown): boolean => payload === JOINED_EXIT;
/** A worker's exit ran and no microtask checkpoint has come since (made at replay too, so that both runs make the same promises). */
let exitTickOpen = false;
const closeExitTick = (): void => {
  exitTickOpen = false;
};
function exitJoins(): boolean {
  if (exitTickOpen) return true;
  exitTickOpen = true;
  void Promise.resolve().then(closeExitTick);
  return false;
}

function recordWorkers(s: RecordSession): void {
  if (ownTail !== null) s.writer.share(ownTail);
  s.outputOrder = outputOrder;
  const P = workerThreads.MessagePort.prototype as any;
  const opOf = (port: Port): number => (port[kOp] ??= s.newOp());
  /** The op of this worker thread's own port to its parent, until its first message (see nodesStdioMessage). */
  let envOp: number | null = null;
  let draining = 0;

  const start = P.start;
  P.start = function (this: Port) {
    opOf(this);
    return start.call(this);
  };
  const dispatch = P[kHybridDispatch];
  P[kHybridDispatch] = function (this: Port, data: unknown, type: string, event: unknown) {
    if (unseenClose(this, type)) {
      s.audit?.notATurn();
      return dispatch.call(this, data, type, event);
    }
    if (this[kFromHooks] === true && type === 'message') {
      const bytes = hooksMessageBytes(this, data);
      if (bytes !== null) {
        s.callback(opOf(this), Api['hooks.message'], bytes);
        return dispatch.call(this, data, type, event);
      }
      s.unsupported(
        'a message from module.register() hooks',
        'it carried ports or shared memory, which cannot be logged',
      );
    }
    if (envOp !== null && nodesStdioMessage(this, data)) {
      this[kOp] = envOp;
      envOp = null;
    }
    // Messages a Worker's exit drains from its port arrive inside that turn, not in their own.
    s.callback(opOf(this), draining > 0 ? Api['worker.drained'] : Api['worker.message'], undefined);
    receivedPorts(this, opOf);
    return dispatch.call(this, data, type, event);
  };
  ownPorts(opOf, () => (envOp = s.newOp()));

  // Workers still running when this thread ends are stopped with it.
  const live = new Map<unknown, () => void>();
  atProcessEnd(() => {
    for (const finish of live.values()) finish();
    live.clear();
  });

  // Node's module-hooks thread (module.register(): tsx, ts-node/esm, tap) is made by Node, not
  // through worker_threads.Worker, and Node ends it with the process: it gets its log's tail in
  // the environment data of the message that loads its script, and this thread finishes its
  // log as the process ends, as for a worker still running (its log used to end unfinished,
  // its last events unwritten).
  const post = P.postMessage;
  let hooksStarted = false;
  P.postMessage = function postMessage(this: Port, message: unknown) {
    if (!hooksStarted && loaderHooksLock(message) !== null) {
      hooksStarted = true;
      // Node's own port to that thread (`this`): what it prints comes over it, as stdio
      // messages, into this thread's stdout; it runs live at replay, so they are logged whole
      // as the program's ports' are (see hooksPorts), and its errors with them.
      this[kFromHooks] = true;
      opOf(this);
      const tail = new SharedArrayBuffer(Tail.BYTES);
      const who = new Int32Array(new SharedArrayBuffer(4));
      withEnvironmentData(message, { tail, who: who.buffer });
      live.set(who, () => {
        const id = original.Atomics.load(who, 0);
        const end = { code: null, signal: null, via: 'terminated' } as const;
        if (id > 0) finishWorkerLog(tail, workerLog(mainLogOf(s.writer.path), id), end, true);
      });
    }
    return post.apply(this, arguments);
  };

  // receiveMessageOnPort takes a message now, if one is there yet: a race with the sender.
  const receive = workerThreads.receiveMessageOnPort;
  (workerThreads as any).receiveMessageOnPort = function receiveMessageOnPort(port: Port) {
    if (!(port instanceof workerThreads.MessagePort)) return receive(port); // Node's own error
    if (askingLoaderHooks(receiveMessageOnPort)) {
      const answer = receive(port);
      if (answer !== undefined) s.call(Api['loader.answer'], answerKey(answer, true), () => true);
      return answer;
    }
    let got: { message: unknown } | undefined;
    s.call(Api['port.receive'], [opOf(port)], () => (got = receive(port)) !== undefined);
    return got;
  };

  patchWorker(s, (worker, handle, tail) => {
    const op = s.newOp();
    workerPorts(worker, opOf);
    const exit = handle.onexit;
    const log = workerLog(mainLogOf(s.writer.path), worker.threadId);
    if (tail) live.set(worker, () => finishWorkerLog(tail, log, { code: null, signal: null, via: 'terminated' }, true));
    handle.onexit = function (this: unknown, ...args: unknown[]) {
      if (tail) {
        live.delete(worker);
        finishWorkerLog(
          tail,
          log,
          { code: typeof args[0] === 'number' ? args[0] : null, signal: null, via: 'terminated' },
          false,
        );
      }
      s.callback(op, Api['worker.exit'], exitJoins() ? JOINED_EXIT : undefined);
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
  s.onLogDone = replayedThreadDone;
  s.onStop = replayStopped;
  s.outputOrder = outputOrder;
  // A worker the recorded process stopped (terminate(), or by ending) had got as far as its
  // log goes: its replay gets there too before it is stopped, so none of its events (its
  // output) is lost to a parent that replays faster than it.
  const live = new Map<any, Int32Array>();
  const catchUp = (worker: any, done: Int32Array) => {
    live.delete(worker);
    s.passTurn(); // this thread's last output is written: the worker's next ones may be
    if (original.Atomics.wait(done, DONE, 0, CATCH_UP_MS) === 'timed-out') {
      writeStderr(
        `rewind: worker thread ${worker.threadId} had not replayed its recorded events ${CATCH_UP_MS / 1000} s after ` +
          `its process was to stop it; the replay no longer follows the recording, so it stops here.\n`,
      );
      stopReplay(EXIT.DIVERGENCE);
    }
    followStop(done);
  };
  atProcessEnd(() => {
    for (const [worker, done] of [...live]) catchUp(worker, done);
  });
  const W = workerThreads.Worker.prototype as any;
  const terminate = W.terminate;
  W.terminate = function (this: any, ...args: unknown[]) {
    const done = live.get(this);
    if (done) catchUp(this, done);
    return terminate.apply(this, args);
  };
  const P = workerThreads.MessagePort.prototype as any;
  const dispatch = P[kHybridDispatch];
  let draining = 0;
  /** Ports holding arrivals the log has not delivered yet. */
  const waiting = new Set<Port>();

  /**
   * Messages that Node drained from a Worker's ports inside its exit turn when recording
   * (worker.drained) may have arrived earlier at replay, where the other thread ran at
   * another pace: they wait in their port's queue and Node's drain no longer sees them.
   * Delivered here, in the order the log gives, wherever it says a drained message is next.
   */
  const deliverDrained = () => {
    for (let again = true; again;) {
      again = false;
      for (const port of waiting) {
        if (s.takeCallback(port[kOp].op, Api['worker.drained'])) {
          deliver(port, takeArrival(port));
          again = true;
          break;
        }
      }
    }
  };
  const takeArrival = (port: Port): unknown[] => {
    const arrived = port[kOp].arrived as unknown[][];
    const first = arrived.shift()!;
    if (arrived.length === 0) waiting.delete(port);
    return first;
  };

  type PortState = { op: number; arrived: unknown[][] };
  /** A new op for the port `portOf` gives once it has arrivals: they queue until the log says they arrive. */
  const newState = (portOf: () => Port): PortState => {
    const state: PortState = { op: s.newOp(), arrived: [] };
    s.register(state.op, {
      tag: Tag.Callback,
      api: Api['worker.message'],
      repeat: true,
      what: 'a message port receiving',
      ready: () => state.arrived.length > 0,
      fire: () => deliver(portOf(), takeArrival(portOf())),
    });
    return state;
  };
  /** The port's op. */
  const opOf = (port: Port): PortState => (port[kOp] ??= newState(() => port));
  // This worker thread's own port to its parent, and its op until its first message (see
  // nodesStdioMessage). Recordings before workerEnvPort gave it its op at its first message.
  let envPort: Port = null;
  let envState: PortState | null = null;
  const reserveEnvOp = s.header.workerEnvPort === true ? () => (envState = newState(() => envPort)) : null;
  const deliver = (port: Port, [data, type, event, ports]: unknown[]) => {
    port[kCurrentlyReceivingPorts] = ports;
    receivedPorts(port, opOf);
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
    if (unseenClose(this, type)) return dispatch.call(this, data, type, event);
    if (this[kFromHooks] === true && type === 'message') return; // the live hooks thread's: the log has them
    if (envState !== null && nodesStdioMessage(this, data)) {
      envPort = this;
      this[kOp] = envState;
      envState = null;
    }
    const state = opOf(this);
    const arrival = [data, type, event, this[kCurrentlyReceivingPorts]];
    if (draining > 0) {
      deliverDrained();
      if (s.takeCallback(state.op, Api['worker.drained'])) return deliver(this, arrival);
    }
    state.arrived.push(arrival);
    waiting.add(this);
    s.wake();
  };
  ownPorts(opOf, reserveEnvOp);
  // A port the hooks thread sends to (see hooksPorts): its messages come from the log.
  const fromHooks = (port: Port) => {
    port[kFromHooks] = true;
    s.register(opOf(port).op, {
      tag: Tag.Callback,
      api: Api['hooks.message'],
      repeat: true,
      what: 'a port receiving from module.register() hooks',
      fire: (bytes) => dispatch.call(port, v8Module().deserialize(bytes as Uint8Array), 'message', undefined),
    });
  };
  const hooksMessages = s.header.hooksMessages === true;
  if (hooksMessages) markHooksPort = fromHooks;

  // receiveMessageOnPort: a message if the recorded call found one, taken from those that
  // arrived (waiting for it if the sender, replayed, has not sent it yet), none if it found none.
  const receive = workerThreads.receiveMessageOnPort;
  const loaderAnswer = replayLoaderAnswers(s, P, receive, hooksMessages ? fromHooks : null);
  (workerThreads as any).receiveMessageOnPort = function receiveMessageOnPort(port: Port) {
    if (!(port instanceof workerThreads.MessagePort)) return receive(port); // Node's own error
    if (askingLoaderHooks(receiveMessageOnPort)) return loaderAnswer(port, asyncLoaderRequest(receiveMessageOnPort));
    const state = opOf(port);
    if (!s.call(Api['port.receive'], [state.op], () => receive(port) !== undefined)) return undefined;
    s.passTurn(); // this thread's last output is written: the sender may write before it sends
    const since = original.dateNow();
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      if (state.arrived.length > 0) return { message: takeArrival(port)[0] };
      const got = receive(port);
      if (got !== undefined) return got;
      for (const done of live.values()) followStop(done); // the sender may be a worker that stopped
      if (original.dateNow() - since > CATCH_UP_MS) {
        s.mismatch(
          `called receiveMessageOnPort and waited ${CATCH_UP_MS / 1000} s for the message the recorded call received`,
        );
      }
      original.Atomics.wait(nap, 0, 0, 1);
    }
  };

  /** Whether each worker (by its exit's op) has really stopped: its exit can run. */
  const stopped = new Map<number, () => boolean>();
  const nested = [Api['worker.drained']];
  patchWorker(
    s,
    (worker, handle, shared) => {
      const op = s.newOp();
      workerPorts(worker, opOf);
      const exit = handle.onexit;
      let exited: unknown[] | null = null;
      const done = shared ? new Int32Array(shared) : null;
      if (done) live.set(worker, done);
      handle.onexit = (...args: unknown[]) => {
        live.delete(worker);
        if (done) followStop(done);
        exited = args;
        s.wake();
      };
      stopped.set(op, () => exited !== null);
      s.register(op, {
        tag: Tag.Callback,
        api: Api['worker.exit'],
        repeat: false,
        what: `worker thread ${worker.threadId} running`,
        // With the exits the recording ran in the same batch (see exitJoins).
        ready: () =>
          exited !== null &&
          s.joinedAfterNext(Api['worker.exit'], isJoinedExit, nested).every((o) => stopped.get(o)?.() ?? true),
        fire: () => {
          stopped.delete(op);
          exitJoins();
          draining++;
          try {
            deliverDrained();
            exit.apply(handle, exited!);
          } finally {
            draining--;
          }
          s.runJoined(Api['worker.exit'], isJoinedExit);
        },
      });
    },
    mainLogOf(s.file.path),
  );
}

/**
 * Hands `word` to the thread Node starts with `message` (its LOAD_SCRIPT message). Node hands
 * its own threads their workerData as an argument, not through worker_threads: the word goes
 * in the environment data, which the thread sets first (read by unwrapWorkerData).
 */
function withEnvironmentData(message: unknown, word: Record<string, unknown>): void {
  const m = message as { environmentData?: Map<unknown, unknown> };
  m.environmentData = new Map(m.environmentData ?? []);
  m.environmentData.set(WRAPPED, word);
}

/**
 * An asynchronous request of Node's module loader to its hooks thread: a null-prototype
 * `{ method, args, port }`, the port for its answer (internal/modules/esm/hooks).
 */
function isAsyncLoaderRequest(message: unknown): boolean {
  return (
    message !== null &&
    typeof message === 'object' &&
    Object.getPrototypeOf(message) === null &&
    typeof (message as { method?: unknown }).method === 'string' &&
    (message as { port?: unknown }).port instanceof workerThreads.MessagePort
  );
}

/** How long a replay waits for an answer of the live hooks thread before it reports a divergence. */
const LOADER_LIMIT_MS = 60_000;
/** How long it waits, once the hooks thread has answered every request but not the one due. */
const ANSWERED_LIMIT_MS = 1000;

/**
 * Replay: Node's module loader and its hooks thread (see askingLoaderHooks). Returns what
 * the loader's poll of `port` gets (`async`: from an asynchronous request).
 */
function replayLoaderAnswers(
  s: ReplaySession,
  P: any,
  receive: (port: Port) => unknown,
  fromHooks: ((port: Port) => void) | null,
): (port: Port, async: boolean) => unknown {
  const loaderAnswers = s.header.loaderAnswers === true;
  let loaderLock: Int32Array | null = null;
  const kept = new Map<Port, unknown>();
  let forceAnswers = false;
  // Asynchronous requests the loader sent its hooks thread (each with a port for its answer),
  // and their answers it took: when every answer has come and none is the one due, the due one
  // never will (see watch).
  let asked = 0;
  let taken = 0;
  const post = P.postMessage;
  P.postMessage = function postMessage(this: Port, message: unknown) {
    if (loaderLock !== null && isAsyncLoaderRequest(message)) asked++;
    const lock = loaderLock === null ? loaderHooksLock(message) : null;
    if (lock !== null) {
      loaderLock = lock;
      // Node makes that thread itself (not through worker_threads.Worker), in the recorded
      // environment, in which rewind recorded: left to it, it would record again, into the
      // recording. It is told to run unrecorded instead: its own log cannot be replayed yet,
      // since it polls its port for the loader's requests through Node's internal
      // receiveMessageOnPort (node:internal/modules/esm/worker), which rewind does not see,
      // racing their 'message' events (a limit, see README).
      withEnvironmentData(message, { off: true });
      // Node's own port to that thread: its stdio and errors come from the log (see recordWorkers).
      fromHooks?.(this);
    }
    return post.apply(this, arguments);
  };
  const wake = () => {
    original.Atomics.add(loaderLock!, 0, 1);
    original.Atomics.notify(loaderLock!, 0);
  };
  // Never silent: an answer the recording took that the live hooks thread never gives (its
  // hooks answer otherwise now) would leave the loader, and the replay, waiting forever. Once
  // every request the loader made has its answer, none the one due, and nothing moved for a
  // second (the module code an answer lets run may still make requests), it never will come;
  // a hooks thread that answers nothing at all is given a minute.
  const keyed = s.header.hooksMessages === true;
  const kinds = s.header.answerKinds === true;
  let watching: NodeJS.Timeout | null = null;
  const watch = () => {
    if (watching !== null) return;
    let at = [s.n, asked, kept.size].join();
    let since = original.dateNow();
    watching = original.setInterval(() => {
      const due = s.nextCall(Api['loader.answer']);
      const now = [s.n, asked, kept.size].join();
      if (now !== at || due === undefined || debuggerMayHold()) {
        at = now;
        since = original.dateNow();
        if (due === undefined) {
          original.clearInterval(watching!);
          watching = null;
        }
        return;
      }
      const given = [...kept.values()].map((a) => answerKey(a as { message: unknown }, kinds));
      const want = (due.args as unknown[] | undefined)?.[1];
      const answered = keyed && asked === taken + kept.size && !given.some((k) => k[1] === want);
      const waited = original.dateNow() - since;
      if (waited < (answered ? ANSWERED_LIMIT_MS : LOADER_LIMIT_MS)) return;
      original.clearInterval(watching!);
      const names = given.map((k) => k[0]).join(', ') || 'nothing';
      s.mismatch(
        answered
          ? `the module loader's hooks thread (it runs live at replay) has answered every request, none as the ` +
              `recording has it here (answers for ${names}): its hooks answer otherwise now`
          : `waited ${LOADER_LIMIT_MS / 1000} s for the module loader's hooks thread (it runs live at replay) ` +
              `to give this answer; it gave ${names}`,
        null,
      );
    }, 250);
    watching.unref();
  };
  s.onWait = (forTurn: boolean) => {
    if (loaderAnswers && loaderLock !== null && s.nextCallIs(Api['loader.answer'])) watch();
    if (!loaderAnswers || kept.size === 0 || loaderLock === null) return;
    // The loader was told "nothing yet": its answer's place has come, wake it to ask again.
    if (!forTurn && s.nextCallIs(Api['loader.answer'])) return wake();
    // Or the replay cannot go on without it (its module code makes the next turn's op, or
    // asks for the next value): the loader takes it now, and what differs from the
    // recording is reported there rather than both waiting for each other.
    forceAnswers = true;
    wake();
  };
  // (Recordings before hooksMessages logged no key with each answer: `keyed` false.)
  const loaderAnswer = (port: Port, async: boolean): unknown => {
    if (!loaderAnswers) return receive(port);
    const answer = (kept.get(port) ?? receive(port)) as { message: unknown } | undefined;
    kept.delete(port);
    if (answer === undefined) return undefined;
    const key = keyed ? answerKey(answer, kinds) : undefined;
    const next = s.nextCall(Api['loader.answer']);
    // Too early: turns the recording ran before this answer come first, or another answer does.
    const early = next === undefined || (key !== undefined && (next.args as unknown[] | undefined)?.[1] !== key[1]);
    if (async && loaderLock !== null && !forceAnswers && early) {
      kept.set(port, answer);
      if (next !== undefined) watch();
      return undefined;
    }
    if (async) taken++;
    s.call(Api['loader.answer'], key, () => true);
    // The answer now due may be one kept back: its request polls again only when woken.
    if (kept.size > 0 && loaderLock !== null && s.nextCallIs(Api['loader.answer'])) wake();
    return answer;
  };
  return loaderAnswer;
}

/**
 * Replaces worker_threads.Worker with a subclass that hands each new Worker (and its native
 * handle, where Node's onexit lives) to `patch`. At replay the new thread is told to replay
 * too, from its own log next to `replayOf` (handed over in workerData): the program's
 * environment is the recorded one, in which rewind recorded.
 */
function patchWorker(
  s: RecordSession | ReplaySession,
  patch: (worker: any, handle: any, shared: SharedArrayBuffer | null) => void,
  replayOf?: string,
): void {
  const Real = workerThreads.Worker;
  // Named by its key, as V8 names a receiver in stack frames ("Worker.emit"): Node's name.
  const RewindWorker = {
    Worker: class extends Real {
      constructor(filename: string | URL, options?: any) {
        const { env, handed } = workerEnv(options, replayOf !== undefined);
        // Handed over inside its workerData (see unwrapWorkerData): recording, the worker's log
        // tail; replaying, the flag it raises when it has replayed its log.
        const shared = handed ? new SharedArrayBuffer(replayOf ? DONE_BYTES : Tail.BYTES) : null;
        const field = replayOf ? 'done' : 'tail';
        if (shared && replayOf && beforeWorkerWithoutClient && original.Atomics.load(ownClientFlag(), 0) === 0)
          beforeWorkerWithoutClient();
        if (shared) {
          s.outputOrder = outputOrder ??= replayOf
            ? ticketTable(replayOf, outputTicket)
            : new Int32Array(new SharedArrayBuffer(4));
          memoryOrder ??= replayOf ? ticketTable(replayOf, atomicsTicket) : new Int32Array(new SharedArrayBuffer(8));
        }
        const wrapped = {
          [field]: shared,
          replay: replayOf,
          order: outputOrder?.buffer,
          memory: memoryOrder?.buffer,
          debugged: replayOf ? debuggerMayHold() : undefined,
          client: replayOf && debuggerMayHold() ? ownClientFlag().buffer : undefined,
          until: replayOf && debuggerMayHold() ? (workerUntil ?? undefined) : undefined,
          handed: handed && Object.keys({ ...handed.restore, ...handed.steering }).length > 0 ? handed : undefined,
          data: options?.workerData,
        };
        const more = shared ? { workerData: { [WRAPPED]: wrapped } } : {};
        super(filename, { ...options, env, ...more });
        const key = workerField(this, 'kHandle');
        if (key) patch(this, (this as any)[key], shared);
      }
    },
  }.Worker;
  (workerThreads as any).Worker = RewindWorker;
}

/**
 * The globals that make ports without node:worker_threads (MessageChannel, MessagePort,
 * BroadcastChannel: Node's lazy globals, which load MessagePort's module alone) load
 * worker_threads first, so that its install below has patched MessagePort before any port
 * exists. Read from inside Node's own lazy global (Node 22 and later make it natively), the
 * global could not be read or replaced again; rewind's own getter can be.
 */
function portGlobalsLoadWorkerThreads(): void {
  for (const name of ['MessageChannel', 'MessagePort', 'BroadcastChannel'] as const) {
    const settle = (value: unknown) =>
      Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
    // Deleted first: redefined in place, Node 22's and 24's native lazy global loads its module.
    if (!Reflect.deleteProperty(globalThis, name)) continue;
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get() {
        const value = builtinModule<typeof workerThreads>('node:worker_threads')[name];
        // The install may have set it already (MessageChannel: the one that gives ports their ops).
        if (Object.getOwnPropertyDescriptor(globalThis, name)?.get !== undefined) settle(value);
        return (globalThis as Record<string, unknown>)[name];
      },
      set: settle,
    });
  }
}

export const workersSource: Source = {
  name: 'workers',
  install(s: Session) {
    // worker_threads (with node:stream, ~1.3 ms) is patched as it loads. Where MessagePort's
    // module is loaded already (a worker thread, an earlier preload), ports may exist: now.
    if (nodeLoaded('internal/worker/io')) builtinModule('node:worker_threads');
    else portGlobalsLoadWorkerThreads();
    // As node:module loads (it adds register to the CommonJS loader's class: see cjsLoader),
    // before the program has it, by require or an ESM named import; before worker_threads loads.
    if (s.mode === 'record' || s.header.hooksMessages === true) whenLoaded('module', hooksPorts);
    whenLoaded('worker_threads', () => (s.mode === 'record' ? recordWorkers(s) : replayWorkers(s)));
  },
};
