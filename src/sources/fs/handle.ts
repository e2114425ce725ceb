// The native FileHandle that the binding's openFileHandle resolves with (fs/promises open), or
// that fs/promises makes around a descriptor (Node 26's readFile of a large file).
// Node's JS FileHandle keeps it and calls the binding with its descriptor for every
// operation (recorded in calls.ts); the native object itself is only asked for its fd and to
// close. Recording, its close is recorded on the prototype; at replay, with no file open,
// the JS FileHandle gets a stand-in holding the logged descriptor, whose close is served
// from the log.
import { ownIo } from '../../node/originals.js';
import { currentSession, replaying, type Session } from '../../session/session.js';
import { Api } from '../../trace/format.js';
import type { FsBinding } from './binding.js';
import { closedFd } from './content.js';
import { inTurn, loaderCallOn, loaderFds, programFds, unorderedFds } from './loader.js';
import { guard } from './public.js';

type Results = unknown[];

/** FileHandle.close(): a promise call of its own, settled in the turn the log gives it. */
export function closeHandle(fd: number, real: () => Promise<unknown>): Promise<void> {
  closedFd(fd);
  programFds.delete(fd);
  return new Promise<void>((resolve, reject) => {
    currentSession().async({
      api: Api['fs.handle.close'],
      args: ['promise', fd],
      what: 'FileHandle close()',
      start(done) {
        real().then(
          () => done(null),
          (e) => done(e),
        );
      },
      cb(err) {
        if (err != null) reject(err);
        else resolve();
      },
    });
  });
}

/** FileHandle closeSync() (Node 24: `using` a FileHandle). */
function closeHandleSync(fd: number, real: () => unknown): void {
  closedFd(fd);
  programFds.delete(fd);
  currentSession().call(Api['fs.handle.close'], ['sync', fd], () => {
    real();
    return null;
  });
}

/** The native FileHandle at replay: the logged descriptor; closing it is served from the log. */
class ReplayFileHandle {
  #fd: number;
  constructor(fd: number) {
    this.#fd = fd;
  }
  get fd(): number {
    return this.#fd;
  }
  close(): Promise<void> {
    return closeHandle(this.#fd, () => Promise.resolve());
  }
  closeSync(): void {
    closeHandleSync(this.#fd, () => undefined);
  }
  releaseFD(): number {
    const fd = this.#fd;
    this.#fd = -1;
    return fd;
  }
  getAsyncId(): number {
    return -1;
  }
  readStart(): never {
    refuseStream();
  }
}

// Node 20's FileHandle.readableWebStream() reads through the native handle's stream
// interface, from libuv, not through the binding's functions: not recorded.
const STREAM = "a FileHandle's native stream (readableWebStream on Node 20)";
const STREAM_WHY = 'it reads from native code, not through the fs binding';
function refuseStream(): never {
  currentSession().unsupported(STREAM, STREAM_WHY);
  return replaying(currentSession()).mismatch(`read ${STREAM}, which rewind cannot replay`);
}

export const replayHandle = (fd: number): unknown => new ReplayFileHandle(fd);

export function installHandle(session: Session, B: FsBinding): void {
  const proto = B.FileHandle.prototype as Record<string, (this: { fd: number }) => unknown>;
  /** Not the program's: rewind's own, inside a call recorded whole, or a module loader's (real in both runs). */
  const own = (fd: number): boolean => ownIo.depth > 0 || guard.depth > 0 || (loaderFds.size > 0 && loaderFds.has(fd));
  if (session.mode === 'replay') {
    // Node 26's fs/promises readFile wraps the descriptor a ReadFileJob handed back in a native
    // FileHandle of its own: at replay that descriptor is the log's, not an open file.
    const Native = B.FileHandle as unknown as new (...a: unknown[]) => object;
    const FileHandle = function (this: unknown, ...args: unknown[]): object {
      const fd = args[0];
      if (typeof fd === 'number' && programFds.has(fd) && !own(fd)) return new ReplayFileHandle(fd);
      return Reflect.construct(Native, args);
    };
    FileHandle.prototype = Native.prototype;
    B.FileHandle = FileHandle as unknown as FsBinding['FileHandle'];
  }
  const close = proto.close;
  proto.close = function (this: { fd: number }) {
    const fd = this.fd;
    if (own(fd)) {
      // A loader's close completes in a turn too (loader.ts inTurn); rewind's own is not logged.
      const loaders = loaderFds.delete(fd) && ownIo.depth === 0 && guard.depth === 0;
      const v = loaders ? loaderCallOn(fd, null, () => inTurn(close.call(this))) : close.call(this);
      unorderedFds.delete(fd);
      return v;
    }
    return closeHandle(fd, () => close.call(this) as Promise<Results>);
  };
  const readStart = proto.readStart;
  proto.readStart = function (this: { fd: number }) {
    if (!own(this.fd)) session.unsupported(STREAM, STREAM_WHY);
    return readStart.call(this);
  };
  const closeSync = proto.closeSync;
  if (typeof closeSync === 'function') {
    proto.closeSync = function (this: { fd: number }) {
      const fd = this.fd;
      if (own(fd)) {
        loaderFds.delete(fd);
        return closeSync.call(this);
      }
      closeHandleSync(fd, () => closeSync.call(this));
      return undefined;
    };
  }
}
