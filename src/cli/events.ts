// `rewind events`: a recording's events, one a line (or JSON), with their call sites.
import { describeEvent, describeValue, formatTime } from '../trace/describe.js';
import { TAGS, Tag, apiName } from '../trace/format.js';
import { toJson } from '../trace/values.js';
import { TraceReader, type TraceEvent, type TraceFile } from '../trace/reader.js';
import { boundMemory, resolveRecording } from './recordings.js';
import { eventSites } from './replay-until.js';
import { showSite } from './replayed.js';
import { printable } from '../shell.js';

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
        ? {
            sites: new Map<number, string>(),
            note: `rewind: the events of worker thread ${thread} are listed without call sites (a worker thread replays within its process).`,
          }
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
      lines.push(
        printable(
          `${String(ev.n).padStart(width)}  ${formatTime(ev.timeUs).padStart(11)}  ${ev.kind.padEnd(7)}  ${describeEvent(ev, t.header)}${at}`,
        ),
      );
    }
    if (lines.length >= 1000) {
      process.stdout.write(`${lines.join('\n')}\n`);
      lines.length = 0;
    }
  }
  if (t.truncated && !opts.json)
    lines.push(`(the log ends here: ${t.truncated}; the recorded process was killed before writing more)`);
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
}
