// `rewind record --schedule FILE -- <command>`: a live run that delivers turns in the order
// FILE gives (src/session/schedule.ts), then says how far the run could follow it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { following, loadSchedule, type Following } from '../analyze/schedule-file.js';
import { readRun } from '../analyze/run.js';
import type { ScheduleSpec } from '../session/schedule.js';
import { STORE_DIR, createRecordingDir, programName, setLatest, type RecordingIndex } from '../trace/store.js';
import {
  exitLike,
  needsCommand,
  nothingRecorded,
  outDir,
  outputError,
  runRecording,
  type ExitStatus,
  type OutDir,
  type RecordOptions,
} from './record.js';
import { logsIn, processesOf } from './recordings.js';

/** Writes the schedule where the recorded processes read it; removed once the run ends. */
export function writeSpec(spec: ScheduleSpec): { file: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-schedule-'));
  const file = path.join(dir, 'schedule.json');
  fs.writeFileSync(file, JSON.stringify(spec), { mode: 0o600 });
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** How far each process of the recording in `dir` followed its entry of the schedule. */
export function followedIn(dir: string, spec: ScheduleSpec): Following[] {
  const used = new Map<string, number>();
  const out: Following[] = [];
  for (const p of processesOf(dir)) {
    if (p.passThrough || !p.trace.header.schedule) continue;
    const thread = p.threadId !== 0;
    const program = programName(p.trace.header.argv);
    const mine = spec.processes.filter((e) => e.thread === thread && (e.program === null || e.program === program));
    const key = `${thread}/${program}`;
    const n = used.get(key) ?? 0;
    used.set(key, n + 1);
    const entry = mine[n];
    if (entry)
      out.push(
        following(
          entry.turns,
          readRun(p.trace).turns.map((t) => t.key),
        ),
      );
  }
  return out;
}

/** One line on how the run followed the schedule. */
export function describeFollowing(f: Following[]): string {
  if (f.length === 0)
    return 'rewind: no recorded process took a part of the schedule (no program of the schedule ran).';
  const off = f.find((x) => !x.followed);
  const missing = f.reduce((s, x) => s + x.missing, 0);
  const gone = missing ? `; ${missing} turn${missing === 1 ? '' : 's'} of the schedule never came` : '';
  if (!off)
    return `rewind: the run followed the schedule (${f.reduce((s, x) => s + x.matched, 0)} turns in its order${gone}).`;
  const o = off.first!;
  return (
    `rewind: the run could not follow the schedule: at its turn ${o.index + 1} of those the schedule names, ` +
    `it ran op.delivery ${o.ran} where the schedule has ${o.expected}${gone}.`
  );
}

export async function recordScheduled(command: string[], file: string, opts: RecordOptions): Promise<never> {
  needsCommand(command);
  const spec = loadSchedule(file);
  const cwd = process.cwd();
  let out: OutDir;
  if (opts.out) out = outDir(opts.out, opts.force);
  else {
    try {
      const dir = createRecordingDir(cwd, programName(command));
      out = { dir, created: dir };
    } catch (e) {
      throw outputError(e as NodeJS.ErrnoException, `create a recording directory under ${path.join(cwd, STORE_DIR)}`);
    }
  }
  const status = await runScheduled(command, out, spec, opts);
  if (status.lost) {
    process.stderr.write(`${status.lost}\n`);
    return exitLike(status);
  }
  if (logsIn(out.dir).length === 0) nothingRecorded(command, status, out);
  if (!opts.out) setLatest(out.dir);
  process.stderr.write(`${describeFollowing(followedIn(out.dir, spec))}\n`);
  return exitLike(status);
}

/** Records one run of `command` under the schedule into `out`. */
export async function runScheduled(
  command: string[],
  out: OutDir,
  spec: ScheduleSpec,
  opts: RecordOptions = {},
  quiet = false,
): Promise<ExitStatus> {
  const written = writeSpec(spec);
  const index: RecordingIndex = { command, cwd: process.cwd(), started: new Date().toISOString() };
  try {
    return await runRecording(command, out, { ...opts, seed: undefined, schedule: written.file, quiet }, index);
  } finally {
    written.remove();
  }
}
