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
    reason: "on the merged tree (fs at the binding level) the main process replays; a worker replayed alone diverges at its event 442: the recording has fs.exists('node:fs') → false, the replay calls fs.realpath. Before the fs binding work: graceful-fs replaces fs.closeSync with one that calls Date.now() (resetQueue); readFileSync and writeFileSync call closeSync inside, so while recording a Date.now() is logged inside each, and at replay, where the whole readFileSync comes from the log, that JS never runs: divergence at the first read (main: HasteMap._persist; workers: babel-jest's readFileSync(__filename))",
  },
  'vitest-forks': {
    waitsOn: 'native membrane: a Buffer result must own its ArrayBuffer; process.memoryUsage() recorded (no owner yet: needs Api ids)',
    reason: "main process: vite's rollup, see vite-build. Each fork worker replayed alone: tinypool sends usedMemory: process.memoryUsage().heapUsed with every result, so the worker's IPC write differs",
  },
  'vitest-threads': {
    waitsOn: 'native membrane: a Buffer result must own its ArrayBuffer; process.memoryUsage() recorded',
    reason: "merged tree: the main thread diverges on vite's rollup AST buffer (see vite-build). Before the workers work: tinypool's terminated worker threads had logs without an end and the replay hung",
  },
  'vitest-vmForks': {
    waitsOn: 'native membrane: a Buffer result must own its ArrayBuffer; process.memoryUsage() recorded',
    reason: "main process: rollup's AST buffer (see vite-build); the fork worker replayed alone diverges on its IPC result message, which carries tinypool's usedMemory (process.memoryUsage().heapUsed)",
  },
  'vitest-vmThreads': {
    waitsOn: 'workers terminate/unref; native membrane Buffers',
    reason: 'the replay hangs (killed after 30 s) still on the merged tree: the worker thread tinypool terminates; rollup as in vite-build',
  },
  'vite-build': {
    waitsOn: 'native membrane: a Buffer result must own its ArrayBuffer (regression of the merge: faithful before it)',
    reason: "rollup's native parser (parseAsync through the addon membrane) returns the AST in a Buffer, and rollup reads new Uint32Array(buffer.buffer): at replay the membrane's Buffer is a view into a larger ArrayBuffer (the decoded log chunk), so rollup reads garbage ('Unknown node type', console.trace) and the run diverges",
  },
  tsgo: {
    nodes: [22, 24],
    waitsOn: 'process.execve recorded or refused (safety / children)',
    reason: "from Node 22.15 tsgo's node wrapper calls process.execve(goBinary): the recorded process is replaced, its log keeps only the header (no end), and nothing is said when recording; on Node 20 it runs the binary with execFileSync and is faithful",
  },
  jsdom: {
    waitsOn: 'vm realms',
    reason: "the page's scripts run in a vm context whose Date and Math.random are not recorded",
  },
};
