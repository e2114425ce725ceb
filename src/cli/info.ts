// `rewind info`: what a recording holds and how its process ended, without running anything.
import path from 'node:path';
import { describeEnd, formatTime } from '../trace/describe.js';
import type { EndInfo } from '../trace/format.js';
import { TraceReader } from '../trace/reader.js';
import { nativeLibraries } from './native.js';
import { boundMemory, resolveRecording, type Recording } from './recordings.js';
import { startupPlan } from './replay.js';
import { printable } from '../shell.js';

export function info(arg: string | undefined, opts: { process?: string } = {}): void {
  boundMemory();
  const rec = resolveRecording(arg, process.cwd(), opts.process, { thread: true });
  const t = rec.trace;
  const h = t.header;
  let end: EndInfo | null = null;
  let failure: string | null = null;
  let lastUs = 0;
  for (const ev of TraceReader.events(t)) {
    lastUs = Math.max(lastUs, ev.timeUs);
    if (ev.end) end = ev.end;
    if (ev.failure) failure = `${ev.failure.name}: ${ev.failure.message}`;
  }
  const ended = end
    ? describeEnd(end)
    : `no end record: ${t.truncated ?? 'the log stops early'} (the process was killed or crashed, or its log could not be written)`;
  const rows: [string, string][] = [
    ['recording', path.relative(process.cwd(), rec.log) || rec.log],
    ['program', h.entry.path ?? `node ${h.execArgv.join(' ')}`],
    ['argv', JSON.stringify(h.argv)],
    ['cwd', h.cwd],
    ['node', `${h.nodeVersion} (${h.platform}-${h.arch})`],
    ['pid', `${h.pid} (parent ${h.ppid})`],
    ['started', new Date(h.startWall).toISOString()],
    ['events', String(t.eventCount)],
    ['duration', formatTime(lastUs).slice(1)],
    ['size', `${t.size} bytes`],
    ['ended', ended],
  ];
  if (failure) rows.push(['failure', failure]);
  if (h.passThrough)
    rows.push([
      'recorded',
      "this package manager's own output only, printed around the program it ran when that replays",
    ]);
  if (h.missingInternals?.length)
    rows.push([
      'missing',
      `${h.missingInternals.map((m) => m.name).join(', ')}: ${h.missingInternals[0].why} (not replayable)`,
    ]);
  if (h.chaos) rows.push(['chaos', `seed ${h.chaos.seed} (the schedule was perturbed; replay follows it exactly)`]);
  if (h.schedule)
    rows.push([
      'schedule',
      `forced: ${h.schedule.turns} turns in the order of ${h.schedule.from} (replay follows the run)`,
    ]);
  if (rec.index) rows.push(['command', rec.index.command.join(' ')]);
  for (const lib of nativeLibraries(t)) {
    const how =
      lib.how === 'served'
        ? 'served from the log'
        : lib.how === 'live'
          ? `ran live (${lib.why}): replay needs --allow-native ${lib.name}`
          : `cannot be replayed (${lib.why})`;
    rows.push(['native', `${lib.name}${lib.file && lib.file !== '(built in)' ? ` (${lib.file})` : ''}: ${how}`]);
  }
  rows.push(['rewind', `${h.rewindVersion} (trace format ${h.formatVersion})`]);
  rows.push([
    'redacted',
    h.redacted
      ? `yes: ${h.redacted.secrets} secret${h.redacted.secrets === 1 ? '' : 's'} replaced by placeholders (rules: ${h.redacted.rules.join(', ')})`
      : 'no: the recording holds its environment and inputs in clear (share a copy made by `rewind redact`)',
  ]);
  rows.push(['trust', trustLine(rec)]);
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(10)} ${printable(v)}`).join('\n') + '\n');
}

/** Whether the recording's start-up is applied as recorded, and what it would run otherwise. */
function trustLine(rec: Recording): string {
  const plan = startupPlan(rec, false);
  if (plan.signed) return 'signed by you on this machine: replayed as recorded';
  const what = plan.review.code.length
    ? `its start-up would run: ${plan.review.code.join('; ')} (replay needs --trust)`
    : 'its start-up runs no code it names';
  return `not signed by you (made by another user, machine or HOME, or changed): ${what}`;
}
