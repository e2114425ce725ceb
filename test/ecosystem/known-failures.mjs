// Workloads known not to replay faithfully yet, each with the work item it waits on and the
// cause as the suite found it. A listed workload that fails does not fail the suite; one that
// passes is reported ("known failure now faithful") so that its entry can go.
// `nodes`: only on these Node majors (default: all).
export const KNOWN_FAILURES = {
  tsgo: {
    nodes: [22, 24],
    waitsOn: 'a recording of the program process.execve starts',
    reason:
      "from Node 22.15 tsgo's node wrapper calls process.execve(goBinary): the recording names it and the replay stops there with exit 70 (rewind does not record the program that replaces the process); on Node 20 it runs the binary with execFileSync and is faithful",
  },
};
