// Uninitialized memory: Buffer.allocUnsafe() and allocUnsafeSlow() hand out whatever the
// allocator had there, a different garbage in each run. A program that lets some of it out
// (writes a buffer it filled only in part, hashes it, passes it to an addon whose calls
// are checked by a digest of their arguments) would diverge at replay for no fault of its
// own. Both runs get those buffers zero-filled instead, as `node --zero-fill-buffers` does:
// one of the contents plain Node may give, and the same each time.
//
// Not covered: the spare bytes of Node's 8 KiB pool behind small buffers made from data
// (Buffer.from(string)), which a program sees only through `buf.buffer`.
import { Buffer } from 'node:buffer';
import type { Session, Source } from '../session/session.js';

export const memorySource: Source = {
  name: 'memory',
  install(_s: Session) {
    for (const name of ['allocUnsafe', 'allocUnsafeSlow'] as const) {
      const real = Buffer[name];
      const zeroed = {
        [name](size: number): Buffer {
          return real(size).fill(0);
        },
      }[name];
      Object.defineProperty(Buffer, name, { value: zeroed, writable: true, enumerable: true, configurable: true });
    }
  },
};
