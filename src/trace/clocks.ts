// How a logged monotonic reading (ns since the session's base) maps to the value each
// API returns. Record and replay both compute the API value through these functions, so
// the program sees bit-identical numbers in both runs.
import type { TraceHeader } from './format.js';

type Bases = Pick<TraceHeader, 'monoBase' | 'uptimeBase'>;

export function hrtimeOf(h: Bases, ns: number): [number, number] {
  const total = h.monoBase[1] + ns;
  const sec = Math.floor(total / 1e9);
  return [h.monoBase[0] + sec, total - sec * 1e9];
}

export const hrtimeBigintOf = (h: Bases, ns: number): bigint =>
  BigInt(h.monoBase[0]) * 1_000_000_000n + BigInt(h.monoBase[1] + ns);

/** performance.now() for a reading, given the perf clock's base (perfOriginOf). */
export const perfNowAt = (base: number, ns: number): number => base + ns / 1e6;

/** [perfNowBase, timeOrigin]: the perf clock's bases. */
export type PerfOrigin = [base: number, timeOrigin: number];

/** Whether `v` is a perf.origin reading: two times. */
export const isPerfOrigin = (v: unknown): v is PerfOrigin =>
  Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);

/**
 * Each log's perf.origin reading, as its reader reads it (reader.ts callRead; by its header), for what describes
 * the log's readings: kept beside the header, which is written back as it was read (redact).
 */
const perfOrigins = new WeakMap<object, PerfOrigin>();

export function takePerfOrigin(h: TraceHeader, origin: PerfOrigin): void {
  perfOrigins.set(h, origin);
}

/** The perf clock's bases: the header's (format 5 and older), or its perf.origin reading once read (format 6). */
export function perfOriginOf(h: TraceHeader): PerfOrigin | undefined {
  return h.perfNowBase !== undefined && h.timeOrigin !== undefined ? [h.perfNowBase, h.timeOrigin] : perfOrigins.get(h);
}

export const uptimeOf = (h: Bases, ns: number): number => h.uptimeBase + ns / 1e9;
