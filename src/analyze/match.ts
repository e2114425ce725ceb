// Which process of one recording is which of another: processes are matched by their
// program and their place in the process tree (the n-th child of that program under the
// same parent), never by pid, which differs from run to run.
import type { RecordedProcess } from '../trace/store.js';

/** A process's place: `app#0/worker#0`, `npm#0/node#1`. */
export function placesOf(list: RecordedProcess[]): Map<string, RecordedProcess> {
  const byPid = new Map(list.filter((p) => p.threadId === 0).map((p) => [p.pid, p]));
  const memo = new Map<RecordedProcess, string>();
  const parentOf = (p: RecordedProcess): RecordedProcess | null =>
    p.threadId !== 0 ? (byPid.get(p.pid) ?? null) : (byPid.get(p.ppid) ?? null);
  const placeOf = (p: RecordedProcess): string => {
    const known = memo.get(p);
    if (known !== undefined) return known;
    const parent = parentOf(p);
    const name = p.threadId !== 0 ? 'worker' : p.name;
    // Siblings of the same program, in the order they started.
    const rank = list
      .filter((q) => q !== p && parentOf(q) === parent && (q.threadId !== 0 ? 'worker' : q.name) === name)
      .filter(
        (q) =>
          q.trace.header.startWall < p.trace.header.startWall ||
          (q.trace.header.startWall === p.trace.header.startWall && (q.threadId || q.pid) < (p.threadId || p.pid)),
      ).length;
    const place = `${parent ? `${placeOf(parent)}/` : ''}${name}#${rank}`;
    memo.set(p, place);
    return place;
  };
  return new Map(list.map((p) => [placeOf(p), p]));
}

export interface Pairing {
  pairs: { place: string; a: RecordedProcess; b: RecordedProcess }[];
  onlyA: string[];
  onlyB: string[];
}

export function pairProcesses(a: RecordedProcess[], b: RecordedProcess[]): Pairing {
  const pa = placesOf(a);
  const pb = placesOf(b);
  const pairs: Pairing['pairs'] = [];
  for (const [place, p] of pa) {
    const q = pb.get(place);
    if (q) pairs.push({ place, a: p, b: q });
  }
  return { pairs, onlyA: [...pa.keys()].filter((k) => !pb.has(k)), onlyB: [...pb.keys()].filter((k) => !pa.has(k)) };
}
