// The one place that defines what a rewind trace looks like on disk.
//
// File layout:
//   "RWND"            4-byte signature
//   u8                format version (FORMAT_VERSION)
//   varint + bytes    the header, msgpack-encoded (TraceHeader)
//   chunk*            u32le payload length, u32le crc32 of (sequence number, payload),
//                     u32le sequence number (0, 1, 2, ...: a duplicated, missing or
//                     reordered chunk is corruption), payload. Format 1 (fs recorded
//                     at the public API, no sequence numbers) is refused.
//   From format 3 a payload may be compressed: u8 0 (no event starts with it), varint
//   length of the events, their compressed bytes: deflate-raw in formats 3 and 4, brotli
//   from format 5 (see compress.ts). Format 2 logs (never compressed) are read as they are.
//   From format 4 (the header's formatVersion, which says how the events were encoded; the
//   version byte says how chunks are stored, and `rewind redact` rewrites only those) the
//   operation number of a turn or a stream write is the zigzag difference from the previous
//   such event's: a run of turns of operations made one after another costs a byte each
//   instead of three (bench 2's 10^5 turns: 1.86 -> 0.39 B a turn compressed, deflate
//   4.2 -> 1.1 ms). Operation numbers are counters below 2^52.
//   From format 6 the header has no perfNowBase and timeOrigin: they are the reading
//   perf.origin, logged where the program first reads the perf clock (sources/clock.ts), so
//   that a program that never uses perf_hooks does not load it (~1 ms of every start).
//   Whoever reads that event keeps it beside the header (reader.ts callRead, clocks.ts perfOriginOf).
//
// A chunk's payload is a sequence of events. Every event starts with a one-byte tag;
// the hot events (clock readings, timer turns) are hand-encoded varints so recording
// costs a few nanoseconds and a few bytes; rarer events carry a msgpack payload.
// A process killed mid-write leaves a short last chunk: its complete events are kept.

export const MAGIC = Buffer.from('RWND', 'latin1');
export const FORMAT_VERSION = 6;
/** Whether a log's turns and stream writes name their operation as a difference from the last one's (format 4 on). */
export const opsAsDeltas = (h: { formatVersion: number }): boolean => h.formatVersion >= 4;
/** The oldest format this rewind reads. */
export const OLDEST_FORMAT_VERSION = 2;
export const CHUNK_HEADER_BYTES = 12;
/**
 * Upper bound for a chunk (the writer's are 64 KiB, or one large event: a socket read of up
 * to 64 KiB, a msgpack payload of a file read); anything larger is corruption.
 */
export const MAX_CHUNK_BYTES = 1 << 30;
/** The writer's chunks of many events are at most this large (64 KiB and its slack). */
export const MAX_TAIL_CHUNK_BYTES = 64 * 1024 + 64;
/** Upper bound for the msgpack header. */
export const MAX_HEADER_BYTES = 1 << 24;
/** A worker thread's log: `<program>-<pid>-t<threadId>.rwnd`, next to its process's (sources/workers.ts). */
export const WORKER_LOG = /-(\d+)-t(\d+)\.rwnd$/;

/** Event tags. Numbers are part of the format: never renumber, only add. */
export const Tag = {
  // Wall clock readings (epoch ms): zigzag varint delta from the previous wall reading.
  DateNow: 1,
  DateNew: 2,
  DateString: 3,
  // Monotonic readings (ns since the session's base): varint delta from the previous one.
  PerfNow: 4,
  Hrtime: 5,
  HrtimeBigint: 6,
  Uptime: 7,
  // Random values.
  RandomBytes: 16, // varint n, n bytes
  RandomFill: 17, // varint n, n bytes
  RandomUUID: 18, // 16 bytes
  RandomInt: 19, // zigzag varint
  GetRandomValues: 20, // varint n, n bytes
  // A call to the outside world (I/O): varint api, u8 status (0: started, its result comes
  // in a later turn; 1: returned; 2: threw), varint n + n bytes msgpack arguments, and for
  // status 1 and 2, varint n + n bytes msgpack value. Logged where the program made the
  // call; at replay the arguments are checked against it.
  Call: 24,
  // A result of any other synchronous call: varint api, varint n, n bytes msgpack.
  Value: 31,
  // Turns: varint op id (ops are numbered from 1 in creation order), varint µs since the previous turn.
  Timeout: 32,
  Interval: 33,
  Immediate: 34,
  // A callback turn with a payload: op delta, µs delta, varint api, varint n, n bytes msgpack.
  Callback: 35,
  // A signal delivered to the process: µs delta, varint n, signal name.
  Signal: 36,
  // Bytes arrived on a stream handle (socket, pipe, tty): op delta, µs delta, zigzag varint
  // nread (> 0: that many bytes follow; < 0: a libuv error code, UV_EOF at the end).
  StreamRead: 37,
  // Output: u8 fd, varint n, n bytes.
  Write: 48,
  // Large output: u8 fd, varint total length, 8-byte digest, varint n, first n bytes.
  WriteDigest: 49,
  // A write to a stream handle: varint op, varint length, u32le crc32 of the bytes,
  // zigzag varint status, u8 flags (1: completed asynchronously, in a later turn).
  StreamWrite: 50,
  // Uncaught exception / unhandled rejection: varint n, msgpack FailureInfo.
  Failure: 56,
  // How the process ended: varint n, msgpack EndInfo.
  End: 57,
} as const;
export type TagValue = (typeof Tag)[keyof typeof Tag];

/**
 * API ids used by Call, Value and Callback events. Part of the format: only add, never
 * renumber. Grouped by source; gaps leave room inside each group.
 */
export const Api = {
  'crypto.randomBytes': 1,
  'crypto.randomFill': 2,
  'crypto.randomInt': 3,
  // an API rewind cannot record was used (args: its name); reported once per name
  'rewind.unsupported': 5,
  // stream handles (sockets, pipes, ttys) and their requests
  'stream.writeDone': 10,
  'stream.shutdown': 11,
  'handle.close': 12,
  'net.connect': 13,
  'net.connection': 14,
  'net.bind': 15,
  'net.listen': 16,
  'net.getsockname': 17,
  'net.getpeername': 18,
  'net.open': 19,
  // tls (TLSWrap): handshake callbacks, session properties, calls with a result
  'tls.callback': 20,
  'tls.get': 21,
  'tls.call': 22,
  // a TLS callback made inside a call from JS (ssl.start()), not from the event loop
  'tls.nested': 23,
  // child processes
  'process.spawn': 30,
  'process.exit': 31,
  'process.kill': 32,
  'child_process.spawnSync': 33,
  'child_process.execSync': 34,
  'child_process.execFileSync': 35,
  // dns
  'dns.lookup': 40,
  'dns.lookupService': 41,
  'dns.resolve': 42,
  'dns.reverse': 43,
  'dns.getServers': 44,
  // work off the main thread whose result is recomputed at replay: its completion turns
  'zlib.done': 45,
  'crypto.done': 46,
  'wasm.done': 47,
  // worker threads: a message arriving on a port, one drained by a Worker's exit, the exit
  'worker.message': 48,
  'worker.drained': 49,
  'worker.exit': 67,
  // os
  'os.hostname': 50,
  'os.cpus': 51,
  'os.freemem': 52,
  'os.totalmem': 53,
  'os.loadavg': 54,
  'os.networkInterfaces': 55,
  'os.uptime': 56,
  'os.userInfo': 57,
  'os.homedir': 58,
  'os.tmpdir': 59,
  'os.availableParallelism': 60,
  'os.getPriority': 61,
  'os.release': 62,
  'os.version': 63,
  'os.machine': 64,
  'os.type': 65,
  'os.setPriority': 66,
  // fs: calls into Node's fs binding (format 2; format 1 recorded the public API). The
  // callback, sync and promise forms of one function share an id (the Call record says
  // which form); see sources/fs/binding.ts. Only format 1 used fs.appendFile, fs.cp,
  // fs.glob, fs.lchmod, fs.truncate and the fs.handle ids but fs.handle.close.
  'fs.access': 100,
  'fs.appendFile': 101,
  'fs.chmod': 102,
  'fs.chown': 103,
  'fs.close': 104,
  'fs.copyFile': 105,
  'fs.cp': 106,
  'fs.exists': 107,
  'fs.fchmod': 108,
  'fs.fchown': 109,
  'fs.fdatasync': 110,
  'fs.fstat': 111,
  'fs.fsync': 112,
  'fs.ftruncate': 113,
  'fs.futimes': 114,
  'fs.lchown': 115,
  'fs.link': 116,
  'fs.lstat': 117,
  'fs.lutimes': 118,
  'fs.mkdir': 119,
  'fs.mkdtemp': 120,
  'fs.open': 121,
  'fs.opendir': 122,
  'fs.read': 123,
  'fs.readdir': 124,
  'fs.readFile': 125,
  'fs.readlink': 126,
  'fs.readv': 127,
  'fs.realpath': 128,
  'fs.rename': 129,
  'fs.rm': 130,
  'fs.rmdir': 131,
  'fs.stat': 132,
  'fs.statfs': 133,
  'fs.symlink': 134,
  'fs.truncate': 135,
  'fs.unlink': 136,
  'fs.utimes': 137,
  'fs.write': 138,
  'fs.writeFile': 139,
  'fs.writev': 140,
  'fs.lchmod': 141,
  'fs.dir.read': 142,
  'fs.dir.close': 143,
  'fs.watch': 144,
  'fs.watch.change': 145,
  'fs.watchFile': 146,
  'fs.watchFile.change': 147,
  'fs.glob': 148,
  // FileHandle (fs/promises open)
  'fs.handle.read': 160,
  'fs.handle.write': 161,
  'fs.handle.readFile': 162,
  'fs.handle.writeFile': 163,
  'fs.handle.appendFile': 164,
  'fs.handle.stat': 165,
  'fs.handle.truncate': 166,
  'fs.handle.sync': 167,
  'fs.handle.datasync': 168,
  'fs.handle.chmod': 169,
  'fs.handle.chown': 170,
  'fs.handle.utimes': 171,
  'fs.handle.close': 172,
  'fs.handle.readv': 173,
  'fs.handle.writev': 174,
  // clocks Node captured before the preload: node:test's durations, perf_hooks' readings
  'test.duration': 300,
  'perf.eventLoopUtilization': 301,
  'perf.nodeTiming': 302,
  'perf.histogram': 303,
  'perf.entryTime': 304,
  'perf.observer': 305,
  /** [perfNowBase, timeOrigin] (format 6 on): read as the program first reads the perf clock. */
  'perf.origin': 306,
  // process and V8 readings
  'process.memoryUsage': 310,
  'process.memoryUsage.rss': 311,
  'process.cpuUsage': 312,
  'process.resourceUsage': 313,
  'process.constrainedMemory': 314,
  'process.availableMemory': 315,
  'process.umask': 316,
  'process.getuid': 317,
  'process.geteuid': 318,
  'process.getgid': 319,
  'process.getegid': 320,
  'process.getgroups': 321,
  'v8.getHeapStatistics': 325,
  'v8.getHeapSpaceStatistics': 326,
  'v8.getHeapCodeStatistics': 327,
  'process.report.getReport': 328,
  'process.report.writeReport': 329,
  'process.loadEnvFile': 330,
  'process.chdir': 331,
  'process.credentials': 332,
  // key material OpenSSL makes from its own randomness (sources/crypto-keys.ts)
  'crypto.generateKeyPairSync': 550,
  'crypto.generateKeyPair': 551,
  'crypto.generateKeySync': 552,
  'crypto.generateKey': 553,
  'crypto.generatePrimeSync': 554,
  'crypto.generatePrime': 555,
  'crypto.sign': 556,
  'crypto.sign.done': 557,
  'crypto.Sign.sign': 558,
  'crypto.publicEncrypt': 559,
  'crypto.ECDH.generateKeys': 560,
  'crypto.DiffieHellman.generateKeys': 561,
  'crypto.createDiffieHellman': 562,
  // WebCrypto's generateKey (payload: each key's type, algorithm, usages, extractability and material)
  'crypto.subtle.generateKey': 563,
  // fs binding functions with no public counterpart above (Node 22+: fs.cpSync's native parts)
  'fs.cpSyncCheckPaths': 200,
  'fs.cpSyncOverrideFile': 201,
  'fs.cpSyncCopyDir': 202,
  'fs.internalModuleStat': 203,
  // Node 26: recursive readdir in one native walk, and the one-round-trip jobs of
  // fs.readFile / fs.writeFile / fs.cp (open, read or write, close in one thread-pool trip)
  'fs.readdirRecursive': 204,
  'fs.readFileJob': 205,
  'fs.writeFileJob': 206,
  'fs.cpDirJob': 207,
  // a query of an http.Server's native connection list (args: which query and its
  // arguments; value: the parsers it answered, by their numbers; sources/http-connections.ts)
  'http.connections': 570,
  // native libraries behind the membrane (sources/membrane.ts): an addon loaded (args: its
  // name and file; result: its exports as the membrane sees them, or why it runs live)
  'native.load': 400,
  // a call into a library (args: which library, what was called on what, a summary of the arguments)
  'native.call': 401,
  // the library called a function of the program's during a call (a nested event)
  'native.nested': 402,
  // the library called a function of the program's from the event loop (a turn)
  'native.callback': 403,
  // a promise the library returned settled
  'native.settle': 404,
  // the library handed over something the log cannot hold: replay refuses it
  'native.unservable': 405,
  // node:sqlite (built in, no dlopen) loaded: its exports as the membrane sees them
  'sqlite.load': 410,
  // dgram (UDP handles): a request with a status (bind, connect, options; args name it),
  // a datagram sent (length and crc32 checked, never sent at replay), its completion, one received
  'dgram.call': 420,
  'dgram.send': 421,
  'dgram.sent': 422,
  'dgram.message': 423,
  // a handle (payload: its kind) passed over an IPC pipe with the bytes just read (cluster workers' connections)
  'ipc.handle': 430,
  // Node's compile cache (sources/compile-cache.ts): what enabling it answered, its directory
  'module.enableCompileCache': 440,
  'module.getCompileCacheDir': 441,
  // V8's code cache through vm (sources/code-cache.ts): [produced, rejected, bytes], and createCachedData()'s bytes
  'vm.cachedData': 442,
  'vm.createCachedData': 443,
  // Node's module loader took an answer from its module.register() hooks thread (sources/workers.ts)
  'loader.answer': 444,
  // The file a require() found (or false), where it looked in a place the program changed during
  // the run (sources/fs/loader.ts): Node's loader checks it with its own, unrecorded stat
  'module.findPath': 445,
  // A module loader's asynchronous fs call completed (the ESM loader reads modules with
  // fs/promises): not its data (module loading is not an input), but when, which orders
  // an import() against the program's other turns (sources/fs/loader.ts)
  'loader.fs': 446,
  // A module loader's realpath of a path the program changed during the run: its answer, whole
  // (its lstats fill Node's realpath cache, which a findPath served from the log never filled)
  'module.realpath': 447,
  // A message to a port the program sent its module.register() hooks' thread (payload: its
  // structured-clone bytes, v8.serialize): that thread runs live at replay (sources/workers.ts)
  'hooks.message': 520,
  // Threads (loop: 340–379). A Value event before an output of a process with worker
  // threads: the output's place among all its threads' outputs (sources/workers.ts).
  'thread.outputOrder': 340,
  // A pass-through process (header.passThrough) started a child (payload: its pid), or saw it exit.
  'passThrough.spawn': 341,
  'passThrough.exit': 342,
  // Shared memory (380–389): what an Atomics operation on a SharedArrayBuffer found there
  // (a load, or the old value of a read-modify-write), how an Atomics.wait returned, how
  // many threads an Atomics.notify woke (sources/shared-memory.ts).
  'atomics.read': 380,
  'atomics.wait': 381,
  'atomics.notify': 382,
  // receiveMessageOnPort: whether a message was waiting (args: the port's op); the message
  // itself crosses again at replay (sources/workers.ts)
  'port.receive': 383,
} as const;
export type ApiName = keyof typeof Api;
const API_NAMES = new Map<number, string>(Object.entries(Api).map(([k, v]) => [v, k]));
export const apiName = (id: number): string => API_NAMES.get(id) ?? `api#${id}`;

/**
 * The payload of a Call event. `args` is a small summary of the arguments the program
 * passed (paths, addresses, sizes, digests), compared at replay; `result` is present for
 * synchronous calls.
 */
export interface CallRecord {
  args: unknown;
  /** 0: an asynchronous call started (its result comes in a later turn); 1: it returned `value`; 2: it threw `value`. */
  status: 0 | 1 | 2;
  value?: unknown;
}

export type EventKind = 'clock' | 'random' | 'value' | 'call' | 'turn' | 'signal' | 'output' | 'failure' | 'end';

export interface TagInfo {
  kind: EventKind;
  /** What the program called, as shown in listings and divergence reports. */
  call: string;
}

export const TAGS: Record<number, TagInfo> = {
  [Tag.DateNow]: { kind: 'clock', call: 'Date.now()' },
  [Tag.DateNew]: { kind: 'clock', call: 'new Date()' },
  [Tag.DateString]: { kind: 'clock', call: 'Date()' },
  [Tag.PerfNow]: { kind: 'clock', call: 'performance.now()' },
  [Tag.Hrtime]: { kind: 'clock', call: 'process.hrtime()' },
  [Tag.HrtimeBigint]: { kind: 'clock', call: 'process.hrtime.bigint()' },
  [Tag.Uptime]: { kind: 'clock', call: 'process.uptime()' },
  [Tag.RandomBytes]: { kind: 'random', call: 'crypto.randomBytes()' },
  [Tag.RandomFill]: { kind: 'random', call: 'crypto.randomFillSync()' },
  [Tag.RandomUUID]: { kind: 'random', call: 'crypto.randomUUID()' },
  [Tag.RandomInt]: { kind: 'random', call: 'crypto.randomInt()' },
  [Tag.GetRandomValues]: { kind: 'random', call: 'crypto.getRandomValues()' },
  [Tag.Call]: { kind: 'call', call: 'an I/O call' },
  [Tag.Value]: { kind: 'value', call: 'a synchronous call' },
  [Tag.Timeout]: { kind: 'turn', call: 'setTimeout callback' },
  [Tag.Interval]: { kind: 'turn', call: 'setInterval callback' },
  [Tag.Immediate]: { kind: 'turn', call: 'setImmediate callback' },
  [Tag.Callback]: { kind: 'turn', call: 'callback' },
  [Tag.Signal]: { kind: 'signal', call: 'signal' },
  [Tag.StreamRead]: { kind: 'turn', call: 'stream read' },
  [Tag.Write]: { kind: 'output', call: 'write' },
  [Tag.WriteDigest]: { kind: 'output', call: 'write' },
  [Tag.StreamWrite]: { kind: 'output', call: 'stream write' },
  [Tag.Failure]: { kind: 'failure', call: 'uncaught exception' },
  [Tag.End]: { kind: 'end', call: 'process exit' },
};

export interface StdioInfo {
  isTTY: boolean;
  /**
   * What the fd was, as Node tells (a terminal, a pipe or socket, a file): replay gives the
   * program a stream of the same class (stdin: an fd of that kind; stdout, stderr: that class
   * made over the replay's fd). Absent from older recordings' stdout and stderr: Node's stream
   * of the replay's kind, as then.
   */
  kind?: 'tty' | 'pipe' | 'file';
  columns?: number;
  rows?: number;
  colorDepth?: number;
  /** stdout, stderr: the fd was /dev/null (a child spawned with stdio 'ignore'): what it printed went nowhere. */
  discarded?: boolean;
}

/** Everything replay needs to re-create the process and check it is the same program. */
export interface TraceHeader {
  formatVersion: number;
  rewindVersion: string;
  nodeVersion: string;
  platform: string;
  arch: string;
  pid: number;
  ppid: number;
  /** 0 for a process's main thread, else the worker thread's id (older logs: absent). */
  threadId?: number;
  argv: string[];
  execArgv: string[];
  cwd: string;
  env: Record<string, string>;
  title: string;
  /**
   * How many bytes of process.title the OS kept (libuv's room: the original argv's). Read
   * back from the log at replay, whose process has another argv.
   */
  titleCapacity?: number;
  /** The entry module (argv[1]) or the -e/-p source, and its sha256. */
  entry: { path: string | null; sha256: string };
  /** Clock bases: every reading is logged as a delta from these. */
  startWall: number; // Date.now() at start
  monoBase: [number, number]; // process.hrtime() at start
  /** performance.now() at monoBase: in the header up to format 5; from 6 the perf.origin reading. */
  perfNowBase?: number;
  uptimeBase: number; // process.uptime() at start
  /** performance.timeOrigin: as perfNowBase. */
  timeOrigin?: number;
  /** Seed of the Math.random generator (4 × u32). */
  randomSeed: [number, number, number, number];
  /** Recorded with `--chaos`: the seed the schedule was perturbed with (replay ignores it). */
  chaos?: { seed: number };
  /** Recorded with `--schedule`: where the target order came from, and how many turns it has (replay ignores it). */
  schedule?: { from: string; turns: number };
  /** HTTP servers' connections were read for Node's HTTP parser as its native consumer does (sources/streams.ts). */
  httpConsume?: boolean;
  /** HTTP servers' native connection lists answered from the log (sources/http-connections.ts). */
  httpConnections?: boolean;
  /** crypto's thread-pool jobs' completions are turns of the jobs, not of the public calls (sources/crypto-jobs.ts). */
  cryptoJobs?: boolean;
  /** Where Node's module loader took each answer of its hooks thread is logged (sources/workers.ts). */
  loaderAnswers?: boolean;
  /** Messages from module.register() hooks to the program's ports are logged whole (sources/workers.ts). */
  hooksMessages?: boolean;
  /** Each loader answer's key says whether it answers a resolve or a load (sources/workers.ts). */
  answerKinds?: boolean;
  /** A worker thread's own port to its parent (Node's stdio messages) took its op as the thread started (sources/workers.ts). */
  workerEnvPort?: boolean;
  stdio: { stdin: StdioInfo; stdout: StdioInfo; stderr: StdioInfo };
  /** The process was forked with an IPC channel (Node removes the variables that say so). */
  ipc?: { serialization: 'json' | 'advanced' };
  /** A cluster worker (Node removes NODE_UNIQUE_ID, which says so, before the preload runs): its id. */
  clusterWorker?: number;
  /**
   * Node internals rewind could not reach when recording (`node --permission`, a renamed
   * internal), and what went unrecorded because of each: such a recording is refused at replay.
   */
  missingInternals?: { name: string; why: string; affects: string }[];
  /**
   * A package manager's own process (npm, npx...): only what it wrote and when it started
   * and saw end the processes it ran are recorded, so that replaying the program it ran can
   * print its lines around it. Not replayable itself.
   */
  passThrough?: boolean;
  /** A redacted copy (`rewind redact`, `record --redact`): the rules, and how many secrets were replaced. */
  redacted?: { rules: string[]; secrets: number };
}

export interface FailureInfo {
  /** A failed test (reported by a test runner integration) does not end the process. */
  origin: 'uncaughtException' | 'unhandledRejection' | 'test';
  name: string;
  message: string;
  stack: string;
  /** The failed test's full name, for origin 'test'. */
  test?: string;
}

export interface EndInfo {
  /** Exit code passed to the 'exit' event, or null when a signal ended the process. */
  code: number | null;
  signal: string | null;
  /**
   * 'exit' for process.exit(), 'natural' for an empty event loop, 'signal', 'uncaught';
   * 'terminated': a worker thread stopped by worker.terminate() or by its process ending
   * (written by the parent thread, see sources/workers.ts).
   */
  via: 'exit' | 'natural' | 'signal' | 'uncaught' | 'terminated';
  /**
   * The program process.execve started in the process's place (its path), whose ending this
   * is (sources/process.ts). Rewinds before it ignore the field: they call such an end
   * process.exit()'s.
   */
  execve?: string;
}

/** Output writes up to this size are logged verbatim, larger ones as a digest. */
export const WRITE_VERBATIM_MAX = 4096;
export const WRITE_DIGEST_HEAD = 64;
