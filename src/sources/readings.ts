// Process and V8 readings: how much memory and CPU time the process has used, what the
// system allows it, its umask and credentials, the V8 heap. Each is a native reading that
// differs from run to run (or machine to machine): recorded with its result and served from
// the log at replay, like os.ts's readings. A reading with arguments Node rejects throws
// Node's own error in both modes, before anything is recorded.
//
// process.umask(mask) sets the mask as well: at replay it is not performed, the program gets
// the recorded previous mask (replay writes no file).
//
// process.report: getReport() is a reading (memory, handles, environment, stacks);
// writeReport() writes a file natively, which replay does not do (it returns the recorded
// file name and prints Node's two lines); the reports Node writes by itself on an uncaught
// exception, a fatal error or a signal are named as unrecorded, and are switched off at
// replay (the program still reads the settings it made).
import type V8 from 'node:v8';
import { builtinModule, whenLoaded } from '../node/fields.js';
import { Api } from '../trace/format.js';
import { decodeValue, encodeValue } from '../trace/values.js';
import { writeStderr } from '../node/originals.js';
import { nodeFlags } from '../session/trust.js';
import type { ResultCodec, Session, Source } from '../session/session.js';

// Node builds these readings from Float64Arrays: a whole number in them is a double to V8,
// where the log's decoder makes a small integer. Nothing in JS tells them apart, but
// v8.serialize does (jest-worker and vitest send results over IPC with it, jest persists
// its cache with it): the log keeps where the doubles were, and replay makes them doubles
// again by reading them back from a Float64Array.
const f64 = new Float64Array(1);
const asDouble = (n: number): number => {
  f64[0] = n;
  return f64[0];
};
// node:v8's serialize, loaded when a reading is first logged: not at start-up (see whenLoaded).
let v8: typeof V8 | undefined;
const serialize = (v: unknown): Buffer => (v8 ??= builtinModule<typeof V8>('node:v8')).serialize(v);
/** A whole number V8 holds as a double (a non-integer always is one). */
const heldAsDouble = (n: number): boolean => Number.isInteger(n) && serialize(n)[2] === 0x4e; // 'N'

type Path = (string | number)[];

function doublePaths(v: unknown, path: Path, out: Path[], depth = 0): void {
  if (typeof v === 'number') {
    if (heldAsDouble(v)) out.push([...path]);
  } else if (
    v !== null &&
    typeof v === 'object' &&
    depth < 4 &&
    (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)
  ) {
    for (const [k, x] of Object.entries(v)) doublePaths(x, [...path, Array.isArray(v) ? Number(k) : k], out, depth + 1);
  }
}

/** Stores a reading with the places of its whole-number doubles; replay restores both. */
export const numbersAsRecorded: ResultCodec<unknown> = {
  encode(v) {
    const paths: Path[] = [];
    doublePaths(v, [], paths);
    // Node fills some arrays made with new Array(n) (getHeapSpaceStatistics): V8
    // serializes those as sparse; the log's decoder makes packed ones.
    const holey = Array.isArray(v) && serialize(v)[2] === 0x61; // 'a'
    return paths.length || holey ? [encodeValue(v), paths, holey] : [encodeValue(v)];
  },
  decode(data) {
    const [encoded, paths, holey] = data as [unknown, Path[] | undefined, boolean | undefined];
    if (!paths) return decodeValue(encoded);
    const decode = () => {
      const d = decodeValue(encoded);
      if (!holey) return d;
      const a = new Array((d as unknown[]).length);
      (d as unknown[]).forEach((x, i) => (a[i] = x));
      return a;
    };
    // Assigning a double over a small integer can leave a field of a new object shape
    // holding an integer still (V8 generalizes the shape, not always that object):
    // a second object of the same shape gets doubles. Checked, not assumed.
    let v: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      v = decode();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const at = (path: Path) => path.slice(0, -1).reduce((o: any, k) => o[k], v);
      for (const path of paths) {
        if (path.length === 0) v = asDouble(v as number);
        else at(path)[path[path.length - 1]] = asDouble(at(path)[path[path.length - 1]]);
      }
      if (paths.every((path) => heldAsDouble(path.length ? at(path)[path[path.length - 1]] : v))) break;
    }
    return v;
  },
};

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;

/** Puts a recording wrapper in place of `obj[name]`, looking like the function it replaces. */
function replace(obj: any, name: string, make: (real: Fn) => Fn): Fn | undefined {
  const real = obj[name] as Fn | undefined;
  if (typeof real !== 'function') return undefined; // not on this Node (availableMemory: 22+)
  const fn = make(real);
  Object.defineProperty(fn, 'name', { value: real.name });
  Object.defineProperty(fn, 'length', { value: real.length });
  obj[name] = fn;
  return fn;
}

/** Calls without arguments. */
const PROCESS_QUERIES = {
  resourceUsage: Api['process.resourceUsage'],
  constrainedMemory: Api['process.constrainedMemory'],
  availableMemory: Api['process.availableMemory'],
  getuid: Api['process.getuid'],
  geteuid: Api['process.geteuid'],
  getgid: Api['process.getgid'],
  getegid: Api['process.getegid'],
  getgroups: Api['process.getgroups'],
} as const;

const V8_QUERIES = {
  getHeapStatistics: Api['v8.getHeapStatistics'],
  getHeapSpaceStatistics: Api['v8.getHeapSpaceStatistics'],
  getHeapCodeStatistics: Api['v8.getHeapCodeStatistics'],
} as const;

export const readingsSource: Source = {
  name: 'readings',
  install(s: Session) {
    const query = (api: number) => (real: Fn) =>
      function (this: unknown) {
        return s.call(api, undefined, () => real.call(this), numbersAsRecorded);
      };
    for (const [name, api] of Object.entries(PROCESS_QUERIES)) replace(process, name, query(api));
    // node:v8 and process.report's module are patched as they load (when the program first
    // asks for them), not loaded for it at start-up.
    whenLoaded('v8', () => {
      const v8 = builtinModule<typeof V8>('node:v8');
      for (const [name, api] of Object.entries(V8_QUERIES)) replace(v8, name, query(api));
    });

    const rss = process.memoryUsage.rss;
    const memoryUsage = replace(process, 'memoryUsage', query(Api['process.memoryUsage']))!;
    (memoryUsage as Fn & { rss: Fn }).rss = function rss_() {
      return s.call(Api['process.memoryUsage.rss'], undefined, () => rss(), numbersAsRecorded);
    };
    Object.defineProperty((memoryUsage as Fn & { rss: Fn }).rss, 'name', { value: 'rss' });

    // cpuUsage(previous) is the difference from `previous`, which the program has.
    replace(
      process,
      'cpuUsage',
      (real) =>
        function (this: unknown, ...args: unknown[]) {
          const prev = args[0] as { user?: unknown; system?: unknown } | undefined;
          if (prev !== undefined && s.mode === 'replay') real.apply(this, args); // Node's validation errors
          const summary = prev === undefined ? undefined : [prev.user, prev.system];
          return s.call(Api['process.cpuUsage'], summary, () => real.apply(this, args), numbersAsRecorded);
        },
    );

    // Started with a report switched on, Node may write one without the program asking: named now.
    const h = s.header;
    const startFlags = nodeFlags(h.execArgv, h.env);
    const switchedOn = Object.values(REPORT_SETTINGS).some((flag) => startFlags.includes(flag));
    if (switchedOn) recordReports(s, startFlags);
    else
      whenLoaded(
        'internal/process/report',
        () => recordReports(s, startFlags),
        () => process.report,
      );

    replace(
      process,
      'umask',
      (real) =>
        function (this: unknown, ...args: unknown[]) {
          if (args[0] === undefined) return s.call(Api['process.umask'], undefined, () => real.call(this));
          // Validates (and, recording, sets) the mask; Node parses octal strings.
          if (s.mode === 'replay') real.call(this, real.call(this, args[0]));
          return s.call(Api['process.umask'], { mask: String(args[0]) }, () => real.apply(this, args));
        },
    );
  },
};

/**
 * Each setting, and the start-up flag that turns it on (which a replay starts without: see
 * trust.ts). reportOnSignal is left to Node: a replay receives no real signal (Node 24's
 * test runner starts its children with it on, by default).
 */
const REPORT_SETTINGS = {
  reportOnUncaughtException: '--report-uncaught-exception',
  reportOnFatalError: '--report-on-fatalerror',
} as const;

function recordReports(s: Session, startFlags: string[]): void {
  const report = process.report as (NodeJS.ProcessReport & Record<string, unknown>) | undefined;
  if (!report) return;
  replace(
    report,
    'getReport',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        return s.call(Api['process.report.getReport'], undefined, () => real.apply(this, args));
      },
  );
  replace(
    report,
    'writeReport',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        const target = typeof args[0] === 'string' ? args[0] : null;
        if (target === 'stdout' || target === 'stderr') {
          s.unsupported(
            `process.report.writeReport('${target}')`,
            `Node writes the report to ${target} natively, not through process.${target}`,
          );
        }
        const file = s.call(Api['process.report.writeReport'], target, () => real.apply(this, args)) as string;
        // Node wrote these lines to stderr natively, bypassing process.stderr: the log has them
        // only as the file name, and the replay prints them as Node did.
        if (s.mode === 'replay' && file !== 'stdout' && file !== 'stderr') {
          writeStderr(`\nWriting Node.js report to file: ${file}\nNode.js report completed\n`);
        }
        return file;
      },
  );
  for (const [name, flag] of Object.entries(REPORT_SETTINGS)) {
    const d = Object.getOwnPropertyDescriptor(report, name);
    if (!d?.get || !d.set || !d.configurable) continue;
    const { get, set } = d;
    const named = (on: unknown) => {
      if (on === true)
        s.unsupported(`process.report.${name}`, 'Node writes that report, and its lines on stderr, natively');
    };
    let value = (s.mode === 'replay' ? startFlags.includes(flag) : get.call(report)) as unknown;
    named(value);
    // Replay writes no report: Node's own switch stays off, the program reads its setting.
    if (s.mode === 'replay') set.call(report, false);
    Object.defineProperty(report, name, {
      ...d,
      get: () => (s.mode === 'replay' ? value : get.call(report)),
      set(v: unknown) {
        set.call(report, v); // Node's own validation error for a non-boolean
        if (s.mode === 'replay') set.call(report, false);
        value = v;
        named(v);
      },
    });
  }
}
