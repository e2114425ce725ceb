// The search for the reordering that turns a pass into a failure, between a passing and a
// failing order of the same turns (op.k keys). Candidate k runs the failing order's first k
// turns, then the rest in the passing order: candidate 0 is the passing order, candidate n
// the failing one. Bisection (a few candidates at once) finds the smallest k that fails;
// the failing order's k-th turn, run where the passing order ran another, is one event of
// the racing pair, and the turn it overtook the other.

/**
 * Candidate k's order: the first k turns of `failing`, then the others in `passing`'s order,
 * then any only `failing` has.
 */
export function candidateOrder(failing: string[], passing: string[], k: number): string[] {
  const prefix = failing.slice(0, k);
  const taken = new Set(prefix);
  const rest = passing.filter((t) => !taken.has(t));
  for (const t of rest) taken.add(t);
  return [...prefix, ...rest, ...failing.slice(k).filter((t) => !taken.has(t))];
}

export type Verdict = 'fails' | 'passes';

export interface Bisection {
  /** Largest candidate known to pass and smallest known to fail. */
  lo: number;
  hi: number;
  tried: number;
  /** The search stopped early (Ctrl-C): lo and hi are what it had narrowed to. */
  stopped: boolean;
}

/**
 * Narrows [lo, hi] (lo passes, hi fails) to adjacent candidates, `width` at once: each round
 * splits the interval into width + 1 parts and runs the width inner points in parallel.
 */
export async function bisect(
  lo: number,
  hi: number,
  width: number,
  run: (k: number) => Promise<Verdict>,
  onRound: (b: Bisection) => void = () => {},
  stop: () => boolean = () => false,
): Promise<Bisection> {
  const b: Bisection = { lo, hi, tried: 0, stopped: false };
  while (b.hi - b.lo > 1) {
    if (stop()) {
      b.stopped = true;
      break;
    }
    const span = b.hi - b.lo;
    const points = [
      ...new Set(
        Array.from(
          { length: Math.min(width, span - 1) },
          (_, i) => b.lo + Math.round((span * (i + 1)) / (Math.min(width, span - 1) + 1)),
        ),
      ),
    ].filter((k) => k > b.lo && k < b.hi);
    const verdicts = await Promise.all(points.map(run));
    b.tried += points.length;
    if (stop()) {
      // Runs cut short by the stop say nothing: the round is not used.
      b.stopped = true;
      break;
    }
    const firstFail = points.findIndex((_, i) => verdicts[i] === 'fails');
    if (firstFail >= 0) {
      b.hi = points[firstFail];
      if (firstFail > 0) b.lo = points[firstFail - 1];
    } else b.lo = points[points.length - 1];
    onRound(b);
  }
  return b;
}
