// The shared state two racing turns touch: the variable or property one of them writes and
// the other reads. A replay of a run holding both turns reports the code each one ran (V8
// block coverage around the turn, src/debug/coverage.ts); the scripts are then parsed and the
// writes and reads inside that code matched by binding (src/analyze/accesses.ts). The replay
// is an ordinary one that only counts blocks: it consumes the log as any replay does, and is
// stopped after a time budget ("could not tell" rather than a hang).
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Node } from 'acorn';
import { CliError, type Recording } from '../cli/recordings.js';
import { ReplayedProcess, type Next } from '../cli/replayed.js';
import type { CoveredScript } from '../debug/coverage.js';
import { EXIT } from '../exit-codes.js';
import { ENV } from '../session/env.js';
import { accessesIn, fitsSource, parseScript, type Access, type Reach } from './accesses.js';

export type Which = 'A' | 'B';

export interface Place {
  /** path:line:column */
  site: string;
  turn: Which;
}

export interface SharedState {
  /** As the program spells it: `config`, `this.ready`, `cache.entries`. */
  name: string;
  write: Place;
  read: Place;
  /** module: a top-level variable, a global or a property of one; this: a property of `this`; closure: a variable of an enclosing call. */
  reach: Reach;
}

export interface StateFinding {
  found: SharedState[];
  /** Why nothing (or not everything) could be told. */
  note: string | null;
  ms: number;
}

export interface StateOptions {
  allowNative?: string[];
  /** The replay is stopped after this long (default 30 s). */
  budgetMs?: number;
}

/** Scripts larger than this are not parsed (bundles): bounded work. */
const MAX_SCRIPT_CHARS = 4_000_000;

/**
 * What turns `A` and `B` (event numbers in `rec`, a run where A came first) both touch,
 * written by one and read by the other. A's side is every turn from A up to B: what B
 * overtakes in the failing order.
 */
export async function sharedState(rec: Recording, turns: Record<Which, number>, opts: StateOptions = {}) {
  const t0 = Date.now();
  const done = (found: SharedState[], note: string | null): StateFinding => ({ found, note, ms: Date.now() - t0 });
  const budgetMs = opts.budgetMs ?? 30_000;
  const touched = new Map<number, CoveredScript[]>();
  let replayed: ReplayedProcess;
  try {
    replayed = new ReplayedProcess(rec, {
      env: { [ENV.STATE]: `${turns.A},${turns.B}` },
      stdio: ['ignore', 'ignore', 'ignore'],
      allowNative: opts.allowNative,
      onTouched: (r) => touched.set(r.n, [...(touched.get(r.n) ?? []), ...r.scripts]),
    });
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    return done([], `the passing run could not be replayed: ${e.message.replace(/^rewind: /, '')}`);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void replayed.kill();
  }, budgetMs);
  let next: Next;
  try {
    while ((next = await replayed.next()).t !== 'ended');
  } finally {
    clearTimeout(timer);
  }
  if (timedOut)
    return done(
      [],
      `the passing run's replay took longer than the ${budgetMs / 1000} s budget (--state-budget) and was stopped`,
    );
  if (next.status.code === EXIT.DIVERGENCE || next.status.code === EXIT.BAD_TRACE)
    return done([], "the passing run's replay did not follow its recording");
  const ran = { A: touched.get(turns.A), B: touched.get(turns.B) };
  for (const w of ['A', 'B'] as const)
    if (!ran[w]) return done([], `turn ${w} did not run to its end in the passing run's replay`);
  const accesses = { A: [] as Located[], B: [] as Located[] };
  const sources = new Map<string, { ast: Node; lines: number[]; file: string } | null>();
  let skipped = 0;
  for (const w of ['A', 'B'] as const) {
    const byUrl = new Map<string, CoveredScript['functions']>();
    for (const s of ran[w]!) byUrl.set(s.url, [...(byUrl.get(s.url) ?? []), ...s.functions]);
    for (const s of [...byUrl].map(([url, functions]) => ({ url, functions }))) {
      if (Date.now() - t0 > budgetMs)
        return done(
          [],
          `reading the code the two turns ran took longer than the ${budgetMs / 1000} s budget (--state-budget)`,
        );
      if (!sources.has(s.url)) sources.set(s.url, load(s.url));
      const src = sources.get(s.url);
      if (!src || !fitsSource(src.ast, s.functions)) {
        skipped++;
        continue;
      }
      for (const a of accessesIn(src.ast, s.url, s.functions)) accesses[w].push({ ...a, site: siteOf(src, a.pos) });
    }
  }
  const matched = [...match(accesses.A, accesses.B, 'A', 'B'), ...match(accesses.B, accesses.A, 'B', 'A')];
  // Closest reach first, then A's writes B read, then the program's own code before its
  // packages', then the earliest read in a script (a guard comes first).
  const rank = (x: SharedState) =>
    REACH_RANK[x.reach] * 4 + (x.write.turn === 'A' ? 0 : 2) + (/[\\/]node_modules[\\/]/.test(x.read.site) ? 1 : 0);
  matched.sort((x, y) => rank(x.found) - rank(y.found) || x.readPos - y.readPos);
  const found = matched.map((x) => x.found);
  const note = found.length
    ? null
    : 'no variable or property is written by one of the two turns and read by the other' +
      (skipped
        ? ` in the code rewind could read (${skipped} script${skipped === 1 ? '' : 's'} not read: too large, ` +
          'not JavaScript acorn parses, or not the text on disk: transformed when loaded)'
        : '; what they share may be outside JavaScript: a file, a socket, another process');
  return done(found.slice(0, 10), note);
}

const REACH_RANK: Record<Reach, number> = { module: 0, this: 1, closure: 2 };

interface Located extends Access {
  site: string;
}

/** Keys `writer` wrote and `reader` read: the first write and the first read of each (in source order). */
function match(writer: Located[], reader: Located[], w: Which, r: Which): { found: SharedState; readPos: number }[] {
  const reads = new Map<string, Located>();
  for (const a of reader) if (!a.write) reads.set(a.key, first(reads.get(a.key), a));
  const out = new Map<string, { found: SharedState; readPos: number }>();
  for (const a of writer) {
    if (!a.write) continue;
    const read = reads.get(a.key);
    if (!read) continue;
    if (out.has(a.key)) continue;
    const found = {
      name: a.name,
      write: { site: a.site, turn: w },
      read: { site: read.site, turn: r },
      reach: a.reach,
    };
    out.set(a.key, { found, readPos: read.pos });
  }
  return [...out.values()];
}

const first = (x: Located | undefined, y: Located): Located => (x && x.pos <= y.pos ? x : y);

function load(url: string): { ast: Node; lines: number[]; file: string } | null {
  let file: string;
  let text: string;
  try {
    file = url.startsWith('file:') ? fileURLToPath(url) : url;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  // Node strips a byte-order mark before compiling; V8's offsets are into what it compiled.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length > MAX_SCRIPT_CHARS) return null;
  const ast = parseScript(text);
  if (!ast) return null;
  const lines = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.push(i + 1);
  return { ast, lines, file };
}

function siteOf(src: { lines: number[]; file: string }, pos: number): string {
  let lo = 0;
  let hi = src.lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (src.lines[mid] <= pos) lo = mid;
    else hi = mid - 1;
  }
  return `${src.file}:${lo + 1}:${pos - src.lines[lo] + 1}`;
}
