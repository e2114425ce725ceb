// Clocks Node reads through references it captured before the preload ran, and readings
// perf_hooks takes from its own internal clock (not the patched performance.now):
//
// - node:test. `node --test` loads its runner at bootstrap, and the runner bound
//   process.hrtime.bigint then: the durations it reports (per test, per file, the run's
//   `duration_ms`) read the real clock, in the process that runs `node --test` (and in
//   any process where the runner loaded before the preload). The binding the captured
//   function calls is out of reach (process_methods is not in process.binding), so the
//   durations are recorded where they leave the runner: each event it pushes to its
//   reporters (a TestsStream) carries them, and they are logged there and served at replay.
// - perf_hooks. `performance.mark()` and `measure()` take their times from perf_hooks'
//   internal now(): the mark gets the session's performance.now() as its explicit
//   startTime, the measure its explicit end. eventLoopUtilization(), nodeTiming's
//   milestones and monitorEventLoopDelay()'s histogram read native state: recorded.
//   The times of entries Node makes itself (timerify's 'function', 'http', 'net', 'dns'...)
//   are recorded where the program reads them, through PerformanceEntry's getters.
// - PerformanceObserver. Node calls observers from an immediate of its own (unrecorded):
//   each call is a turn in the log, holding how many entries it delivered; at replay the
//   observer gets that many of its entries in that turn (takeRecords()), and Node's own
//   delivery only collects them.
import { Readable } from 'node:stream';
import perfHooks, { performance, PerformanceEntry, PerformanceObserverEntryList } from 'node:perf_hooks';
import timers from 'node:timers';
import { aroundLoadAfter, nodeLoaded, whenLoaded } from '../node/fields.js';
import { Api } from '../trace/format.js';
import { original } from '../node/originals.js';
import { numbersAsRecorded } from './readings.js';
import type { Session, Source } from '../session/session.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;

/**
 * Runs a perf_hooks reading on the real clocks: some of them (eventLoopUtilization on Node
 * 20) call process.hrtime() inside, which the recorded reading already accounts for, and
 * which replay, serving the reading from the log, does not call.
 */
function onRealClocks<T>(read: () => T): T {
  const hrtime = process.hrtime;
  process.hrtime = original.hrtime;
  try {
    return read();
  } finally {
    process.hrtime = hrtime;
  }
}

/** The runner's event, as pushed to its reporters. */
interface TestEvent {
  type: string;
  data?: { details?: { duration_ms?: unknown }; duration_ms?: unknown; message?: unknown };
}

/** node:test was loaded before rewind: its clock is the real one. */
const runnerLoadedFirst = (): boolean => nodeLoaded('internal/test_runner/test');

function recordTestDurations(s: Session): void {
  if (!runnerLoadedFirst()) return;
  const duration = (real: unknown) => s.call(Api['test.duration'], undefined, () => real);
  const push = Readable.prototype.push;
  Readable.prototype.push = function (this: Readable, chunk: unknown, encoding?: BufferEncoding) {
    if (chunk !== null && typeof chunk === 'object' && this.constructor?.name === 'TestsStream') {
      const data = (chunk as TestEvent).data;
      if (data && typeof data === 'object') {
        if (typeof data.details?.duration_ms === 'number')
          data.details.duration_ms = duration(data.details.duration_ms);
        if (typeof data.duration_ms === 'number') data.duration_ms = duration(data.duration_ms); // test:summary
        if (
          (chunk as TestEvent).type === 'test:diagnostic' &&
          typeof data.message === 'string' &&
          data.message.startsWith('duration_ms ')
        ) {
          data.message = duration(data.message);
        }
      }
    }
    return push.call(this, chunk, encoding);
  };
}

/** Map-like results (Node's internal SafeMap is no Map to instanceof): a Map. */
const plain = (v: unknown): unknown =>
  v !== null && typeof v === 'object' && !(v instanceof Map) && Object.prototype.toString.call(v) === '[object Map]'
    ? new Map(v as Map<unknown, unknown>)
    : v;

/** A PerformanceObserverEntryList holding `entries` (its constructor is Node's own). */
function entryList(entries: PerformanceEntry[]): PerformanceObserverEntryList {
  entries.sort((a, b) => a.startTime - b.startTime); // as Node's list does
  return Object.create(PerformanceObserverEntryList.prototype, {
    getEntries: { value: () => entries.slice() },
    getEntriesByType: { value: (type: string) => entries.filter((e) => e.entryType === type) },
    getEntriesByName: {
      value: (name: string, type?: string) =>
        entries.filter((e) => e.name === name && (type === undefined || e.entryType === type)),
    },
  });
}

/**
 * A 'gc' entry as logged: its place in its delivery, and its detail. Garbage collections
 * happen when V8 decides, differently in each run: at replay the real ones are dropped and
 * the recorded ones delivered in their turns (OpenTelemetry's runtime metrics observe them).
 */
type GcEntry = [index: number, startTime: number, duration: number, kind: unknown, flags: unknown];

function gcEntries(list: PerformanceObserverEntryList): GcEntry[] {
  const out: GcEntry[] = [];
  list.getEntries().forEach((e, i) => {
    if (e.entryType !== 'gc') return;
    const detail = (e as PerformanceEntry & { detail?: { kind?: unknown; flags?: unknown } }).detail;
    out.push([i, e.startTime, e.duration, detail?.kind ?? null, detail?.flags ?? null]);
  });
  return out;
}

/** A recorded 'gc' entry, as the program reads one (its times are not read from the log as others' are). */
function gcEntry([, startTime, duration, kind, flags]: GcEntry): PerformanceEntry {
  const detail = { kind, flags };
  const json = { name: 'gc', entryType: 'gc', startTime, duration, detail };
  return Object.create(PerformanceEntry.prototype, {
    name: { value: 'gc', enumerable: true },
    entryType: { value: 'gc', enumerable: true },
    startTime: { value: startTime, enumerable: true },
    duration: { value: duration, enumerable: true },
    detail: { value: detail, enumerable: true },
    toJSON: { value: () => ({ ...json, detail: { ...detail } }) },
  });
}

function recordObservers(s: Session, firstObserver: () => void): void {
  const Real = perfHooks.PerformanceObserver;
  type Callback = (list: PerformanceObserverEntryList, observer: InstanceType<typeof Real>) => void;
  class PerformanceObserver extends Real {
    constructor(callback: Callback) {
      if (typeof callback !== 'function') {
        super(callback); // Node's own error
        return;
      }
      firstObserver();
      let deliver: ((list: PerformanceObserverEntryList) => void) | null = null;
      /** Replay: entries Node delivered by itself, waiting for their recorded turn. */
      const collected: PerformanceEntry[] = [];
      // Replay: the real collector's 'gc' entries are not the recorded ones (gcEntries).
      const live = (e: PerformanceEntry) => !(s.mode === 'replay' && e.entryType === 'gc');
      super((list) => {
        if (deliver) deliver(list);
        else collected.push(...list.getEntries().filter(live));
      });
      const self = this as InstanceType<typeof Real>;
      s.async({
        api: Api['perf.observer'],
        what: 'PerformanceObserver callback',
        repeat: true,
        start(done) {
          deliver = (list) => done(list.getEntries().length, list);
        },
        cb(count, list, gc) {
          if (!list) {
            const recorded = (gc as GcEntry[] | undefined) ?? [];
            const all = collected.splice(0).concat(self.takeRecords().filter(live));
            const entries = all.splice(0, (count as number) - recorded.length);
            collected.push(...all);
            for (const e of recorded) entries.splice(e[0], 0, gcEntry(e));
            list = entryList(entries);
          }
          callback.call(self, list as PerformanceObserverEntryList, self);
        },
        // The count, and each 'gc' entry's place and detail (the times are read as any entry's).
        codec: {
          encode: ([count, list]) => {
            const gc = gcEntries(list as PerformanceObserverEntryList);
            return gc.length ? [count, gc] : count;
          },
          decode: (v) => (Array.isArray(v) ? [v[0], undefined, v[1]] : [v]),
        },
      });
    }
  }
  Object.defineProperty(PerformanceObserver, 'name', { value: 'PerformanceObserver' });
  (perfHooks as any).PerformanceObserver = PerformanceObserver;
  if ((globalThis as any).PerformanceObserver === Real) (globalThis as any).PerformanceObserver = PerformanceObserver;
}

/** Own properties of `obj` that read `read(name, args)` in place of what its prototype chain answers. */
function recordHistogram(s: Session, h: object): void {
  const seen = new Set(['constructor', 'enable', 'disable', 'reset']);
  for (let p = Object.getPrototypeOf(h); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (seen.has(name)) continue;
      seen.add(name);
      const d = Object.getOwnPropertyDescriptor(p, name)!;
      if (d.get) {
        const get = d.get;
        Object.defineProperty(h, name, {
          get: () =>
            s.call(Api['perf.histogram'], name, () => plain(onRealClocks(() => get.call(h))), numbersAsRecorded),
          configurable: true,
        });
      } else if (typeof d.value === 'function' && name !== 'toJSON') {
        const fn = d.value as Fn;
        Object.defineProperty(h, name, {
          value: (...args: unknown[]) =>
            s.call(
              Api['perf.histogram'],
              [name, ...args],
              () => plain(onRealClocks(() => fn.apply(h, args))),
              numbersAsRecorded,
            ),
          writable: true,
          configurable: true,
        });
      }
    }
  }
}

/** Returns what the first PerformanceObserver the program makes runs first. */
function recordPerfHooks(s: Session): () => void {
  const perf = performance as any;
  const proto = Object.getPrototypeOf(performance);

  const mark = proto.mark as Fn;
  perf.mark = function (this: unknown, name: unknown, options?: any) {
    if (options === undefined || options === null) options = { startTime: performance.now() };
    else if (typeof options === 'object' && options.startTime === undefined)
      options = { ...options, startTime: performance.now() };
    return mark.call(this, name, options);
  };

  const measure = proto.measure as Fn;
  perf.measure = function (this: unknown, name: unknown, start?: any, endMark?: unknown) {
    // Node ends a measure at its internal now() when nothing else says where it ends.
    if (endMark === undefined) {
      if (start === undefined || typeof start === 'string' || typeof start === 'number')
        start = { start, end: performance.now() };
      else if (
        typeof start === 'object' &&
        start !== null &&
        start.start !== undefined &&
        start.end === undefined &&
        start.duration === undefined
      ) {
        start = { ...start, end: performance.now() };
      }
    }
    return measure.call(this, name, start, endMark);
  };

  const elu = proto.eventLoopUtilization as Fn | undefined;
  if (elu) {
    perf.eventLoopUtilization = function (this: unknown, ...args: unknown[]) {
      // Of two earlier readings: arithmetic on what the program has.
      if (args[0] !== undefined && args[1] !== undefined) return elu.apply(this, args);
      return s.call(
        Api['perf.eventLoopUtilization'],
        undefined,
        () => onRealClocks(() => elu.apply(this, args)),
        numbersAsRecorded,
      );
    };
  }

  // nodeTiming's milestones (loopStart, idleTime...) are accessors of one object.
  const timing = performance.nodeTiming as any;
  for (const name of Object.getOwnPropertyNames(timing)) {
    const d = Object.getOwnPropertyDescriptor(timing, name)!;
    if (!d.get || name === 'name' || name === 'entryType') continue;
    const get = d.get;
    Object.defineProperty(timing, name, {
      ...d,
      get: () => s.call(Api['perf.nodeTiming'], name, () => onRealClocks(() => get.call(timing)), numbersAsRecorded),
    });
  }

  const monitor = perfHooks.monitorEventLoopDelay as Fn;
  (perfHooks as any).monitorEventLoopDelay = function monitorEventLoopDelay(this: unknown, ...args: unknown[]) {
    const h = monitor.apply(this, args);
    recordHistogram(s, h);
    return h;
  };

  // Entries Node timed itself. Marks and measures were given the session's times above.
  // An entry's time is logged when first read (Node reads it as it files the entry for an
  // observer) and kept: Node reads it again at times of its own (sorting a delivery).
  const entryProto = PerformanceEntry.prototype as any;
  const times = new WeakMap<object, Record<string, number>>();
  // toJSON (and so util.inspect) reads the times from private fields, not the getters.
  const jsonPatched = new WeakSet<object>();
  const patchToJSON = (proto: any) => {
    if (jsonPatched.has(proto) || !Object.hasOwn(proto, 'toJSON')) return;
    jsonPatched.add(proto);
    const toJSON = proto.toJSON as Fn;
    proto.toJSON = function (this: PerformanceEntry) {
      const json = toJSON.call(this);
      const type = this.entryType;
      if (type === 'mark' || type === 'measure' || type === 'node' || json === null || typeof json !== 'object')
        return json;
      return { ...json, startTime: this.startTime, duration: this.duration };
    };
  };
  patchToJSON(entryProto);
  // The class of the entries Node times itself (PerformanceNodeEntry) is private: one
  // made by timerify, taken from an observer of rewind's own, shows it. Those entries reach
  // the program only through an observer: the probe (about 0.4 ms) waits for its first.
  const { PerformanceObserver: Real } = perfHooks;
  // Node's, taken now: the program may wrap performance.timerify before its first observer.
  const timerify = typeof performance.timerify === 'function' ? performance.timerify.bind(performance) : null;
  let probed = false;
  const probeEntryClasses = () => {
    if (probed || timerify === null) return;
    probed = true;
    try {
      const probe = new Real(() => {});
      probe.observe({ entryTypes: ['function'] });
      timerify(function rewindProbe() {})();
      for (const e of probe.takeRecords()) patchToJSON(Object.getPrototypeOf(e));
      probe.disconnect();
    } catch {
      // no such entries on this Node: nothing to patch
    }
  };
  for (const name of ['startTime', 'duration']) {
    const d = Object.getOwnPropertyDescriptor(entryProto, name);
    if (!d?.get) continue;
    const get = d.get;
    Object.defineProperty(entryProto, name, {
      ...d,
      get(this: PerformanceEntry) {
        const type = this.entryType;
        // A 'gc' entry's times come with it (gcEntries): Node reads them as V8 collects.
        if (type === 'mark' || type === 'measure' || type === 'node' || type === 'gc') return get.call(this);
        let known = times.get(this);
        if (!known) {
          times.set(this, (known = {}));
          patchToJSON(Object.getPrototypeOf(this)); // PerformanceNodeEntry has its own
        }
        return (known[name] ??= s.call(
          Api['perf.entryTime'],
          [type, name],
          () => onRealClocks(() => get.call(this)),
          numbersAsRecorded,
        ));
      },
    });
  }
  return probeEntryClasses;
}

/**
 * Node's PerformanceObserver module (internal/perf/observe) takes timers' setImmediate as it
 * loads, for the immediate it delivers entries from, which must stay Node's own: each
 * delivery is a turn of its own in the log (recordObservers), and a collection's entries
 * reach it when V8 collects, differently at replay. It loads with perf_hooks (or node:http,
 * net, dns), now often after timers.ts replaced setImmediate: it is handed the real one
 * while it loads, right after its dependency performance_entry (Node 20, 22, 24, 26). Returns
 * whether it has the real one: loaded so, or before timers.ts (before rewind, or as rewind
 * starts where loads cannot be watched), to check when it is used.
 */
function observerImmediateKept(): () => boolean {
  let kept = nodeLoaded('internal/perf/observe');
  let replaced: unknown;
  const t = timers as unknown as Record<string, unknown>;
  aroundLoadAfter(
    'internal/perf/performance_entry',
    () => {
      replaced = t.setImmediate;
      t.setImmediate = original.setImmediate;
    },
    (next) => {
      t.setImmediate = replaced;
      kept = next === 'NativeModule internal/perf/observe';
    },
  );
  return () => kept || t.setImmediate === original.setImmediate;
}

export const capturedClocksSource: Source = {
  name: 'captured-clocks',
  install(s: Session) {
    recordTestDurations(s);
    const kept = observerImmediateKept();
    // As perf_hooks loads (the globals that read it load it too), after clock.ts's performance.now().
    whenLoaded('perf_hooks', () => {
      if (!kept())
        s.unsupported(
          'PerformanceObserver',
          "Node's perf_hooks took rewind's setImmediate as it loaded: its deliveries of entries may not replay",
        );
      recordObservers(s, recordPerfHooks(s));
    });
  },
};
