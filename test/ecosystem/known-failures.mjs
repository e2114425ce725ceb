// Workloads known not to replay faithfully yet, each with the work item it waits on and the
// cause as the suite found it. A listed workload that fails does not fail the suite; one that
// passes is reported ("known failure now faithful") so that its entry can go.
// `nodes`: only on these Node majors (default: all).
// `stops`: only stopping it where a debugger would (`replay --until`) is known to fail.
export const KNOWN_FAILURES = {
  'archiver-zip': {
    stops: true,
    waitsOn: 'replays under a debugger loading rewind as the CommonJS preload, as recordings do',
    reason:
      "under a debugger rewind loads as an --import, so Node runs a CommonJS entry from its ES module loader, inside a promise job: microtasks its top-level code queues (the async library's queue) run before its nextTicks (a stream's construct), the other way round from the recorded run; the replay reports a divergence at that point",
  },
  tsgo: {
    nodes: [22, 24],
    waitsOn: 'a recording of the program process.execve starts',
    reason:
      "from Node 22.15 tsgo's node wrapper calls process.execve(goBinary): the recording names it and the replay stops there with exit 70 (rewind does not record the program that replaces the process); on Node 20 it runs the binary with execFileSync and is faithful",
  },
};
