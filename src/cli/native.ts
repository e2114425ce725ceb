// What a recording says of the native libraries its process used: for `rewind info`, and
// for the refusal, before anything runs, of a replay that would run native code for real.
import { EXIT } from '../exit-codes.js';
import { Api } from '../trace/format.js';
import { TraceReader, type TraceFile } from '../trace/reader.js';
import { CliError } from './recordings.js';

export interface NativeLibrary {
  name: string;
  file: string;
  /** served: from the log; live: ran for real (needs --allow-native at replay); unservable: the log cannot serve it. */
  how: 'served' | 'live' | 'unservable';
  why?: string;
}

export function nativeLibraries(t: TraceFile): NativeLibrary[] {
  const out: NativeLibrary[] = [];
  for (const ev of TraceReader.events(t)) {
    if (!ev.call) continue;
    if (ev.api === Api['native.load'] && ev.call.status === 1) {
      const { name, file } = ev.call.args as { name: string; file: string };
      const [how, why] = ev.call.value as [string, unknown];
      out.push(how === 'live' ? { name, file, how: 'live', why: String(why) } : { name, file, how: 'served' });
    } else if (ev.api === Api['sqlite.load'] && ev.call.status === 1) {
      out.push({ name: 'node:sqlite', file: '(built in)', how: 'served' });
    } else if (ev.api === Api['native.unservable']) {
      const { addon, why } = ev.call.args as { addon: string; why: string };
      const lib = out.find((l) => l.name === addon);
      if (lib) Object.assign(lib, { how: 'unservable', why });
      else out.push({ name: addon, file: '', how: 'unservable', why });
    }
  }
  return out;
}

/** Refuses (exit 65) a replay that would run an addon's native code without --allow-native. */
export function checkNative(t: TraceFile, allowed: readonly string[]): void {
  for (const lib of nativeLibraries(t)) {
    if (lib.how === 'unservable') {
      throw new CliError(
        `rewind: this recording cannot be replayed: the native addon ${lib.name} handed the program ${lib.why}, which ` +
          `rewind could not record, so the log cannot serve its calls. Record again with REWIND_NATIVE_LIVE=${lib.name} ` +
          `to run it live, then replay with --allow-native ${lib.name} (its native code then runs for real at replay).`,
        EXIT.BAD_TRACE,
      );
    }
    if (lib.how === 'live' && !allowed.some((a) => a === lib.name || a === lib.file || `${a}.node` === lib.file)) {
      throw new CliError(
        `rewind: the recording ran the native addon ${lib.name} (${lib.file}) live (${lib.why}): its calls are not in ` +
          `the log, and replaying it would run its native code for real, with whatever I/O it does. Pass ` +
          `--allow-native ${lib.name} to allow that.`,
        EXIT.BAD_TRACE,
      );
    }
  }
}
