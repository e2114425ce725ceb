// Workloads known not to replay faithfully yet, each with what it waits on. A listed workload
// that fails does not fail the suite; one that passes is reported so the entry can go.
// `nodes`: only on these Node majors (default: all).
export const KNOWN_FAILURES = {};
