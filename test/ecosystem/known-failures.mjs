// Workloads known not to replay faithfully yet, each with the work item it waits on and the
// cause as the suite found it. A listed workload that fails does not fail the suite; one that
// passes is reported ("known failure now faithful") so that its entry can go.
// `nodes`: only on these Node majors (default: all).
export const KNOWN_FAILURES = {
  jest: {
    waitsOn: 'fs at the binding level (graceful-fs / Jest)',
    reason: "on the merged tree (fs at the binding level) the main process replays; a worker replayed alone diverges at its event 442: the recording has fs.exists('node:fs') → false, the replay calls fs.realpath. Before the fs binding work: graceful-fs replaces fs.closeSync with one that calls Date.now() (resetQueue); readFileSync and writeFileSync call closeSync inside, so while recording a Date.now() is logged inside each, and at replay, where the whole readFileSync comes from the log, that JS never runs: divergence at the first read (main: HasteMap._persist; workers: babel-jest's readFileSync(__filename))",
  },
  'vitest-forks': {
    waitsOn: 'fs binding: FileHandle close',
    reason: 'a fork worker replayed alone diverges at event 22: the recording has fs.handle.close callback (op #7), the replay went idle: op #7 already finished',
  },
  piscina: {
    waitsOn: 'worker threads',
    reason: "the main thread's replay diverges at event 26: the recording has worker.message callback (op #9), the program called performance.now()",
  },
  tsgo: {
    nodes: [22, 24],
    waitsOn: 'a recording of the program process.execve starts',
    reason: "from Node 22.15 tsgo's node wrapper calls process.execve(goBinary): the recording names it and the replay stops there with exit 70 (rewind does not record the program that replaces the process); on Node 20 it runs the binary with execFileSync and is faithful",
  },
};
