// The difference between two runs of one program: where their schedules part (which turns
// ran in another order), which values they received differently, where their outputs part,
// and how each ended. Turns are matched by operation (op id and which delivery of it), not
// by position, so one extra turn early on does not make everything after it "differ".
import { describeEnd, describeEvent, describeValue } from '../trace/describe.js';
import { TAGS, Tag, apiName, type TraceHeader } from '../trace/format.js';
import type { TraceEvent } from '../trace/reader.js';
import { toJson } from '../trace/values.js';
import { failureOf, turnKind, type Reading, type RunModel, type Turn } from './run.js';

export interface TurnInfo {
  /** Event number in its log. */
  n: number;
  /** Place among the run's turns (from 0). */
  index: number;
  op: number;
  k: number;
  kind: string;
  detail: string;
  site?: string;
}

export interface ScheduleDiff {
  same: boolean;
  turns: [number, number];
  /** Turns in a different relative order: how many pairs (of the turns both runs have). */
  reorderedPairs: number;
  onlyInA: number;
  onlyInB: number;
  /** The first place the schedules part: what each run ran there, and where the other ran it. */
  first?: { index: number; a: TurnInfo | null; b: TurnInfo | null; aInB: number | null; bInA: number | null };
}

export type ValueClass = 'clock' | 'random' | 'io' | 'value';

export interface ValueDiff {
  class: ValueClass;
  /** The reading's place: the turn it came in and its rank there. */
  at: string;
  a: { n: number; call: string; value: string } | null;
  b: { n: number; call: string; value: string } | null;
  /** For strings and bytes: where they part, in a few characters. */
  diff?: string;
}

export interface OutputDiff {
  stream: 'stdout' | 'stderr';
  line: number;
  a: string | null;
  b: string | null;
}

export interface RunDiff {
  schedule: ScheduleDiff;
  values: { counts: Record<ValueClass, number>; first: ValueDiff[] };
  output: OutputDiff[];
  /** Some output was logged as a digest only: its comparison covers the first bytes of large writes. */
  outputPartial: boolean;
  ended: { a: string; b: string; same: boolean };
  failed: { a: string | null; b: string | null };
}

/** How many value differences are listed (all are counted). */
const LISTED = 10;

export function turnInfo(t: Turn, index: number, h: TraceHeader, sites?: Map<number, string>): TurnInfo {
  const info: TurnInfo = { n: t.ev.n, index, op: t.op, k: t.k, kind: turnKind(t.ev), detail: describeEvent(t.ev, h) };
  const site = sites?.get(t.ev.n);
  if (site) info.site = site;
  return info;
}

export function diffRuns(
  a: RunModel,
  b: RunModel,
  sites?: { a?: Map<number, string>; b?: Map<number, string> },
): RunDiff {
  const endA = a.end ? describeEnd(a.end) : `no end record (${a.truncated ?? 'the log stops early'})`;
  const endB = b.end ? describeEnd(b.end) : `no end record (${b.truncated ?? 'the log stops early'})`;
  const out = [...outputDiff('stdout', a.output[1], b.output[1]), ...outputDiff('stderr', a.output[2], b.output[2])];
  return {
    schedule: scheduleDiff(a, b, sites),
    values: valueDiffs(a, b),
    output: out,
    outputPartial: a.outputPartial || b.outputPartial,
    ended: { a: endA, b: endB, same: endA === endB },
    failed: { a: failureOf(a), b: failureOf(b) },
  };
}

export function scheduleDiff(
  a: RunModel,
  b: RunModel,
  sites?: { a?: Map<number, string>; b?: Map<number, string> },
): ScheduleDiff {
  const posA = new Map<string, number>();
  a.turns.forEach((t, i) => posA.set(t.key, i));
  const posB = new Map<string, number>();
  b.turns.forEach((t, i) => posB.set(t.key, i));
  // The B positions of the turns both have, in A's order: the pairs out of order are its inversions.
  const common: number[] = [];
  for (const t of a.turns) {
    const j = posB.get(t.key);
    if (j !== undefined) common.push(j);
  }
  const reorderedPairs = inversions(common);
  const onlyInA = a.turns.length - common.length;
  const onlyInB = b.turns.length - common.length;
  const res: ScheduleDiff = { same: false, turns: [a.turns.length, b.turns.length], reorderedPairs, onlyInA, onlyInB };
  const n = Math.min(a.turns.length, b.turns.length);
  let i = 0;
  while (i < n && a.turns[i].key === b.turns[i].key) i++;
  if (i === a.turns.length && i === b.turns.length) {
    res.same = true;
    return res;
  }
  const ta = a.turns[i];
  const tb = b.turns[i];
  res.first = {
    index: i,
    a: ta ? turnInfo(ta, i, a.header, sites?.a) : null,
    b: tb ? turnInfo(tb, i, b.header, sites?.b) : null,
    aInB: ta ? (posB.get(ta.key) ?? null) : null,
    bInA: tb ? (posA.get(tb.key) ?? null) : null,
  };
  return res;
}

/** Pairs out of order in xs (merge sort): O(n log n), so 10^5 turns take milliseconds. */
function inversions(xs: number[]): number {
  let count = 0;
  let src = xs.slice();
  let dst = new Array<number>(xs.length);
  for (let width = 1; width < src.length; width *= 2) {
    for (let lo = 0; lo < src.length; lo += 2 * width) {
      const mid = Math.min(lo + width, src.length);
      const hi = Math.min(lo + 2 * width, src.length);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (src[i] <= src[j]) dst[k++] = src[i++];
        else {
          count += mid - i;
          dst[k++] = src[j++];
        }
      }
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    [src, dst] = [dst, src];
  }
  return count;
}

function classOf(ev: TraceEvent): ValueClass {
  if (ev.kind === 'clock') return 'clock';
  if (ev.kind === 'random') return 'random';
  if (ev.kind === 'value') return 'value';
  return 'io';
}

/** What was called, in a few words. */
function callOf(ev: TraceEvent): string {
  if (ev.kind === 'turn') return `${turnKind(ev)} (op #${ev.op})`;
  if (ev.kind === 'call' || ev.kind === 'value') return apiName(ev.api!);
  return TAGS[ev.tag].call;
}

/** The value a reading brought in, as comparable text. */
export function valueText(ev: TraceEvent, h: TraceHeader): string {
  switch (ev.kind) {
    case 'clock':
    case 'random':
      if (ev.data) return Buffer.from(ev.data).toString('hex');
      return describeValue(ev, h);
    case 'call': {
      const c = ev.call!;
      const what = JSON.stringify(toJson(c.args));
      return c.status === 0 ? what : `${what} ${c.status === 1 ? '→' : 'threw'} ${JSON.stringify(toJson(c.value))}`;
    }
    case 'value':
      return JSON.stringify(toJson(ev.payload));
    case 'turn':
      if (ev.tag === Tag.StreamRead) return ev.data ? Buffer.from(ev.data).toString('utf8') : `status ${ev.status}`;
      return JSON.stringify(toJson(ev.payload));
    default:
      return '';
  }
}

/** The same reading, with the same value? Numbers and bytes compared as they are; the rest as text. */
function sameReading(a: TraceEvent, b: TraceEvent, ha: TraceHeader, hb: TraceHeader): boolean {
  if (a.tag !== b.tag || a.api !== b.api) return false;
  if (a.kind === 'clock') {
    // Readings relative to each run's own start: a clock read at the same moment of both runs is the same.
    return a.wall !== undefined ? a.wall - ha.startWall === b.wall! - hb.startWall : a.monoNs === b.monoNs;
  }
  if (a.kind === 'random') return a.data ? Buffer.compare(a.data, b.data!) === 0 : a.int === b.int;
  return valueText(a, ha) === valueText(b, hb);
}

function valueDiffs(a: RunModel, b: RunModel): RunDiff['values'] {
  const counts: Record<ValueClass, number> = { clock: 0, random: 0, io: 0, value: 0 };
  const found: [Reading | null, Reading | null][] = [];
  const inB = new Map<string, Reading>();
  for (const r of b.readings) inB.set(r.key, r);
  const seen = new Set<string>();
  // Readings inside a turn only one run had follow from the schedule: the schedule diff covers them.
  const turnsA = new Set(a.turns.map((t) => t.key));
  const turnsB = new Set(b.turns.map((t) => t.key));
  const inBoth = (key: string) => {
    const turn = key.slice(0, key.indexOf('/'));
    return turn === 'main' || (turnsA.has(turn) && turnsB.has(turn));
  };
  // Kept per class, so that clock readings (which always differ a little) do not crowd out the rest.
  const kept: Record<ValueClass, number> = { clock: 0, random: 0, io: 0, value: 0 };
  const note = (ra: Reading | null, rb: Reading | null) => {
    const c = classOf((ra ?? rb)!.ev);
    counts[c]++;
    if (kept[c]++ < LISTED) found.push([ra, rb]);
  };
  for (const ra of a.readings) {
    seen.add(ra.key);
    if (!inBoth(ra.key)) continue;
    const rb = inB.get(ra.key);
    if (!rb) note(ra, null);
    else if (!sameReading(ra.ev, rb.ev, a.header, b.header)) note(ra, rb);
  }
  for (const rb of b.readings) if (!seen.has(rb.key) && inBoth(rb.key)) note(null, rb);
  const side = (r: Reading | null, h: TraceHeader) =>
    r ? { n: r.ev.n, call: callOf(r.ev), value: valueText(r.ev, h) } : null;
  const first = found.map(([ra, rb]): ValueDiff => {
    const d: ValueDiff = {
      class: classOf((ra ?? rb)!.ev),
      at: (ra ?? rb)!.key,
      a: side(ra, a.header),
      b: side(rb, b.header),
    };
    if (d.a && d.b && d.a.call === d.b.call) d.diff = shortDiff(d.a.value, d.b.value);
    return d;
  });
  // Random values and I/O results first: they decide more often than clock readings do.
  const rank: Record<ValueClass, number> = { random: 0, io: 1, value: 2, clock: 3 };
  first.sort((x, y) => rank[x.class] - rank[y.class] || (x.a?.n ?? x.b!.n) - (y.a?.n ?? y.b!.n));
  return { counts, first: first.slice(0, LISTED) };
}

/** Where two texts part: `…common[a-part → b-part]common…`, a few characters each. */
export function shortDiff(a: string, b: string, context = 12, width = 24): string {
  let p = 0;
  while (p < a.length && p < b.length && a[p] === b[p]) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && a[a.length - 1 - s] === b[b.length - 1 - s]) s++;
  const clip = (x: string) => (x.length > width ? `${x.slice(0, width)}…` : x);
  const before = p > context ? `…${a.slice(p - context, p)}` : a.slice(0, p);
  const after = s > context ? `${a.slice(a.length - s, a.length - s + context)}…` : a.slice(a.length - s);
  return `${before}[${clip(a.slice(p, a.length - s))} → ${clip(b.slice(p, b.length - s))}]${after}`;
}

function outputDiff(stream: 'stdout' | 'stderr', a: string, b: string): OutputDiff[] {
  if (a === b) return [];
  const lines = (x: string) => (x.endsWith('\n') ? x.slice(0, -1) : x).split('\n');
  const la = a === '' ? [] : lines(a);
  const lb = b === '' ? [] : lines(b);
  let i = 0;
  while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
  return [{ stream, line: i + 1, a: i < la.length ? la[i] : null, b: i < lb.length ? lb[i] : null }];
}
