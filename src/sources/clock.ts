// Clocks: Date, Intl.DateTimeFormat's current time, performance.now/timeOrigin,
// process.hrtime(.bigint), process.uptime.
// Two underlying clocks are logged: the wall clock (epoch ms) and one monotonic clock (ns
// since the session's base); every API value is computed from them by trace/clocks.ts,
// in record and replay alike, so both runs see the same numbers.
import type * as PerfHooks from 'node:perf_hooks';
import { builtinModule, whenLoaded } from '../node/fields.js';
import { hrtimeBigintOf, hrtimeOf, perfNowAt, perfOriginOf, uptimeOf, type PerfOrigin } from '../trace/clocks.js';
import { Api, Tag } from '../trace/format.js';
import { original } from '../node/originals.js';
import type { ResultCodec, Session, Source } from '../session/session.js';

/**
 * Makes a realm's Date read the session's wall clock: `Date.now()` on the real constructor
 * (shared by the replacement), `new Date()` and `Date()` through a constructor function that
 * keeps Date.prototype, statics, subclassing and `instanceof` as they are (dates made by Node
 * internals with the real constructor still pass instanceof). A function, not a Proxy: every
 * `Date.now()` reads a property of the global Date, and a Proxy's costs 35-50 ns (bench 1).
 * Returns it, to put in place of the realm's global Date. Used for the main realm and every
 * vm context (it then inherits from that realm's Function.prototype, as its Date did).
 */
export function virtualDate(RealDate: DateConstructor, s: Session): DateConstructor {
  RealDate.now = function now() {
    return s.wall(Tag.DateNow);
  };
  const VirtualDate = function Date(): Date | string {
    'use strict'; // as the real one: no own `arguments` and `caller` (the bundle is sloppy-mode CommonJS)
    if (new.target === undefined) return new RealDate(s.wall(Tag.DateString)).toString();
    const args = arguments.length === 0 ? [s.wall(Tag.DateNew)] : Array.prototype.slice.call(arguments);
    return Reflect.construct(RealDate, args, new.target) as Date;
  } as unknown as DateConstructor;
  Object.setPrototypeOf(VirtualDate, Object.getPrototypeOf(RealDate));
  // The real constructor's own properties (prototype, now, parse, UTC, length, name) as they are.
  for (const key of Reflect.ownKeys(RealDate)) {
    const d = Object.getOwnPropertyDescriptor(RealDate, key)!;
    if (key === 'prototype') Object.defineProperty(VirtualDate, key, { value: d.value, writable: false });
    else Object.defineProperty(VirtualDate, key, d);
  }
  RealDate.prototype.constructor = VirtualDate;
  // Redefining those properties (a read-only `prototype`, data `length` and `name`) leaves
  // the function a dictionary: `Date.now` then is a hash lookup in every caller's optimized
  // code (~10 ns a call in bench 1's loop). V8 makes an object fast again when it becomes a
  // class's parent; the class is thrown away (test/hot-paths.test.ts checks the result).
  void class extends VirtualDate {};
  return VirtualDate;
}

/** DateTimeFormat prototypes already patched (a realm's Intl may be copied into another). */
const patchedIntl = new WeakSet<object>();

/**
 * `Intl.DateTimeFormat#format()` and `formatToParts()` without a date format the current
 * time, which V8 reads natively: they are given `new Date()`'s reading of the session's
 * wall clock instead (logged as a `new Date()`). The bound `format` is still one function
 * per formatter, as the getter returns it. Used for the main realm and every vm context.
 */
export function virtualIntl(RealIntl: typeof Intl, s: Session): void {
  const proto = RealIntl?.DateTimeFormat?.prototype;
  if (!proto || patchedIntl.has(proto)) return;
  patchedIntl.add(proto);
  const now = () => new original.Date(s.wall(Tag.DateNew));
  const format = Object.getOwnPropertyDescriptor(proto, 'format');
  const getFormat = format?.get;
  if (format && getFormat) {
    const bound = new WeakMap<object, (date?: Date | number) => string>();
    Object.defineProperty(proto, 'format', {
      ...format,
      get(this: Intl.DateTimeFormat) {
        const real = getFormat.call(this) as (date?: Date | number) => string;
        let f = bound.get(real);
        if (!f) {
          f = Object.defineProperty((date?: Date | number) => real(date === undefined ? now() : date), 'name', {
            value: '',
          });
          bound.set(real, f);
        }
        return f;
      },
    });
  }
  const formatToParts = proto.formatToParts;
  if (typeof formatToParts === 'function') {
    proto.formatToParts = {
      formatToParts(this: Intl.DateTimeFormat, date?: Date | number) {
        return formatToParts.call(this, date === undefined ? now() : date);
      },
    }.formatToParts;
  }
}

/** The perf.origin reading as it is logged: two numbers (the reader checks them). */
const ORIGIN: ResultCodec<PerfOrigin> = { encode: (v) => v, decode: (v) => v as PerfOrigin };

/**
 * performance.now() and timeOrigin, as the process loads perf_hooks (which the `performance`
 * and PerformanceObserver globals load too, last of its modules): a program that never uses
 * them does not load its eleven modules (~1 ms of every start). From format 6 the perf
 * clock's bases are a reading, perf.origin, taken as the program first reads that clock
 * (performance.now() or timeOrigin; marks and measures read now()); older logs have them in
 * the header.
 */
function perfClock(s: Session): void {
  const h = s.header;
  const { performance } = builtinModule<typeof PerfHooks>('node:perf_hooks');
  const nodeNow = performance.now; // Node's own, on its internal clock (not process.hrtime)
  const nodeTimeOrigin = performance.timeOrigin;
  let origin: PerfOrigin | undefined = h.formatVersion >= 6 ? undefined : perfOriginOf(h);
  // At replay `real` runs only off the log (a debugger's evaluation while the program is
  // paused, before its first reading): then a value near it from the header's clocks, not
  // kept, so that the program's own first reading takes the recorded one.
  let rough = false;
  const real =
    s.mode === 'record'
      ? (): PerfOrigin => {
          const t = original.hrtime();
          const now = nodeNow.call(performance);
          // performance.now() at the session's monotonic base.
          return [now - ((t[0] - h.monoBase[0]) * 1e9 + (t[1] - h.monoBase[1])) / 1e6, nodeTimeOrigin];
        }
      : (): PerfOrigin => {
          rough = true;
          return [h.uptimeBase * 1000, h.startWall - h.uptimeBase * 1000];
        };
  const read = (): PerfOrigin => {
    rough = false;
    const o = s.call(Api['perf.origin'], undefined, real, ORIGIN);
    if (!rough) origin = o;
    return o;
  };
  performance.now = function now() {
    const o = origin ?? read(); // before the reading's own event: it comes first in the log
    return perfNowAt(o[0], s.mono(Tag.PerfNow));
  };
  Object.defineProperty(performance, 'timeOrigin', {
    get: () => (origin ?? read())[1],
    enumerable: true,
    configurable: true,
  });
}

export const clockSource: Source = {
  name: 'clock',
  install(s: Session) {
    const h = s.header;
    const RealDate = original.Date;

    globalThis.Date = virtualDate(RealDate, s);
    virtualIntl(Intl, s);

    whenLoaded('perf_hooks', () => perfClock(s));

    const hrtime = function hrtime(prev?: [number, number]): [number, number] {
      if (prev !== undefined) original.hrtime(prev); // throws Node's own error for bad input
      const [sec, nsec] = hrtimeOf(h, s.mono(Tag.Hrtime));
      if (prev === undefined) return [sec, nsec];
      let ds = sec - prev[0];
      let dn = nsec - prev[1];
      if (dn < 0) {
        ds--;
        dn += 1e9;
      }
      return [ds, dn];
    };
    hrtime.bigint = function bigint() {
      return hrtimeBigintOf(h, s.mono(Tag.HrtimeBigint));
    };
    process.hrtime = hrtime as typeof process.hrtime;
    process.uptime = function uptime() {
      return uptimeOf(h, s.mono(Tag.Uptime));
    };
  },
};
