// The control channel between the CLI's debug front end and the replayed process: one
// JSON object per line over an inherited socket (fd ENV.CONTROL). The replayed process
// writes and reads it synchronously, with rewind's original fs functions, so the channel
// never touches the program's event loop, timers or streams.
import { original } from '../node/originals.js';
import type { CoveredScript } from './coverage.js';

const BATCH_BYTES = 64 * 1024;

/** Where the replay should stop next. */
export type Goal =
  | { until: number } // before event n
  | { kind: string; after: number } // before the first event of this kind after event n ('turn': the next turn)
  | { file: string; line: number; after: number } // before the first event whose call site is file:line
  | { run: true }; // no stop: run to the end

/** From the front end to the replayed process, at a stop. */
export type Command = { goal: Goal } | { inspect: true } | { quit: true };

/** From the replayed process to the front end. */
export type Report =
  | { t: 'progress'; n: number }
  | { t: 'site'; n: number; site: string }
  | { t: 'touched'; n: number; scripts: CoveredScript[] } // the code turn n ran (ENV.STATE)
  | { t: 'stopped'; n: number; site: string | null; written: [number, number] | null }
  | { t: 'inspector'; url: string }
  | { t: 'error'; message: string };

/** The replayed process's end of the channel. */
export class ControlChannel {
  private pending = '';
  /** Reports held back to be written in one go: a site per event adds up. */
  private batch = '';

  constructor(private readonly fd: number) {}

  /** Sends a report now, after any held back. */
  send(report: Report): void {
    this.batch += `${JSON.stringify(report)}\n`;
    this.flush();
  }

  /** Sends a report with the next send() or flush(), or once enough are held back. */
  post(report: Report): void {
    this.batch += `${JSON.stringify(report)}\n`;
    if (this.batch.length >= BATCH_BYTES) this.flush();
  }

  flush(): void {
    try {
      original.fs.writeSync(this.fd, this.batch);
    } catch {
      // The front end is gone (the user quit): nothing is left to debug.
      original.reallyExit(0);
    }
    this.batch = '';
  }

  /** Blocks until the front end sends a command. Blocking is harmless: replay time is virtual. */
  receive(): Command {
    const buf = Buffer.alloc(4096);
    for (;;) {
      const nl = this.pending.indexOf('\n');
      if (nl >= 0) {
        const line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        return JSON.parse(line) as Command;
      }
      let got: number;
      try {
        got = original.fs.readSync(this.fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          original.Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        got = 0;
      }
      if (got === 0) return { quit: true };
      this.pending += buf.toString('utf8', 0, got);
    }
  }
}
