// `rewind replay --mark`: every line the program writes to stdout or stderr starts with
// the number of the output event that wrote it, like rr's -M. Installed beneath the stdio
// source, so the log is checked against the program's own bytes and the marks are added
// after, on the way out.
import type { ReplaySession } from '../session/replay.js';

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

const NL = 0x0a;

export const markOf = (n: number): string => `[#${n}] `;

/** Strips the marks --mark adds (for comparing a marked replay with the recording). */
export const stripMarks = (text: string): string => text.replace(/^\[#\d+\] /gm, '');

export function installMarks(session: ReplaySession, diverted: () => boolean): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write as Write;
    let atLineStart = true;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, cb?: unknown) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8') : chunk;
      if (!(bytes instanceof Uint8Array) || bytes.length === 0 || diverted()) return write.call(this, chunk, encoding, cb);
      // session.n is the output event the stdio source just checked: this write.
      const mark = Buffer.from(markOf(session.n));
      const parts: Uint8Array[] = [];
      let from = 0;
      for (let i = 0; i < bytes.length; i++) {
        if (atLineStart) parts.push(mark);
        atLineStart = bytes[i] === NL;
        if (atLineStart) {
          parts.push(bytes.subarray(from, i + 1));
          from = i + 1;
        } else if (i === bytes.length - 1) {
          parts.push(bytes.subarray(from));
        }
      }
      return write.call(this, Buffer.concat(parts), typeof encoding === 'function' ? encoding : cb);
    } as typeof stream.write;
  }
}
