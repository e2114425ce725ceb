// How a failure (an uncaught exception, an unhandled rejection, a failed test) is
// described in the log, in both modes.
import type { FailureInfo } from '../trace/format.js';

export function failureInfo(err: unknown, origin: string): FailureInfo {
  const e = err as { name?: unknown; message?: unknown; stack?: unknown } | null;
  const isObj = typeof err === 'object' && err !== null;
  return {
    origin: origin === 'unhandledRejection' || origin === 'test' ? origin : 'uncaughtException',
    name: isObj && typeof e!.name === 'string' ? e!.name : typeof err,
    message: isObj && typeof e!.message === 'string' ? e!.message : String(err),
    stack: isObj && typeof e!.stack === 'string' ? e!.stack : String(err),
  };
}

export function errorLine(err: unknown): string {
  const f = failureInfo(err, '');
  return `${f.name}: ${f.message}`;
}
