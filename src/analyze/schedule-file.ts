// The FILE of `rewind record --schedule FILE`: a target order of turns, each named by its
// operation and which delivery of it (op id, k). Accepted as:
// - a recording (directory or .rwnd log): the order its processes ran their turns in;
// - `rewind events --json` output (one event per line): its turn events, in order;
// - JSON: {"turns": [[op, k], ...]} or [{"op": 3, "k": 0}, ...] (k counts from 0; left out,
//   it is the operation's next delivery), or the full form written for the preload
//   ({"rewindSchedule": 1, "processes": [{"program", "thread", "turns"}]}).
// It is data: only numbers are taken from it.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { CliError, processesOf } from '../cli/recordings.js';
import type { ScheduleEntry, ScheduleSpec } from '../session/schedule.js';
import { MAGIC } from '../trace/format.js';
import { TraceReader, TraceError, type TraceFile } from '../trace/reader.js';
import { programName } from '../trace/store.js';
import { readRun } from './run.js';

/** How long a delivery may wait for turns of the target that do not come (ms). */
export const DEFAULT_WAIT_MS = 1000;
const MAX_TURNS = 10_000_000;

const bad = (file: string, why: string) =>
  new CliError(
    `rewind: ${file} is not a schedule: ${why}. ` +
      'Pass a recording, the output of `rewind events --json`, or JSON {"turns": [[op, k], ...]}.',
    EXIT.USAGE,
  );

export function entryOf(t: TraceFile): ScheduleEntry {
  const run = readRun(t);
  const h = t.header;
  return {
    program: programName(h.argv),
    thread: (h.threadId ?? 0) !== 0,
    turns: run.turns.map((x) => [x.op, x.k]),
    randomSeed: h.randomSeed,
  };
}

/** Reads FILE into the form the preload takes. */
export function loadSchedule(file: string, waitMs = DEFAULT_WAIT_MS): ScheduleSpec {
  const abs = path.resolve(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new CliError(`rewind: there is no schedule at ${abs}. Pass a recording or a JSON file of turns.`, EXIT.USAGE);
  }
  const spec = (processes: ScheduleEntry[]): ScheduleSpec => ({ rewindSchedule: 1, from: file, waitMs, processes });
  if (st.isDirectory()) {
    return spec(
      processesOf(abs)
        .filter((p) => !p.passThrough)
        .map((p) => entryOf(p.trace)),
    );
  }
  const bytes = fs.readFileSync(abs);
  if (bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    try {
      return spec([entryOf(TraceReader.open(abs))]);
    } catch (e) {
      if (e instanceof TraceError) throw new CliError(e.message, EXIT.BAD_TRACE);
      throw e;
    }
  }
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (json === undefined) return spec([{ program: null, thread: false, turns: turnsOf(file, eventLines(file, text)) }]);
  if (Array.isArray(json)) return spec([{ program: null, thread: false, turns: turnsOf(file, json) }]);
  if (json !== null && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    if (o.rewindSchedule === 1 && Array.isArray(o.processes)) {
      return spec(
        o.processes.map((p, i) => {
          if (p === null || typeof p !== 'object') throw bad(file, `processes[${i}] is not an object`);
          const e = p as Record<string, unknown>;
          if (e.program !== null && typeof e.program !== 'string')
            throw bad(file, `processes[${i}].program is not a name`);
          return {
            program: e.program as string | null,
            thread: e.thread === true,
            turns: turnsOf(file, e.turns),
            ...seedOf(e.randomSeed),
          };
        }),
      );
    }
    if (Array.isArray(o.turns)) return spec([{ program: null, thread: false, turns: turnsOf(file, o.turns) }]);
    if (o.kind === 'turn')
      return spec([{ program: null, thread: false, turns: turnsOf(file, eventLines(file, text)) }]);
  }
  throw bad(file, 'it holds no list of turns');
}

function seedOf(x: unknown): { randomSeed?: [number, number, number, number] } {
  const ok = Array.isArray(x) && x.length === 4 && x.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
  return ok ? { randomSeed: x as [number, number, number, number] } : {};
}

/** `rewind events --json` lines: the turn events. */
function eventLines(file: string, text: string): unknown[] {
  const out: unknown[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      throw bad(file, `line ${i + 1} is not JSON`);
    }
    if (ev !== null && typeof ev === 'object' && (ev as { kind?: unknown }).kind === 'turn') out.push(ev);
  }
  return out;
}

const isOp = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 1;
const isK = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

function turnsOf(file: string, list: unknown): [number, number][] {
  if (!Array.isArray(list)) throw bad(file, 'turns is not a list');
  if (list.length > MAX_TURNS) throw bad(file, `it has more than ${MAX_TURNS} turns`);
  const next = new Map<number, number>();
  return list.map((t, i) => {
    let op: unknown;
    let k: unknown;
    if (Array.isArray(t)) [op, k] = t;
    else if (t !== null && typeof t === 'object') ({ op, k } = t as { op?: unknown; k?: unknown });
    if (!isOp(op)) throw bad(file, `turn ${i + 1} has no operation id (a whole number from 1)`);
    if (k === undefined) k = next.get(op) ?? 0;
    if (!isK(k)) throw bad(file, `turn ${i + 1} has a delivery number that is not a whole number from 0`);
    next.set(op, k + 1);
    return [op, k];
  });
}

export interface Following {
  followed: boolean;
  /** Turns of the target the run had, and those it never had. */
  matched: number;
  missing: number;
  /** The first turn the run ran out of the target's order, and the one the target had there. */
  first?: { index: number; ran: string; expected: string };
}

/** How far a run's turns (op.k keys) followed the target's order. */
export function following(target: [number, number][], ran: string[]): Following {
  const want = target.map(([op, k]) => `${op}.${k}`);
  const inRun = new Set(ran);
  const inTarget = new Set(want);
  const t = want.filter((k) => inRun.has(k));
  const r = ran.filter((k) => inTarget.has(k));
  const res: Following = { followed: true, matched: t.length, missing: want.length - t.length };
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== r[i]) {
      res.followed = false;
      res.first = { index: i, ran: r[i], expected: t[i] };
      break;
    }
  }
  return res;
}
