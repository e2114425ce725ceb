// Two runs whose operations were created in another order: analyze compares them by what
// each operation is (its kind, its rank among that kind), not by op id.
import { describe, expect, it } from 'vitest';
import { keysIn } from '../src/analyze/align.js';
import type { RunModel } from '../src/analyze/run.js';
import { Api, Tag } from '../src/trace/format.js';
import type { TraceEvent } from '../src/trace/reader.js';

type Kind = 'connect' | 'close' | 'read' | 'timer';

/** A run with these turns, [op, what] in the order they ran (k counted per op). */
function run(turns: [number, Kind][]): RunModel {
  const ks = new Map<number, number>();
  const ev = (op: number, what: Kind): TraceEvent => {
    if (what === 'read') return { kind: 'turn', tag: Tag.StreamRead, op } as TraceEvent;
    if (what === 'timer') return { kind: 'turn', tag: Tag.Timeout, op } as TraceEvent;
    const api = what === 'connect' ? Api['net.connect'] : Api['handle.close'];
    return { kind: 'turn', tag: Tag.Callback, api, op } as TraceEvent;
  };
  return {
    turns: turns.map(([op, what]) => {
      const k = ks.get(op) ?? 0;
      ks.set(op, k + 1);
      return { key: `${op}.${k}`, op, k, ev: ev(op, what) };
    }),
  } as RunModel;
}

describe('keysIn', () => {
  it("names another run's operations by the ids of the same operations in this one", () => {
    // The failing run's second request was created two ids earlier than the passing run's
    // (the first socket's server-side close came later there).
    const failing = run([
      [6, 'connect'],
      [5, 'read'],
      [9, 'timer'],
      [11, 'close'],
      [15, 'connect'],
      [14, 'read'],
      [14, 'read'],
      [18, 'close'],
    ]);
    const passing = run([
      [6, 'connect'],
      [5, 'read'],
      [9, 'timer'],
      [11, 'close'],
      [13, 'close'],
      [17, 'connect'],
      [16, 'read'],
      [16, 'read'],
      [20, 'timer'],
    ]);
    // Passing's close 13 is the failing run's second close (18); 17 and 16 are the failing
    // run's 15 and 14; its second timer (20) has no counterpart and keeps its id.
    expect(keysIn(failing, passing)).toEqual(['6.0', '5.0', '9.0', '11.0', '18.0', '15.0', '14.0', '14.1', '20.0']);
    // A run compared with itself keeps its keys.
    expect(keysIn(passing, passing)).toEqual(passing.turns.map((t) => t.key));
  });

  it('an operation the failing run never heard from keeps its id', () => {
    // The failing run ended at the data response (3), before the login response (1) came.
    const failing = run([
      [2, 'connect'],
      [4, 'connect'],
      [3, 'read'],
    ]);
    const passing = run([
      [2, 'connect'],
      [4, 'connect'],
      [1, 'read'],
      [3, 'read'],
      [6, 'close'],
    ]);
    expect(keysIn(failing, passing)).toEqual(['2.0', '4.0', '1.0', '3.0', '6.0']);
  });

  it('an operation without a counterpart whose id names another one takes an id after them all', () => {
    const base = run([
      [1, 'timer'],
      [2, 'read'],
    ]);
    const other = run([
      [1, 'timer'],
      [2, 'timer'],
      [3, 'read'],
    ]);
    // A failing run that ended at its read (2): the other's timer 2 has no counterpart; it is 3 there.
    expect(keysIn(base, other)).toEqual(['1.0', '3.0', '2.0']);
  });
});
