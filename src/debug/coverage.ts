// What code chosen turns ran, for `rewind analyze` to name the state two racing turns share
// (src/analyze/state.ts). V8's precise block coverage, taken through an in-thread inspector
// session: each take returns the blocks run since the previous one and resets the counts, so
// the takes around a turn give exactly what that turn (and the microtasks after it) ran.
// Coverage only counts: the program runs as it would, and the log is consumed as it would be.
import fs from 'node:fs';
import inspector from 'node:inspector';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { PACKAGE_JSON_URL, isRewindFile } from '../paths.js';
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

/** Turns measured for one family, at most: a family that goes on (a server B started) is cut short. */
const FAMILY_TURNS = 200;

/**
 * A turn's family: the turn, the later deliveries of its operation, and the turns of the
 * operations created while a family turn ran (fs.readFile's open starts its read, whose
 * callback is the program's). A's family is measured until B's turn, B's to the end.
 */
interface Family {
  n: number;
  ops: Set<number>;
  turns: number;
  open: boolean;
}

export class TurnCoverage {
  private readonly session = new inspector.Session();
  private readonly families: Family[];
  /** The family whose turn is running, and what it ran since the last report. */
  private current: { family: Family; scripts: Map<string, CoveredFunction[]> } | null = null;
  /** Where rewind's own dependencies (msgpackr, reading the log) are: their code runs inside turns too. */
  private readonly ownPackages = ownPackages();

  constructor(
    /** The event numbers of turns A and B, in the order they run. */
    turns: readonly number[],
    private readonly send: (r: Report) => void,
  ) {
    this.families = turns.map((n) => ({ n, ops: new Set<number>(), turns: 0, open: true }));
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** Turn `n` of operation `op` is about to run: what ran since the last take belongs to the family measured before it. */
  turnStarts(n: number, op: number): void {
    if (this.current) this.close();
    const i = this.families.findIndex((f) => f.n === n);
    // The later family's first turn ends the measurement of the earlier ones.
    if (i >= 0) for (const f of this.families.slice(0, i)) f.open = false;
    const family = i >= 0 ? this.families[i] : this.families.find((f) => f.open && f.ops.has(op) && f.turns > 0);
    if (!family || family.turns >= FAMILY_TURNS) return;
    family.ops.add(op);
    family.turns++;
    this.take(); // what ran before belongs to no family
    this.current = { family, scripts: new Map() };
  }

  /** Operation `op` was created: while a family turn runs, it joins the family. */
  created(op: number): void {
    this.current?.family.ops.add(op);
  }

  /** A point inside the run (a value consumed, a callback returned): what ran so far is kept. */
  checkpoint(): void {
    if (this.current) this.collect(this.take());
  }

  /** The end of the log: nothing runs after it. */
  end(): void {
    if (this.current) this.close();
  }

  /** Reports what the current family turn ran (the front end adds up a family's reports). */
  private close(): void {
    const cur = this.current!;
    this.collect(this.take());
    this.current = null;
    const scripts: CoveredScript[] = [...cur.scripts].map(([url, functions]) => ({ url, functions }));
    if (scripts.length || cur.family.turns === 1) this.send({ t: 'touched', n: cur.family.n, scripts });
  }

  private collect(result: ScriptCoverage[]): void {
    const into = this.current!.scripts;
    for (const s of result) {
      // The program's scripts: not Node's own (node:…), not rewind's, not eval'd code without a file.
      if (!(s.url.startsWith('file:') || s.url.startsWith('/')) || isRewindFile(s.url)) continue;
      if (this.ownPackages.some((dir) => s.url.startsWith(dir))) continue;
      const ran = s.functions
        .filter((f) => f.ranges[0]?.count > 0)
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
  const require = createRequire(PACKAGE_JSON_URL);
  let names: string[];
  try {
    const pkg = JSON.parse(fs.readFileSync(PACKAGE_JSON_URL, 'utf8')) as { dependencies?: Record<string, string> };
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
