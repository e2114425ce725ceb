// Outputs: what the program writes to stdout and stderr is logged while recording and, at
// replay, checked write by write before it is written for real. The terminal's shape
// (isTTY, size, colour depth) is part of the recording, so colours and layout do not
// change when a recording made in a terminal is replayed into a pipe. So is whether it
// was a pipe or a file: the replay's stream is of the recorded class, over the replay's fd.
import type { StdioInfo } from '../trace/format.js';
import type { Session, Source } from '../session/session.js';
import { blockingStdio, makeStdioWith, thread, whenStdio } from '../node/fields.js';
import { original } from '../node/originals.js';
import { fdKind, stdioStreamOfKind } from '../node/stdio-streams.js';

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

function bytesOf(chunk: unknown, encoding: unknown): Uint8Array | null {
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8');
  }
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return null; // Node will reject it; nothing is written, nothing is logged
}

export function stdioInfo(stream: NodeJS.WriteStream): StdioInfo {
  const s = stream;
  if (!s.isTTY) return { isTTY: false };
  return {
    isTTY: true,
    columns: s.columns,
    rows: s.rows,
    colorDepth: typeof s.getColorDepth === 'function' ? s.getColorDepth() : undefined,
  };
}

/** Makes a stream look like the recorded one did. */
function restoreShape(stream: NodeJS.WriteStream, info: StdioInfo): void {
  const props: PropertyDescriptorMap = { isTTY: { value: info.isTTY, configurable: true, writable: true } };
  if (info.isTTY) {
    const depth = info.colorDepth ?? 1;
    props.columns = { value: info.columns, configurable: true, writable: true };
    props.rows = { value: info.rows, configurable: true, writable: true };
    props.getColorDepth = { value: () => depth, configurable: true, writable: true };
    props.hasColors = {
      value: (count?: number | object) => (typeof count === 'number' ? count : 16) <= 2 ** depth,
      configurable: true,
      writable: true,
    };
  }
  Object.defineProperties(stream, props);
}

/**
 * > 0 while process.stdout or process.stderr writes: when one is a file, Node writes it
 * through the fs binding, and the fs source must not log that output a second time.
 */
export const stdioWriting = { depth: 0 };

const unchecked = new Map<number, (data: Uint8Array) => void>();

/**
 * Writes to the program's stdout (1) or stderr (2) in its order with the program's own
 * writes, without logging or checking it: what a child wrote there (child-process.ts),
 * which the log holds elsewhere. (Straight to the fd while the program has not made the
 * stream: nothing of its own waits there.)
 */
export function writeUnchecked(fd: number, data: Uint8Array): void {
  const write = unchecked.get(fd);
  if (write) write(data);
  else original.fs.writeSync(fd, data);
}

export const stdioSource: Source = {
  name: 'stdio',
  install(s: Session) {
    const info = { 1: s.header.stdio.stdout, 2: s.header.stdio.stderr };
    // A worker's stdout is its own kind of stream, whatever fd 1 is. A terminal cannot be made
    // over another fd (libuv refuses a TTY handle): Node's stream then takes the recorded shape.
    if (s.mode === 'replay' && thread.isMain)
      makeStdioWith((fd) => {
        const kind = info[fd].kind;
        return kind === 'pipe' || kind === 'file' ? (kind === fdKind(fd) ? null : stdioStreamOfKind(fd, kind)) : null;
      });
    // Each when Node makes it: the program's first use (see whenStdio).
    whenStdio((stream, fd) => {
      // A replay can end without running the event loop again (a stop before an event, a
      // divergence): output a slow reader has not taken must not be waiting in a queue then.
      if (s.mode === 'replay') blockingStdio(stream);
      if (s.mode === 'replay' && Boolean(stream.isTTY) !== info[fd].isTTY) restoreShape(stream, info[fd]);
      const write = stream.write as Write;
      unchecked.set(fd, (data) => void write.call(stream, data));
      stream.write = function (this: NodeJS.WriteStream, chunk: unknown, encoding?: unknown, cb?: unknown) {
        const data = bytesOf(chunk, encoding);
        if (data !== null) s.output(fd, data);
        stdioWriting.depth++;
        try {
          return write.call(this, chunk, encoding, cb);
        } finally {
          stdioWriting.depth--;
        }
      } as typeof stream.write;
    });
  },
};
