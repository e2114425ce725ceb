// The real built-ins, captured when rewind loads and before any source patches them.
// rewind's own I/O, clocks and timers go through these, so they never appear in the log
// and never consume it at replay.
import fs from 'node:fs';
import crypto from 'node:crypto';
import timers from 'node:timers';
import { performance } from 'node:perf_hooks';

export const original = {
  fs: {
    openSync: fs.openSync,
    writeSync: fs.writeSync,
    readSync: fs.readSync,
    closeSync: fs.closeSync,
    readFileSync: fs.readFileSync,
    mkdirSync: fs.mkdirSync,
    renameSync: fs.renameSync,
    writeFileSync: fs.writeFileSync,
    existsSync: fs.existsSync,
    fstatSync: fs.fstatSync,
    readdirSync: fs.readdirSync,
    ftruncateSync: fs.ftruncateSync,
  },
  Date,
  dateNow: Date.now,
  perfNow: performance.now.bind(performance),
  hrtime: process.hrtime,
  hrtimeBigint: process.hrtime.bigint,
  uptime: process.uptime,
  mathRandom: Math.random,
  crypto: {
    randomBytes: crypto.randomBytes,
    randomFillSync: crypto.randomFillSync,
    randomFill: crypto.randomFill,
    randomUUID: crypto.randomUUID,
    randomInt: crypto.randomInt,
    getRandomValues: crypto.getRandomValues,
    createHash: crypto.createHash,
  },
  webcrypto: {
    getRandomValues: globalThis.crypto?.getRandomValues,
    randomUUID: globalThis.crypto?.randomUUID,
  },
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
  reallyExit: (process as unknown as { reallyExit: (code: number) => never }).reallyExit,
  getActiveResourcesInfo: process.getActiveResourcesInfo,
};

/** Write a message to stderr synchronously, bypassing the program's (patched) streams. */
export function writeStderr(text: string): void {
  try {
    original.fs.writeSync(2, text);
  } catch {
    // stderr closed: nothing else to tell
  }
}
