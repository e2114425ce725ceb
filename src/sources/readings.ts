// Process and V8 readings: how much memory and CPU time the process has used, what the
// system allows it, its umask and credentials, the V8 heap. Each is a native reading that
// differs from run to run (or machine to machine): recorded with its result and served from
// the log at replay, like os.ts's readings. A reading with arguments Node rejects throws
// Node's own error in both modes, before anything is recorded.
//
// process.umask(mask) sets the mask as well: at replay it is not performed, the program gets
// the recorded previous mask (replay writes no file).
import v8 from 'node:v8';
import { Api } from '../trace/format.js';
import type { Session, Source } from '../session/session.js';

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
        return s.call(api, undefined, () => real.call(this));
      };
    for (const [name, api] of Object.entries(PROCESS_QUERIES)) replace(process, name, query(api));
    for (const [name, api] of Object.entries(V8_QUERIES)) replace(v8, name, query(api));

    const rss = process.memoryUsage.rss;
    const memoryUsage = replace(process, 'memoryUsage', query(Api['process.memoryUsage']))!;
    (memoryUsage as Fn & { rss: Fn }).rss = function rss_() {
      return s.call(Api['process.memoryUsage.rss'], undefined, () => rss());
    };
    Object.defineProperty((memoryUsage as Fn & { rss: Fn }).rss, 'name', { value: 'rss' });

    // cpuUsage(previous) is the difference from `previous`, which the program has.
    replace(process, 'cpuUsage', (real) =>
      function (this: unknown, ...args: unknown[]) {
        const prev = args[0] as { user?: unknown; system?: unknown } | undefined;
        if (prev !== undefined && s.mode === 'replay') real.apply(this, args); // Node's validation errors
        const summary = prev === undefined ? undefined : [prev.user, prev.system];
        return s.call(Api['process.cpuUsage'], summary, () => real.apply(this, args));
      },
    );

    replace(process, 'umask', (real) =>
      function (this: unknown, ...args: unknown[]) {
        if (args[0] === undefined) return s.call(Api['process.umask'], undefined, () => real.call(this));
        // Validates (and, recording, sets) the mask; Node parses octal strings.
        if (s.mode === 'replay') real.call(this, real.call(this, args[0]));
        return s.call(Api['process.umask'], { mask: String(args[0]) }, () => real.apply(this, args));
      },
    );
  },
};
