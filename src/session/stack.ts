// Stack traces the program sees must not depend on whether it runs recorded or replayed.
// Record enters callbacks through rewind's wrappers and Node's timer lists; replay enters
// them from rewind's dispatcher. Both sets of frames are dropped from every stack, so an
// uncaught exception prints the same text in both runs.

const REWIND_DIR = new URL('..', import.meta.url).href; // .../dist/
const HIDDEN_INTERNALS = new Set(['node:internal/timers']);

interface CallSite {
  getFileName(): string | undefined | null;
  toString(): string;
}

function isHidden(site: CallSite): boolean {
  const file = site.getFileName();
  if (!file) return false;
  return file.startsWith(REWIND_DIR) || HIDDEN_INTERNALS.has(file);
}

/** Node's default formatting (lib/internal/errors.js), minus rewind's frames. */
function prepareStackTrace(error: Error, trace: CallSite[]): string {
  let head: string;
  try {
    head = Error.prototype.toString.call(error);
  } catch {
    head = '<error>';
  }
  const kept = trace.filter((s) => !isHidden(s));
  if (kept.length === 0) return head;
  return `${head}\n    at ${kept.join('\n    at ')}`;
}

export function installStackFilter(): void {
  // With --enable-source-maps Node formats stacks itself; a user-set hook would disable that.
  const p = process as unknown as { sourceMapsEnabled?: boolean };
  if (p.sourceMapsEnabled || Error.prepareStackTrace !== undefined) return;
  Error.prepareStackTrace = prepareStackTrace as typeof Error.prepareStackTrace;
}

/** The current JS stack without rewind's frames, for reports. */
export function programStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  const captured: { stack?: string } = {};
  Error.captureStackTrace(captured);
  Error.stackTraceLimit = limit;
  const lines = (captured.stack ?? '').split('\n').slice(1);
  const user = lines.filter((l) => !l.includes(REWIND_DIR) && !l.includes('node:internal/timers'));
  return user.join('\n');
}
