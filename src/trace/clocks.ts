// How a logged monotonic reading (ns since the session's base) maps to the value each
// API returns. Record and replay both compute the API value through these functions, so
// the program sees bit-identical numbers in both runs.
import type { TraceHeader } from './format.js';

type Bases = Pick<TraceHeader, 'monoBase' | 'perfNowBase' | 'uptimeBase'>;

export function hrtimeOf(h: Bases, ns: number): [number, number] {
  const total = h.monoBase[1] + ns;
  const sec = Math.floor(total / 1e9);
  return [h.monoBase[0] + sec, total - sec * 1e9];
}

export const hrtimeBigintOf = (h: Bases, ns: number): bigint =>
  BigInt(h.monoBase[0]) * 1_000_000_000n + BigInt(h.monoBase[1] + ns);

export const perfNowOf = (h: Bases, ns: number): number => h.perfNowBase + ns / 1e6;

export const uptimeOf = (h: Bases, ns: number): number => h.uptimeBase + ns / 1e9;
