// Call sites, computed at replay time so that recording stays cheap: where the program
// created an operation, or where it made the call that consumed a value.
import { fileURLToPath } from 'node:url';
import { isHidden, type CallSite } from '../session/stack.js';

interface Frame extends CallSite {
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

const asFrames = (_: Error, frames: Frame[]) => frames;

/** file:line:column of the innermost program frame on the stack, or null when none is there. */
export function callSite(): string | null {
  const E = Error as unknown as { prepareStackTrace?: unknown; stackTraceLimit: number };
  const prepare = E.prepareStackTrace;
  const limit = E.stackTraceLimit;
  E.prepareStackTrace = asFrames;
  E.stackTraceLimit = 20;
  const holder: { stack?: Frame[] } = {};
  try {
    Error.captureStackTrace(holder);
    for (const f of holder.stack ?? []) {
      const file = f.getFileName();
      if (!file || isHidden(f) || file.startsWith('node:')) continue;
      const path = file.startsWith('file://') ? fileURLToPath(file) : file;
      return `${path}:${f.getLineNumber()}:${f.getColumnNumber()}`;
    }
    return null;
  } finally {
    E.prepareStackTrace = prepare;
    E.stackTraceLimit = limit;
  }
}

/** Does `site` (path:line:column) lie on `file`:`line`? `file` may be a path suffix. */
export function siteAt(site: string, file: string, line: number): boolean {
  const m = /^(.*):(\d+):\d+$/.exec(site);
  if (!m || Number(m[2]) !== line) return false;
  return m[1] === file || m[1].endsWith(`/${file.replace(/^\.\//, '')}`);
}
