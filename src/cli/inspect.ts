// `rewind events` and `rewind info`: read a recording without running anything.
import path from 'node:path';
import v8 from 'node:v8';
import { describeEnd, describeEvent, describeValue, formatTime } from '../trace/describe.js';
import { TAGS, Tag, apiName, type EndInfo } from '../trace/format.js';
import { toJson } from '../trace/values.js';
import { TraceReader, type TraceEvent, type TraceFile } from '../trace/reader.js';
import { eventSites } from './debug.js';
import { nativeLibraries } from './native.js';
import { defaultProcess, processesOf, resolveRecording, type Recording } from './recordings.js';
import { showSite } from './replayed.js';
import { printable } from './shell.js';
import { startupPlan } from './replay.js';

export interface EventsOptions {
  process?: string;
  json?: boolean;
  kind?: string;
  from?: number;
  to?: number;
  /** Replay the recording to find each event's call site (default: on). */
  sites?: boolean;
  allowNative?: string[];
  /** Apply an unsigned recording's start-up when replaying it for call sites. */
  trust?: boolean;
}

function eventJson(ev: TraceEvent, t: TraceFile, site: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { n: ev.n, time_us: ev.timeUs, kind: ev.kind, call: TAGS[ev.tag].call };
  if (ev.kind === 'clock' || ev.kind === 'random') out.value = describeValue(ev, t.header);
  if (ev.op !== undefined) out.op = ev.op;
  if (ev.api !== undefined) out.api = apiName(ev.api);
  if (ev.call) {
    out.args = toJson(ev.call.args);
    out.outcome = (['started', 'returned', 'threw'] as const)[ev.call.status];
    if (ev.call.status !== 0) out.result = toJson(ev.call.value);
  }
  if (ev.tag === Tag.Callback) out.result = toJson(ev.payload);
  if (ev.tag === Tag.StreamRead) {
    out.status = ev.status;
    if (ev.data) out.text = Buffer.from(ev.data).toString('utf8');
  }
  if (ev.tag === Tag.StreamWrite) {
    out.length = ev.length;
    out.crc = ev.crc;
    out.status = ev.status;
    out.async = ev.async;
  }
  if (ev.fd !== undefined) {
    out.fd = ev.fd;
    out.length = ev.length;
    out.text = Buffer.from(ev.data!).toString('utf8');
    if (ev.digest) out.truncated = true;
  }
  if (ev.signal) out.signal = ev.signal;
  if (ev.failure) out.failure = ev.failure;
  if (ev.end) out.end = ev.end;
  out.detail = describeEvent(ev, t.header);
  if (site) out.site = site;
  return out;
}

/**
 * Reading a large log makes much short-lived garbage (an event, its description), for which
 * V8 keeps growing its young generation: kept from growing, the commands that read a log stay
 * within a small, bounded memory (about 65 MB of RSS for a 1 GB log, against 117 MB).
 */
function boundMemory(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

export async function events(arg: string | undefined, opts: EventsOptions): Promise<void> {
  boundMemory();
  const rec = resolveRecording(arg, process.cwd(), opts.process, { thread: true });
  const t = rec.trace;
  // Call sites come from a replay, and a worker thread replays within its process: its own events are listed without them.
  const thread = t.header.threadId ? t.header.threadId : 0;
  const { sites, note } =
    opts.sites === false
      ? { sites: new Map<number, string>(), note: null }
      : thread !== 0
        ? { sites: new Map<number, string>(), note: `rewind: the events of worker thread ${thread} are listed without call sites (a worker thread replays within its process).` }
        : await eventSites(rec, opts.allowNative, opts.trust);
  if (note) process.stderr.write(`${note}\n`);
  const kinds = opts.kind ? new Set(opts.kind.split(',').map((k) => k.trim())) : null;
  const lines: string[] = [];
  const width = String(t.eventCount).length;
  for (const ev of TraceReader.events(t)) {
    if (opts.from !== undefined && ev.n < opts.from) continue;
    if (opts.to !== undefined && ev.n > opts.to) break;
    if (kinds && !kinds.has(ev.kind)) continue;
    const site = sites.get(ev.n);
    if (opts.json) lines.push(JSON.stringify(eventJson(ev, t, site)));
    else {
      const at = site ? `  @ ${showSite(site)}` : '';
      lines.push(printable(`${String(ev.n).padStart(width)}  ${formatTime(ev.timeUs).padStart(11)}  ${ev.kind.padEnd(7)}  ${describeEvent(ev, t.header)}${at}`));
    }
    if (lines.length >= 1000) {
      process.stdout.write(`${lines.join('\n')}\n`);
      lines.length = 0;
    }
  }
  if (t.truncated && !opts.json) lines.push(`(the log ends here: ${t.truncated}; the recorded process was killed before writing more)`);
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}

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
  if (h.passThrough) rows.push(['recorded', "this package manager's own output only, printed around the program it ran when that replays"]);
  if (h.missingInternals?.length) rows.push(['missing', `${h.missingInternals.map((m) => m.name).join(', ')}: ${h.missingInternals[0].why} (not replayable)`]);
  if (h.chaos) rows.push(['chaos', `seed ${h.chaos.seed} (the schedule was perturbed; replay follows it exactly)`]);
  if (h.schedule) rows.push(['schedule', `forced: ${h.schedule.turns} turns in the order of ${h.schedule.from} (replay follows the run)`]);
  if (rec.index) rows.push(['command', rec.index.command.join(' ')]);
  for (const lib of nativeLibraries(t)) {
    const how =
      lib.how === 'served' ? 'served from the log' : lib.how === 'live' ? `ran live (${lib.why}): replay needs --allow-native ${lib.name}` : `cannot be replayed (${lib.why})`;
    rows.push(['native', `${lib.name}${lib.file && lib.file !== '(built in)' ? ` (${lib.file})` : ''}: ${how}`]);
  }
  rows.push(['rewind', `${h.rewindVersion} (trace format ${h.formatVersion})`]);
  rows.push(['redacted', h.redacted ? `yes: ${h.redacted.secrets} secret${h.redacted.secrets === 1 ? '' : 's'} replaced by placeholders (rules: ${h.redacted.rules.join(', ')})` : 'no: the recording holds its environment and inputs in clear (share a copy made by `rewind redact`)']);
  rows.push(['trust', trustLine(rec)]);
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(10)} ${printable(v)}`).join('\n') + '\n');
}

/** `rewind ps`: the processes and worker threads of a recording; * marks the one replayed by default. */
export function ps(arg: string | undefined, opts: { json?: boolean }): void {
  boundMemory();
  const rec = resolveRecording(arg);
  const list = rec.processes ?? processesOf(rec.dir).filter((p) => p.log === rec.log);
  const chosen = defaultProcess(list);
  if (opts.json) {
    const lines = list.map((p) =>
      JSON.stringify({
        pid: p.pid,
        ppid: p.ppid,
        thread: p.threadId,
        program: p.name,
        argv: p.trace.header.argv,
        log: p.log,
        events: p.trace.eventCount,
        ended: p.end ? describeEnd(p.end) : null,
        failed: p.failed,
        default: p === chosen,
        // A package manager's own process: recorded for its output only, not replayable alone.
        replayable: !p.passThrough,
      }),
    );
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  const rows = [['', 'PID', 'PARENT', 'THREAD', 'PROGRAM', 'EVENTS', 'ENDED']];
  for (const p of list) {
    const ended =
      (p.failed ?? (p.end ? describeEnd(p.end) : `no end record (${p.trace.truncated ?? 'log stops early'})`)) +
      (p.passThrough ? ' (package manager: its output only, not replayable alone)' : '');
    rows.push([p === chosen ? '*' : '', String(p.pid), String(p.ppid), p.threadId ? String(p.threadId) : 'main', p.name, String(p.trace.eventCount), ended]);
  }
  for (const r of rows) for (let i = 0; i < r.length; i++) r[i] = printable(r[i]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const out = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
  out.push(`(* is what \`rewind replay\` replays; pick another with -p PID)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Whether the recording's start-up is applied as recorded, and what it would run otherwise. */
function trustLine(rec: Recording): string {
  const plan = startupPlan(rec, false);
  if (plan.signed) return 'signed by you on this machine: replayed as recorded';
  const what = plan.review.code.length ? `its start-up would run: ${plan.review.code.join('; ')} (replay needs --trust)` : 'its start-up runs no code it names';
  return `not signed by you (made by another user, machine or HOME, or changed): ${what}`;
}
