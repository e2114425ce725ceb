// Which operation of one run is which of another. Op ids are handed out in creation order,
// and a run whose turns came in another order creates its later operations in another
// order too (agentkeepalive #23: a socket's end read late shifts every id of the next
// request by two), so the same id can name another operation. Operations are matched by
// what they are (the kind of their first turn: "net.connect callback", "stream read",
// "setTimeout callback"), in creation order: the longest common subsequence of the two
// runs' operations, by kind, in id order, then what is left of each kind by rank (two
// operations created in the other order: a socket's close and the next request's connect).
import { turnKind, turnKey, type RunModel } from './run.js';

/** Past this many cells the common subsequence is not searched: operations are matched by kind and rank. */
const MAX_CELLS = 4_000_000;

/** A run's operations in creation (id) order, with the kind of each. */
function opsOf(run: RunModel): { ops: number[]; kinds: string[] } {
  const kind = new Map<number, string>();
  for (const t of run.turns) if (t.k === 0 && !kind.has(t.op)) kind.set(t.op, turnKind(t.ev));
  const ops = [...kind.keys()].sort((x, y) => x - y);
  return { ops, kinds: ops.map((op) => kind.get(op)!) };
}

/** Pairs [i, j] of a longest common subsequence of a and b (a DP table; empty when too large). */
function commonSubsequence(a: string[], b: string[]): [number, number][] | null {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) return null;
  // len[i][j]: LCS of a[i..] and b[j..], row by row from the end; the choices kept to walk back.
  const step = new Uint8Array(n * m);
  let next = new Int32Array(m + 1);
  let row = new Int32Array(m + 1);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      if (a[i] === b[j]) {
        row[j] = next[j + 1] + 1;
        step[i * m + j] = 0;
      } else if (next[j] >= row[j + 1]) {
        row[j] = next[j];
        step[i * m + j] = 1;
      } else {
        row[j] = row[j + 1];
        step[i * m + j] = 2;
      }
    }
    [next, row] = [row, next];
  }
  const pairs: [number, number][] = [];
  for (let i = 0, j = 0; i < n && j < m;) {
    const s = step[i * m + j];
    if (s === 0) pairs.push([i++, j++]);
    else if (s === 1) i++;
    else j++;
  }
  return pairs;
}

/**
 * `other`'s turn keys in `base`'s op ids. An operation of `other` with no counterpart in
 * `base` keeps its id (`base` may have created it and not heard from it: a failing run often
 * ends early), or, when `base` names another operation so, takes an id after all of
 * `base`'s, in creation order.
 */
export function keysIn(base: RunModel, other: RunModel): string[] {
  const b = opsOf(base);
  const o = opsOf(other);
  const to = new Map<number, number>();
  const pairs = commonSubsequence(b.kinds, o.kinds) ?? [];
  const matchedB = new Set<number>();
  for (const [i, j] of pairs) {
    to.set(o.ops[j], b.ops[i]);
    matchedB.add(i);
  }
  // What is left of each kind, by rank.
  const left = new Map<string, number[]>();
  b.ops.forEach((op, i) => {
    if (matchedB.has(i)) return;
    const l = left.get(b.kinds[i]);
    if (l) l.push(op);
    else left.set(b.kinds[i], [op]);
  });
  const unmatched: number[] = [];
  o.ops.forEach((op, j) => {
    if (to.has(op)) return;
    const mate = left.get(o.kinds[j])?.shift();
    if (mate !== undefined) to.set(op, mate);
    else unmatched.push(op);
  });
  const used = new Set(b.ops);
  const kept = new Set(unmatched.filter((op) => !used.has(op)));
  let fresh = b.ops.length ? b.ops[b.ops.length - 1] : 0;
  for (const op of unmatched) {
    if (kept.has(op)) to.set(op, op);
    else {
      do fresh++;
      while (kept.has(fresh));
      to.set(op, fresh);
    }
  }
  return other.turns.map((t) => turnKey(to.get(t.op) ?? t.op, t.k));
}
