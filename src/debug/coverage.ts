// What code chosen turns ran, for `rewind analyze` to name the state two racing turns share
// (src/analyze/state.ts). V8's precise block coverage, taken through an in-thread inspector
// session: each take returns the blocks run since the previous one and resets the counts, so
// the takes around a turn give exactly what that turn (and the microtasks after it) ran.
// Coverage only counts: the program runs as it would, and the log is consumed as it would be.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { cjsLoader, inspectorModule } from '../node/fields.js';
import { PACKAGE_JSON, isRewindFile } from '../paths.js';
import type { Report } from './protocol.js';

/** One function that ran: its ranges as [start, end, count], the function's own first (V8's order). */
export type CoveredFunction = [number, number, number][];

/** The functions of one script that ran during a turn. */
export interface CoveredScript {
  url: string;
  functions: CoveredFunction[];
}

interface ScriptCoverage {
  url: string;
  functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[];
}

/** Turns measured for one side, at most: a side that goes on (a server B started) is cut short. */
const SIDE_TURNS = 1000;

/**
 * The two sides of a race, as they ran in the passing order (A before B). A: every turn
 * from A up to B, what B overtakes in the failing order (A and what it led to: fs.readFile's
 * open starts its read, whose callback is the program's). B: B's turn, the later deliveries
 * of its operation and the turns of the operations created while one of B's turns ran.
 */
interface Side {
  n: number;
  turns: number;
}

export class TurnCoverage {
  private readonly session = new (inspectorModule().Session)();
  private readonly a: Side;
  private readonly b: Side;
  /** B's operations: its own and those its turns created. */
  private readonly bOps = new Set<number>();
  /** The side whose turn is running, and what it ran since the last report. */
  private current: { side: Side; scripts: Map<string, CoveredFunction[]> } | null = null;
  /** Where rewind's own dependencies (msgpackr, reading the log) are: their code runs inside turns too. */
  private readonly ownPackages = ownPackages();

  constructor(
    /** The event numbers of turns A and B, A first. */
    a: number,
    b: number,
    private readonly send: (r: Report) => void,
  ) {
    this.a = { n: a, turns: 0 };
    this.b = { n: b, turns: 0 };
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Turn `n` of operation `op` is about to run: what ran since the last take belongs to the side measured before it. */
  turnStarts(n: number, op: number): void {
    if (this.current) this.close();
    const side =
      n >= this.a.n && n < this.b.n ? this.a : n === this.b.n || (n > this.b.n && this.bOps.has(op)) ? this.b : null;
    if (!side || side.turns >= SIDE_TURNS) return;
    if (side === this.b) this.bOps.add(op);
    side.turns++;
    this.take(); // what ran before belongs to no side
    this.current = { side, scripts: new Map() };
  }

  /** Operation `op` was created: while one of B's turns runs, it is B's. */
  created(op: number): void {
    if (this.current?.side === this.b) this.bOps.add(op);
  }

  /** A point inside the run (a callback returned): what ran so far is kept. */
  checkpoint(): void {
    if (this.current) this.collect(this.take());
  }

  /** The end of the log: nothing runs after it. */
  end(): void {
    if (this.current) this.close();
  }

  /** Reports what the current turn ran, as its side's (the front end adds up a side's reports). */
  private close(): void {
    const cur = this.current!;
    this.collect(this.take());
    this.current = null;
    const scripts: CoveredScript[] = [...cur.scripts].map(([url, functions]) => ({ url, functions }));
    if (scripts.length || cur.side.turns === 1) this.send({ t: 'touched', n: cur.side.n, scripts });
  }

  private collect(result: ScriptCoverage[]): void {
    const into = this.current!.scripts;
    for (const s of result) {
      // The program's scripts: not Node's own (node:…), not rewind's, not eval'd code without a file.
      if (!(s.url.startsWith('file:') || s.url.startsWith('/')) || isRewindFile(s.url)) continue;
      if (this.ownPackages.some((dir) => s.url.startsWith(dir))) continue;
      const ran = s.functions
        // Called, or resumed (an async function after an await: its own count stays 0, a block's is not).
        .filter((f) => f.ranges.some((r) => r.count > 0))
        .map((f) => f.ranges.map((r) => [r.startOffset, r.endOffset, r.count] as [number, number, number]));
      if (ran.length === 0) continue;
      const list = into.get(s.url) ?? [];
      list.push(...ran);
      into.set(s.url, list);
    }
  }

  private take(): ScriptCoverage[] {
    return (this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] }).result;
  }

  /** An in-thread session answers synchronously. */
  private post(method: string, params?: object): unknown {
    let got: unknown;
    let error: Error | null = null;
    this.session.post(method, params, (e, r) => {
      error = e;
      got = r;
    });
    if (error) throw error as Error;
    return got;
  }
}

/** The directories (as paths and file: URLs) of the packages rewind depends on, as it resolves them. */
function ownPackages(): string[] {
  const require = cjsLoader.createRequire(PACKAGE_JSON);
  let names: string[];
  try {
    const pkg = JSON.parse(fs.readFileSync(PACKAGE_JSON, 'utf8')) as { dependencies?: Record<string, string> };
    names = Object.keys(pkg.dependencies ?? {});
  } catch {
    return [];
  }
  const dirs: string[] = [];
  for (const name of names) {
    let file: string;
    try {
      file = require.resolve(name);
    } catch {
      continue; // not installed, or no entry point for require (not one the replay loads)
    }
    const at = file.lastIndexOf(`/node_modules/${name}/`);
    if (at < 0) continue;
    const dir = file.slice(0, at + `/node_modules/${name}/`.length);
    dirs.push(dir, pathToFileURL(dir).href);
  }
  return dirs;
}
