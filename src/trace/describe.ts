// Human-readable descriptions of events, for `rewind events` and divergence reports.
import util from 'node:util';
import { hrtimeBigintOf, hrtimeOf, perfNowAt, perfOriginOf, uptimeOf } from './clocks.js';
import { TAGS, Tag, apiName, type CallRecord, type TraceHeader } from './format.js';
import type { TraceEvent } from './reader.js';
import { summarize } from './values.js';

const FD_NAMES: Record<number, string> = { 1: 'stdout', 2: 'stderr' };

export function quote(data: Uint8Array, max = 60): string {
  const s = Buffer.from(data).toString('utf8');
  const q = JSON.stringify(s.length > max ? s.slice(0, max) : s);
  return s.length > max ? `${q}…` : q;
}

function hex(data: Uint8Array, max = 16): string {
  const h = Buffer.from(data.subarray(0, max)).toString('hex');
  return data.length > max ? `${h}…` : h;
}

export function uuidOf(b: Uint8Array): string {
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The value the program received, as text. */
export function describeValue(ev: TraceEvent, h: TraceHeader): string {
  switch (ev.tag) {
    case Tag.DateNow:
      return String(ev.wall);
    case Tag.DateNew:
    case Tag.DateString:
      return new Date(ev.wall!).toISOString();
    case Tag.PerfNow: {
      // Known here: the perf.origin reading comes before the first performance.now() (unless a log was made by hand).
      const origin = perfOriginOf(h);
      return origin ? perfNowAt(origin[0], ev.monoNs!).toFixed(3) : `${(ev.monoNs! / 1e6).toFixed(3)} ms in`;
    }
    case Tag.Hrtime:
      return JSON.stringify(hrtimeOf(h, ev.monoNs!));
    case Tag.HrtimeBigint:
      return `${hrtimeBigintOf(h, ev.monoNs!)}n`;
    case Tag.Uptime:
      return uptimeOf(h, ev.monoNs!).toFixed(6);
    case Tag.RandomBytes:
    case Tag.RandomFill:
    case Tag.GetRandomValues:
      return `${ev.data!.length} bytes ${hex(ev.data!)}`;
    case Tag.RandomUUID:
      return uuidOf(ev.data!);
    case Tag.RandomInt:
      return String(ev.int);
    default:
      return '';
  }
}

/** One line: what happened at this event. */
export function describeEvent(ev: TraceEvent, h: TraceHeader): string {
  const info = TAGS[ev.tag];
  switch (ev.kind) {
    case 'clock':
    case 'random':
      return `${info.call} → ${describeValue(ev, h)}`;
    case 'value':
      return `${apiName(ev.api!)} returned`;
    case 'call':
      return describeCall(apiName(ev.api!), ev.call!);
    case 'turn':
      if (ev.tag === Tag.Callback)
        return `${apiName(ev.api!)} callback (op #${ev.op})${ev.payload === undefined ? '' : ` ${summarize(ev.payload)}`}`;
      if (ev.tag === Tag.StreamRead) return `${describeRead(ev.status!, ev.data)} (op #${ev.op})`;
      return `${info.call} (op #${ev.op})`;
    case 'signal':
      return `received ${ev.signal}`;
    case 'output': {
      if (ev.tag === Tag.StreamWrite) {
        const status = ev.status ? `, failed: ${uvName(ev.status)}` : ev.async ? ', completed later' : '';
        return `op #${ev.op} wrote ${ev.length} bytes (crc32 ${ev.crc!.toString(16).padStart(8, '0')}${status})`;
      }
      const fd = FD_NAMES[ev.fd!] ?? `fd ${ev.fd}`;
      if (ev.tag === Tag.WriteDigest) return `${fd} ${ev.length} bytes, starting ${quote(ev.data!)}`;
      return `${fd} ${quote(ev.data!)}`;
    }
    case 'failure': {
      const f = ev.failure!;
      if (f.origin === 'test') return `test failed: ${f.test ?? '(unnamed)'}: ${f.name}: ${f.message}`;
      const what = f.origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception';
      return `${what}: ${f.name}: ${f.message}`;
    }
    case 'end':
      return describeEnd(ev.end!);
  }
}

/** "fs.readFileSync("/etc/hosts") → <42 bytes>", "net.connect {…}" */
export function describeCall(api: string, rec: CallRecord): string {
  const args = rec.args === undefined ? '' : ` ${summarize(rec.args)}`;
  if (rec.status === 1) return `${api}${args} → ${summarize(rec.value)}`;
  if (rec.status === 2) return `${api}${args} threw ${summarize(rec.value)}`;
  return `${api}${args}`;
}

const UV_EOF = -4095;

/** libuv's name for a negative status, where Node knows it. */
export function uvName(status: number): string {
  try {
    return (util as unknown as { getSystemErrorName(n: number): string }).getSystemErrorName(status);
  } catch {
    return `status ${status}`;
  }
}

function describeRead(status: number, data: Uint8Array | undefined): string {
  if (status > 0) return `read ${status} bytes ${quote(data!, 40)}`;
  if (status === UV_EOF) return 'end of stream';
  return `read error ${uvName(status)}`;
}

export function describeEnd(end: { code: number | null; signal: string | null; via: string; execve?: string }): string {
  const execve = end.execve === undefined ? null : `process.execve: ${end.execve}`;
  if (end.signal) return `killed by ${end.signal}${execve ? ` (${execve})` : ''}`;
  if (end.via === 'terminated')
    return end.code === null
      ? 'terminated as its process ended'
      : `terminated (worker.terminate()), exit code ${end.code}`;
  const how =
    execve ??
    (end.via === 'exit' ? 'process.exit()' : end.via === 'uncaught' ? 'uncaught exception' : 'event loop empty');
  return `exit code ${end.code} (${how})`;
}

/** "+1.234ms" style virtual time offset. */
export function formatTime(us: number): string {
  if (us < 1000) return `+${us}µs`;
  if (us < 1_000_000) return `+${(us / 1000).toFixed(3)}ms`;
  return `+${(us / 1e6).toFixed(3)}s`;
}
