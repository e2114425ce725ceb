// The program's stdout and stderr on their way out, beneath the stdio source: the log is
// checked against the program's own bytes first, and only then do these see them.
import type { ReplaySession } from '../session/replay.js';

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

const NL = 0x0a;

/** Passes every byte written to stdout (fd 1) and stderr (fd 2) through `through`. */
function onOutput(through: (fd: number, bytes: Uint8Array) => Uint8Array): void {
  for (const [stream, fd] of [
    [process.stdout, 1],
    [process.stderr, 2],
  ] as const) {
    const write = stream.write as Write;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, cb?: unknown) {
      const bytes =
        typeof chunk === 'string'
          ? Buffer.from(chunk, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8')
          : chunk;
      if (!(bytes instanceof Uint8Array)) return write.call(this, chunk, encoding, cb);
      return write.call(this, through(fd, bytes), typeof encoding === 'function' ? encoding : cb);
    } as typeof stream.write;
  }
}

export const markOf = (n: number): string => `[#${n}] `;

/** Strips the marks --mark adds (for comparing a marked replay with the recording). */
export const stripMarks = (text: string): string => text.replace(/^\[#\d+\] /gm, '');

/**
 * `--mark`: every line starts with the number of the output event that wrote it, like rr's
 * -M. What a debugger's evaluation prints while paused is no event and stays unmarked.
 */
export function markLines(session: ReplaySession, diverted: () => boolean): void {
  const atLineStart = [true, true, true];
  onOutput((fd, bytes) => {
    if (bytes.length === 0 || diverted()) return bytes;
    // session.n is the output event the stdio source just checked: this write.
    const mark = Buffer.from(markOf(session.n));
    const parts: Uint8Array[] = [];
    let from = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (atLineStart[fd]) parts.push(mark);
      atLineStart[fd] = bytes[i] === NL;
      if (atLineStart[fd] || i === bytes.length - 1) {
        parts.push(bytes.subarray(from, i + 1));
        from = i + 1;
      }
    }
    return Buffer.concat(parts);
  });
}

/** Counts the bytes written to stdout and stderr, so the front end knows when it has read them all. */
export function countWritten(): [number, number] {
  const written: [number, number] = [0, 0];
  onOutput((fd, bytes) => {
    written[fd - 1] += bytes.length;
    return bytes;
  });
  return written;
}
