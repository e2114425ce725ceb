// One recorded process read for comparison: its turns keyed by operation, the values it
// received keyed by the turn they came in, what it wrote, and how it ended. Keys do not
// depend on positions in the log, so two runs whose schedules differ still line up.
import { Api, TAGS, Tag, apiName, type EndInfo, type FailureInfo, type TraceHeader } from '../trace/format.js';
import { TraceReader, type TraceEvent, type TraceFile } from '../trace/reader.js';

/** A turn: the k-th delivery (from 0) of operation `op`. */
export interface Turn {
  /** `op.k`: the same delivery in another run of the same program has the same key. */
  key: string;
  op: number;
  k: number;
  ev: TraceEvent;
}

/** A value the program received (a clock, a random number, a synchronous call's result) or an I/O result. */
export interface Reading {
  /** The turn it came in (`main` before the first) and its place among that turn's readings. */
  key: string;
  ev: TraceEvent;
}

export interface RunModel {
  header: TraceHeader;
  path: string;
  eventCount: number;
  turns: Turn[];
  readings: Reading[];
  /** What the program wrote to stdout (fd 1) and stderr (fd 2), as recorded. */
  output: { 1: string; 2: string };
  /** Some output was logged as a digest only (large writes): its text is partial. */
  outputPartial: boolean;
  failures: FailureInfo[];
  end: EndInfo | null;
  truncated: string | null;
}

export const turnKey = (op: number, k: number): string => `${op}.${k}`;

const PERF_ORIGIN = Api['perf.origin'];

/** Reads a process's log once, keeping only what comparisons need. */
export function readRun(t: TraceFile): RunModel {
  const turns: Turn[] = [];
  const readings: Reading[] = [];
  const deliveries = new Map<number, number>();
  const out: { 1: string[]; 2: string[] } = { 1: [], 2: [] };
  let partial = false;
  const failures: FailureInfo[] = [];
  let end: EndInfo | null = null;
  let current = 'main';
  let inTurn = 0;
  for (const ev of TraceReader.events(t)) {
    switch (ev.kind) {
      case 'turn': {
        const op = ev.op!;
        const k = deliveries.get(op) ?? 0;
        deliveries.set(op, k + 1);
        current = turnKey(op, k);
        inTurn = 0;
        turns.push({ key: current, op, k, ev });
        // The turn's own payload (bytes read, an fs result) is what came in with it.
        if (ev.tag === Tag.Callback || ev.tag === Tag.StreamRead) readings.push({ key: `${current}/in`, ev });
        break;
      }
      case 'clock':
      case 'random':
      case 'value':
      case 'call':
        // The perf clock's bases (format 6): header data of older logs, compared by nothing.
        if (ev.api !== PERF_ORIGIN) readings.push({ key: `${current}/${inTurn++}`, ev });
        break;
      case 'output':
        if ((ev.tag === Tag.Write || ev.tag === Tag.WriteDigest) && (ev.fd === 1 || ev.fd === 2)) {
          out[ev.fd].push(Buffer.from(ev.data!).toString('utf8'));
          if (ev.tag === Tag.WriteDigest) partial = true;
        }
        break;
      case 'failure':
        failures.push(ev.failure!);
        break;
      case 'end':
        end = ev.end!;
        break;
      default:
        break;
    }
  }
  return {
    header: t.header,
    path: t.path,
    eventCount: t.eventCount,
    turns,
    readings,
    output: { 1: out[1].join(''), 2: out[2].join('') },
    outputPartial: partial,
    failures,
    end,
    truncated: t.truncated,
  };
}

/** What kind of turn, in a few words: "setTimeout callback", "fs.readFile callback", "stream read". */
export function turnKind(ev: TraceEvent): string {
  if (ev.tag === Tag.Callback) return `${apiName(ev.api!)} callback`;
  return TAGS[ev.tag].call;
}

/** How a run ended, in one line. */
export function failureOf(run: RunModel): string | null {
  const f = run.failures.find((x) => x.origin !== 'test') ?? run.failures[0];
  if (f)
    return f.origin === 'test'
      ? `test failed: ${f.test}: ${f.name}: ${f.message.split('\n')[0]}`
      : `${f.name}: ${f.message.split('\n')[0]}`;
  if (run.end?.signal) return `killed by ${run.end.signal}`;
  if (run.end?.code) return `exit code ${run.end.code}`;
  if (!run.end) return `no end record (${run.truncated ?? 'the log stops early'})`;
  return null;
}
