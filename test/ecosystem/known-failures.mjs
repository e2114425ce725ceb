// Workloads known not to replay faithfully yet, each with the work item it waits on and the
// cause as the suite found it. A listed workload that fails does not fail the suite; one that
// passes is reported ("known failure now faithful") so that its entry can go.
// `nodes`: only on these Node majors (default: all).
// None at present: tsgo on Node 22.15+ (its wrapper's process.execve) was the last, faithful
// since rewind runs the program execve names as a recorded child (sources/process.ts).
/** @type {Record<string, { nodes?: number[], waitsOn: string, reason: string }>} */
export const KNOWN_FAILURES = {};
