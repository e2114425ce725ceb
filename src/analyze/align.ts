// Which operation of one run is which of another. Op ids are handed out in creation order,
// and a run whose turns came in another order creates its later operations in another
// order too (agentkeepalive #23: a socket's end read late shifts every id of the next
// request by two), so the same id can name another operation. Operations are matched by
// what their turns are (the kind of their first turn: "net.connect callback", "stream
// read", "setTimeout callback") and their rank among the operations of that kind, in
// creation order: the second socket connected is the second socket connected.
import { turnKind, turnKey, type RunModel } from './run.js';

/** The kinds of a run's operations, each kind's operations in creation (id) order. */
function opsByKind(run: RunModel): Map<string, number[]> {
  const kinds = new Map<string, number[]>();
  for (const t of run.turns) {
    if (t.k !== 0) continue;
    const kind = turnKind(t.ev);
    const ops = kinds.get(kind);
    if (ops) ops.push(t.op);
    else kinds.set(kind, [t.op]);
  }
  for (const ops of kinds.values()) ops.sort((x, y) => x - y);
  return kinds;
}

/**
 * `other`'s turn keys in `base`'s op ids: an operation of `other` takes the id of the
 * operation of `base` of the same kind and rank. One `base` has no counterpart for keeps
 * its own id unless `base` uses that id for another operation; then its turns are left out
 * (the schedule does not name them: they come after the turns it names).
 */
export function keysIn(base: RunModel, other: RunModel): string[] {
  const mine = opsByKind(base);
  const used = new Set(base.turns.map((t) => t.op));
  const to = new Map<number, number | null>();
  for (const [kind, ops] of opsByKind(other)) {
    const match = mine.get(kind) ?? [];
    ops.forEach((op, i) => to.set(op, i < match.length ? match[i] : used.has(op) ? null : op));
  }
  const keys: string[] = [];
  for (const t of other.turns) {
    const op = to.get(t.op);
    if (op !== null && op !== undefined) keys.push(turnKey(op, t.k));
  }
  return keys;
}
