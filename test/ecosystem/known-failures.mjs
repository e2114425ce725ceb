// Workloads known not to replay faithfully yet, each with the work item it waits on and the
// cause as the suite found it. A listed workload that fails does not fail the suite; one that
// passes is reported ("known failure now faithful") so that its entry can go.
// `nodes`: only on these Node majors (default: all).
export const KNOWN_FAILURES = {
  'suite-node-test': {
    waitsOn: 'vm realms and node --test clocks',
    reason: "node --test's reporter prints duration_ms from the hrtime it captured at bootstrap, before the preload: real time at replay",
  },
  'node-test-folder': {
    waitsOn: 'vm realms and node --test clocks',
    reason: 'node --test duration_ms lines come from the real clock (see suite-node-test)',
  },
  'npm-test': {
    waitsOn: 'vm realms and node --test clocks',
    reason: 'npm test runs node --test: duration_ms lines come from the real clock',
  },
  jest: {
    waitsOn: 'fs at the binding level (graceful-fs / Jest)',
    reason: "graceful-fs replaces fs.closeSync with one that calls Date.now() (resetQueue); readFileSync and writeFileSync call closeSync inside, so while recording a Date.now() is logged inside each, and at replay, where the whole readFileSync comes from the log, that JS never runs: divergence at the first read (main: HasteMap._persist; workers: babel-jest's readFileSync(__filename))",
  },
  'vitest-forks': {
    waitsOn: 'process.memoryUsage() recorded (no owner yet: needs Api ids)',
    reason: "tinypool's worker sends usedMemory: process.memoryUsage().heapUsed with every result: the worker's IPC write differs at replay",
  },
  'vitest-threads': {
    waitsOn: 'workers terminate/unref; process.memoryUsage() recorded',
    reason: "tinypool terminates its worker threads: their logs stop early (no end record); the replay prints 'the recording ends at event N' for a worker and then hangs instead of exiting",
  },
  'vitest-vmForks': {
    waitsOn: 'process.memoryUsage() recorded',
    reason: "the main process replays; each fork worker replayed alone diverges on its IPC result message, which carries tinypool's usedMemory (process.memoryUsage().heapUsed)",
  },
  'vitest-vmThreads': {
    waitsOn: 'workers terminate/unref',
    reason: 'as vitest-threads: the terminated worker thread has no end record and the replay hangs',
  },
  grpc: {
    waitsOn: 'native: http2',
    reason: '@grpc/grpc-js speaks HTTP/2, which is not recorded (rewind warns when recording)',
  },
  'udp-echo': {
    waitsOn: 'native: dgram',
    reason: 'UDP is not recorded; on Node 24 the replay even binds the real port (EADDRINUSE against the listener holding it)',
  },
  cluster: {
    waitsOn: 'native: cluster',
    reason: "cluster.fork() is not recorded; the workers' replays refuse it, the primary's diverges",
  },
  'better-sqlite3': {
    waitsOn: 'native addons',
    reason: 'the addon runs for real at replay: the first replay re-creates data.db (a side effect), the second then fails on the existing table',
  },
  'node-sqlite': {
    waitsOn: 'native: node:sqlite',
    reason: 'node:sqlite is not recorded: the replay opens and writes the database for real',
  },
  piscina: {
    waitsOn: 'workers terminate/unref',
    reason: "piscina terminates its worker threads: their logs are never flushed (0 events, no end), so the main thread's replay stops",
  },
  'pino-transport': {
    waitsOn: 'workers: SharedArrayBuffer / Atomics between threads (no owner yet)',
    reason: "thread-stream hands log lines to its worker through a SharedArrayBuffer (Atomics.load / Atomics.wait in wait.js's waitDiff): reads of shared memory are not recorded, so the worker's polling loop reads the clock another number of times at replay (divergence in the worker, or its log ends early)",
  },
  jsdom: {
    waitsOn: 'vm realms',
    reason: "the page's scripts run in a vm context whose Date and Math.random are not recorded",
  },
  tsgo: {
    waitsOn: "children's inherited stdio (20); process.execve recorded or refused (22.15+, 24)",
    reason: "tsgo's node wrapper runs the Go binary: on Node 20 with execFileSync and stdio 'inherit' (its output is not part of the replay); from 22.15 with process.execve, which replaces the recorded process: its log keeps only the header, with no warning when recording",
  },
};
