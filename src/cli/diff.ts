// `rewind diff A B [-p PID[,PID]] [--json] [--sites]`: what differs between two recordings
// of the same program: the first point their schedules part, the values they received
// differently, their outputs, how each ended. Reads the logs only (with --sites, replays
// both to say where each differing turn was scheduled).
import { diffRuns, type RunDiff, type TurnInfo } from '../analyze/diff.js';
import { pairProcesses } from '../analyze/match.js';
import { readRun } from '../analyze/run.js';
import { EXIT } from '../exit-codes.js';
import { eventSites } from './replay-until.js';
import { CliError, processesOf, resolveRecording, type RecordedProcess, type Recording } from './recordings.js';
import { showSite } from './replayed.js';
import { printable, shownPath } from '../shell.js';

export interface DiffOptions {
  process?: string;
  json?: boolean;
  sites?: boolean;
  allowNative?: string[];
  trust?: boolean;
}

export interface ProcessDiff {
  place: string;
  a: { pid: number; log: string };
  b: { pid: number; log: string };
  diff: RunDiff;
}

/** One log (or one chosen process) each, or every process matched by its place. */
function selected(arg: string, which: string | undefined): { rec: Recording; list: RecordedProcess[] } {
  const rec = resolveRecording(arg, process.cwd(), which, { thread: true });
  if (which !== undefined || !rec.processes) {
    const list = rec.processes?.filter((p) => p.log === rec.log) ?? [];
    return { rec, list: list.length ? list : processesOf(rec.dir).filter((p) => p.log === rec.log) };
  }
  return { rec, list: rec.processes };
}

export async function diffRecordings(a: string, b: string, opts: DiffOptions): Promise<ProcessDiff[]> {
  const [whichA, whichB] =
    opts.process === undefined
      ? [undefined, undefined]
      : opts.process.includes(',')
        ? opts.process.split(',')
        : [opts.process, opts.process];
  const A = selected(a, whichA);
  const B = selected(b, whichB);
  const single = A.list.length === 1 && B.list.length === 1;
  const pairing = single
    ? { pairs: [{ place: A.list[0].name, a: A.list[0], b: B.list[0] }], onlyA: [], onlyB: [] }
    : pairProcesses(A.list, B.list);
  if (pairing.pairs.length === 0) {
    throw new CliError(
      `rewind: no process of ${a} matches one of ${b} (by program and place in the process tree): ` +
        'are they recordings of the same command? Pick one each with -p PID_A,PID_B.',
      EXIT.USAGE,
    );
  }
  const out: ProcessDiff[] = [];
  for (const { place, a: pa, b: pb } of pairing.pairs) {
    if (pa.passThrough || pb.passThrough) continue;
    const ra = readRun(pa.trace);
    const rb = readRun(pb.trace);
    let sites: { a?: Map<number, string>; b?: Map<number, string> } | undefined;
    if (opts.sites && pa.threadId === 0 && pb.threadId === 0) {
      const [sa, sb] = await Promise.all([
        eventSites({ ...A.rec, log: pa.log, trace: pa.trace }, opts.allowNative, opts.trust),
        eventSites({ ...B.rec, log: pb.log, trace: pb.trace }, opts.allowNative, opts.trust),
      ]);
      for (const note of [sa.note, sb.note]) if (note) process.stderr.write(`${note}\n`);
      sites = { a: sa.sites, b: sb.sites };
    }
    out.push({
      place,
      a: { pid: pa.pid, log: pa.log },
      b: { pid: pb.pid, log: pb.log },
      diff: diffRuns(ra, rb, sites),
    });
  }
  for (const p of pairing.onlyA) process.stderr.write(`rewind: process ${p} is only in ${a}\n`);
  for (const p of pairing.onlyB) process.stderr.write(`rewind: process ${p} is only in ${b}\n`);
  return out;
}

const differs = (d: RunDiff) =>
  !d.schedule.same ||
  d.output.length > 0 ||
  !d.ended.same ||
  d.values.counts.random + d.values.counts.io + d.values.counts.value > 0;

export async function diff(a: string, b: string, opts: DiffOptions): Promise<never> {
  const diffs = await diffRecordings(a, b, opts);
  if (opts.json) process.stdout.write(`${JSON.stringify({ a, b, processes: diffs })}\n`);
  else process.stdout.write(diffs.map((d) => describeDiff(d, diffs.length > 1)).join('\n'));
  process.exit(diffs.some((d) => differs(d.diff)) ? 1 : 0);
}

const turnLine = (t: TurnInfo) =>
  `turn ${t.index + 1}: ${t.detail} [event ${t.n}]${t.site ? `  scheduled at ${showSite(t.site)}` : ''}`;

/** The report for one pair of processes, as the user reads it. */
export function describeDiff(p: ProcessDiff, many: boolean): string {
  const d = p.diff;
  const lines: string[] = [];
  if (many) lines.push(`process ${p.place} (A: pid ${p.a.pid}, B: pid ${p.b.pid})`);
  else lines.push(`A: ${shownPath(p.a.log)}`, `B: ${shownPath(p.b.log)}`);
  const s = d.schedule;
  if (s.same) lines.push(`schedule: the same ${s.turns[0]} turns in the same order`);
  else {
    const extra = [
      s.reorderedPairs ? `${s.reorderedPairs} pair${s.reorderedPairs === 1 ? '' : 's'} of turns in another order` : '',
      s.onlyInA ? `${s.onlyInA} only in A` : '',
      s.onlyInB ? `${s.onlyInB} only in B` : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `schedule: the runs part at turn ${s.first!.index + 1} ` +
        `(A ${s.turns[0]} turns, B ${s.turns[1]}${extra ? `; ${extra}` : ''})`,
    );
    const f = s.first!;
    if (f.a)
      lines.push(
        `  A ran ${turnLine(f.a)}`,
        `      ${f.aInB === null ? 'B never ran it' : `B ran it at turn ${f.aInB + 1}`}`,
      );
    else lines.push('  A had no more turns');
    if (f.b)
      lines.push(
        `  B ran ${turnLine(f.b)}`,
        `      ${f.bInA === null ? 'A never ran it' : `A ran it at turn ${f.bInA + 1}`}`,
      );
    else lines.push('  B had no more turns');
  }
  const c = d.values.counts;
  const total = c.clock + c.random + c.io + c.value;
  if (total === 0) lines.push('values: the same');
  else {
    const parts = [
      c.random && `${c.random} random`,
      c.io && `${c.io} I/O result${c.io === 1 ? '' : 's'}`,
      c.value && `${c.value} other reading${c.value === 1 ? '' : 's'}`,
      c.clock && `${c.clock} clock reading${c.clock === 1 ? '' : 's'}`,
    ].filter(Boolean);
    lines.push(
      `values: ${parts.join(', ')} differ` +
        (d.values.first.length < total ? ` (the first ${d.values.first.length}):` : ':'),
    );
    for (const v of d.values.first) {
      const side = (x: typeof v.a) => (x ? `${x.call} ${clip(x.value)} [event ${x.n}]` : '(none)');
      lines.push(
        `  ${v.class.padEnd(6)} A ${side(v.a)}`,
        `         B ${side(v.b)}${v.diff ? `\n         ${v.diff}` : ''}`,
      );
    }
  }
  if (d.output.length === 0)
    lines.push(`output: the same${d.outputPartial ? ' (large writes compared by their first bytes)' : ''}`);
  for (const o of d.output) {
    lines.push(
      `output: ${o.stream} parts at line ${o.line}`,
      `  A: ${o.a === null ? '(ends)' : JSON.stringify(o.a)}`,
      `  B: ${o.b === null ? '(ends)' : JSON.stringify(o.b)}`,
    );
  }
  const failA = d.failed.a ? ` (${d.failed.a})` : '';
  const failB = d.failed.b ? ` (${d.failed.b})` : '';
  lines.push(
    d.ended.same && d.failed.a === d.failed.b
      ? `ended: both ${d.ended.a}${failA}`
      : `ended: A ${d.ended.a}${failA}\n       B ${d.ended.b}${failB}`,
  );
  return `${lines
    .flatMap((l) => l.split('\n'))
    .map(printable)
    .join('\n')}\n`;
}

const clip = (s: string, max = 48) => (s.length > max ? `${s.slice(0, max)}…` : s);
