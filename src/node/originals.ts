// The real built-ins, captured when rewind loads and before any source patches them.
// rewind's own I/O, clocks and timers go through these, so they never appear in the log
// and never consume it at replay.
import fs from 'node:fs';
import type * as Crypto from 'node:crypto';
import timers from 'node:timers';
import { builtinModule, nodeProcess, takenWhenLoaded, takenWhenWebCryptoLoaded } from './fields.js';

const hrtime = process.hrtime;

/**
 * > 0 while rewind does its own file I/O. Node's fs functions call the fs binding, which
 * the fs source records: it lets these calls through, unrecorded, in both modes. Shared by
 * key with dist/preload.cjs (preload-loader.ts), a bundle of its own.
 */
export const ownIo: { depth: number } = ((globalThis as Record<symbol, unknown>)[Symbol.for('rewind.ownIo')] ??= {
  depth: 0,
}) as { depth: number };

/** `fn` as rewind's own I/O. */
function own<F extends (...args: never[]) => unknown>(fn: F): F {
  return function (this: unknown, ...args: Parameters<F>) {
    ownIo.depth++;
    try {
      return fn.apply(this, args);
    } finally {
      ownIo.depth--;
    }
  } as F;
}

const nodeCrypto = takenWhenLoaded('crypto', () => {
  const crypto = builtinModule<typeof Crypto>('node:crypto');
  return {
    randomBytes: crypto.randomBytes,
    randomFillSync: crypto.randomFillSync,
    randomFill: crypto.randomFill,
    randomUUID: crypto.randomUUID,
    randomInt: crypto.randomInt,
    createHash: crypto.createHash,
    createHmac: crypto.createHmac,
  };
});

const webCrypto = takenWhenWebCryptoLoaded(() => {
  const web = globalThis.crypto as Crypto.webcrypto.Crypto | undefined;
  return { getRandomValues: web?.getRandomValues, randomUUID: web?.randomUUID };
});

// Data properties only, no getters: V8 makes an object literal with an accessor a dictionary,
// and every `original.x` on a hot path (the clocks, each turn's time) a hash lookup that
// optimized code cannot fold (test/hot-paths.test.ts checks).
export const original = {
  fs: {
    openSync: own(fs.openSync),
    writeSync: own(fs.writeSync),
    readSync: own(fs.readSync),
    closeSync: own(fs.closeSync),
    readFileSync: own(fs.readFileSync),
    realpathSync: own(fs.realpathSync),
    mkdirSync: own(fs.mkdirSync),
    renameSync: own(fs.renameSync),
    writeFileSync: own(fs.writeFileSync),
    existsSync: own(fs.existsSync),
    fstatSync: own(fs.fstatSync),
    lstatSync: own(fs.lstatSync),
    readdirSync: own(fs.readdirSync),
    rmSync: own(fs.rmSync),
    unlinkSync: own(fs.unlinkSync),
    linkSync: own(fs.linkSync),
    rmdirSync: own(fs.rmdirSync),
    ftruncateSync: own(fs.ftruncateSync),
  },
  Date,
  dateNow: Date.now,
  /**
   * The real monotonic clock in ms, for rewind's own deadlines (chaos, forced schedules):
   * process.hrtime's, not performance.now's, whose perf_hooks a program that never uses it
   * should not load (clock.ts).
   */
  monoMs: (): number => {
    const t = hrtime();
    return t[0] * 1e3 + t[1] / 1e6;
  },
  hrtime,
  hrtimeBigint: process.hrtime.bigint,
  uptime: process.uptime,
  mathRandom: Math.random,
  /** Returns node:crypto's functions, taken as it loads: rewind does not load it (36 modules, ~1.3 ms) for its own sake. */
  crypto: nodeCrypto,
  /** Returns globalThis.crypto's (WebCrypto's), taken as Node makes it on first use. */
  webcrypto: webCrypto,
  setTimeout: timers.setTimeout,
  setInterval: timers.setInterval,
  setImmediate: timers.setImmediate,
  clearTimeout: timers.clearTimeout,
  clearInterval: timers.clearInterval,
  clearImmediate: timers.clearImmediate,
  processEmit: process.emit,
  processExit: process.exit,
  processKill: process.kill,
  processCwd: process.cwd,
  // The real pid: replay shows the program the recorded one.
  pid: process.pid,
  // Exits without running 'exit' listeners: used after a divergence report.
  reallyExit: nodeProcess.reallyExit,
  getActiveResourcesInfo: process.getActiveResourcesInfo,
  // rewind's own shared counters and flags (worker logs' tails, output tickets): the
  // program's Atomics are recorded (sources/shared-memory.ts).
  Atomics: Object.fromEntries(
    Object.getOwnPropertyNames(Atomics).map((k) => [k, (Atomics as unknown as Record<string, unknown>)[k]]),
  ) as unknown as typeof Atomics,
};

/** Write a message to stderr synchronously, bypassing the program's (patched) streams. */
export function writeStderr(text: string): void {
  try {
    original.fs.writeSync(2, text);
  } catch {
    // stderr closed: nothing else to tell
  }
}
