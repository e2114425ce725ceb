// Clocks: Date, performance.now/timeOrigin, process.hrtime(.bigint), process.uptime.
// Two underlying clocks are logged: the wall clock (epoch ms) and one monotonic clock (ns
// since the session's base); every API value is computed from them by trace/clocks.ts,
// in record and replay alike, so both runs see the same numbers.
import { performance } from 'node:perf_hooks';
import { hrtimeBigintOf, hrtimeOf, perfNowOf, uptimeOf } from '../trace/clocks.js';
import { Tag } from '../trace/format.js';
import { original } from '../session/originals.js';
import type { Session, Source } from '../session/session.js';

/**
 * Makes a realm's Date read the session's wall clock: `Date.now()` on the real constructor
 * (it is shared by the Proxy), `new Date()` and `Date()` through a Proxy that keeps
 * Date.prototype, statics, subclassing and `instanceof` exactly as they are (dates made by
 * Node internals with the real constructor still pass instanceof). Returns the Proxy, to
 * put in place of the realm's global Date. Used for the main realm and every vm context.
 */
export function virtualDate(RealDate: DateConstructor, s: Session): DateConstructor {
  RealDate.now = function now() {
    return s.wall(Tag.DateNow);
  };
  const VirtualDate = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [s.wall(Tag.DateNew)] : args, newTarget);
    },
    apply() {
      return new RealDate(s.wall(Tag.DateString)).toString();
    },
  });
  RealDate.prototype.constructor = VirtualDate;
  return VirtualDate;
}

export const clockSource: Source = {
  name: 'clock',
  install(s: Session) {
    const h = s.header;
    const RealDate = original.Date;

    globalThis.Date = virtualDate(RealDate, s);

    performance.now = function now() {
      return perfNowOf(h, s.mono(Tag.PerfNow));
    };
    if (s.mode === 'replay') {
      Object.defineProperty(performance, 'timeOrigin', { value: h.timeOrigin, enumerable: true, configurable: true });
    }

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
