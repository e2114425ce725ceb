// Checks, by type and range, every field of what a recording holds before rewind uses it:
// a recording is data from anywhere, and a wrong type must be reported as corruption
// (exit 65), never crash rewind or reach a system call. Each check returns what is wrong
// (for the user's message), or null. Fields this rewind does not know are left alone.
import os from 'node:os';
import type { EndInfo, FailureInfo, TraceHeader } from './format.js';
import type { RecordingIndex } from './store.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): v is number =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const isFiniteNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A string a system call can take: no NUL byte, and not absurdly long. */
const isCString = (v: unknown, max = 1 << 20): v is string =>
  typeof v === 'string' && v.length <= max && !v.includes('\0');
/** A signal this system knows: replay may end by it (process.kill throws on any other name). */
const isSignal = (v: unknown): boolean => typeof v === 'string' && Object.hasOwn(os.constants.signals, v);

class Invalid extends Error {}
function need(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Invalid(what);
}
function check(f: () => void): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof Invalid) return e.message;
    throw e;
  }
}

function stringArray(v: unknown, what: string, max = 100_000): void {
  need(Array.isArray(v) && v.length <= max, `${what} is not a list`);
  (v as unknown[]).forEach((s, i) => need(isCString(s), `${what}[${i}] is not a string (or holds a NUL byte)`));
}

function stdio(v: unknown, what: string): void {
  need(isObj(v), `${what} is not an object`);
  need(typeof v.isTTY === 'boolean', `${what}.isTTY is not true or false`);
  need(
    v.kind === undefined || v.kind === 'tty' || v.kind === 'pipe' || v.kind === 'file',
    `${what}.kind is not tty, pipe or file`,
  );
  need(v.discarded === undefined || typeof v.discarded === 'boolean', `${what}.discarded is not true or false`);
  for (const k of ['columns', 'rows', 'colorDepth'])
    need(v[k] === undefined || isInt(v[k], 0, 1 << 16), `${what}.${k} is not a small whole number`);
}

/** What is wrong with a log's header, or null. */
export function headerProblem(h: unknown): string | null {
  return check(() => {
    need(isObj(h), 'the header is not an object');
    need(isInt(h.formatVersion, 1, 255), 'formatVersion is not a format number');
    for (const k of ['rewindVersion', 'nodeVersion', 'platform', 'arch', 'title'])
      need(isCString(h[k], 4096), `${k} is not a string`);
    need(isInt(h.pid, 0, 2 ** 32), 'pid is not a process id');
    need(isInt(h.ppid, 0, 2 ** 32), 'ppid is not a process id');
    need(h.threadId === undefined || isInt(h.threadId, 0, 2 ** 32), 'threadId is not a thread id');
    stringArray(h.argv, 'argv');
    need((h.argv as string[]).length >= 1, 'argv is empty (it starts with the node executable)');
    stringArray(h.execArgv, 'execArgv');
    need(
      isCString(h.cwd, 1 << 16) && (h.cwd.startsWith('/') || /^[A-Za-z]:[\\/]/.test(h.cwd)),
      'cwd is not an absolute path',
    );
    need(isObj(h.env), 'env is not an object');
    const env = h.env as Obj;
    need(Object.keys(env).length <= 100_000, 'env has too many variables');
    for (const [k, v] of Object.entries(env)) {
      need(
        k.length > 0 && !k.includes('=') && !k.includes('\0'),
        `env has a variable named ${JSON.stringify(k)}, which no environment can hold`,
      );
      need(isCString(v), `env.${k} is not a string (or holds a NUL byte)`);
    }
    need(isObj(h.entry), 'entry is not an object');
    const entry = h.entry as Obj;
    need(entry.path === null || (isCString(entry.path, 1 << 16) && entry.path.length > 0), 'entry.path is not a path');
    need(
      typeof entry.sha256 === 'string' && /^[0-9a-f]{64}$/.test(entry.sha256),
      'entry.sha256 is not a sha256 digest',
    );
    need(isFiniteNum(h.startWall) && Math.abs(h.startWall) < 8.64e15, 'startWall is not a time');
    need(
      Array.isArray(h.monoBase) && h.monoBase.length === 2 && isInt(h.monoBase[0]) && isInt(h.monoBase[1], 0, 1e9),
      'monoBase is not an [s, ns] pair',
    );
    need(isFiniteNum(h.uptimeBase) && h.uptimeBase >= 0, 'uptimeBase is not a time');
    // From format 6 the perf clock's bases are the perf.origin reading (format.ts), not the header's.
    const perfInHeader = (h.formatVersion as number) < 6;
    for (const k of ['perfNowBase', 'timeOrigin'])
      if (perfInHeader) need(isFiniteNum(h[k]) && (h[k] as number) >= 0, `${k} is not a time`);
      else need(h[k] === undefined, `${k} is in the header (format 6 logs it as perf.origin)`);
    need(
      Array.isArray(h.randomSeed) && h.randomSeed.length === 4 && h.randomSeed.every((x) => isInt(x, 0, 0xffffffff)),
      'randomSeed is not four 32-bit numbers',
    );
    need(
      h.chaos === undefined || (isObj(h.chaos) && isInt(h.chaos.seed, 0, 0xffffffff)),
      'chaos.seed is not a chaos seed',
    );
    need(isObj(h.stdio), 'stdio is not an object');
    for (const k of ['stdin', 'stdout', 'stderr']) stdio((h.stdio as Obj)[k], `stdio.${k}`);
    need(
      h.redacted === undefined ||
        (isObj(h.redacted) &&
          isInt(h.redacted.secrets) &&
          Array.isArray(h.redacted.rules) &&
          h.redacted.rules.every((r) => typeof r === 'string')),
      'redacted is not a list of rules and a count',
    );
    need(
      h.ipc === undefined || (isObj(h.ipc) && (h.ipc.serialization === 'json' || h.ipc.serialization === 'advanced')),
      'ipc.serialization is not json or advanced',
    );
    need(h.titleCapacity === undefined || isInt(h.titleCapacity, 0, 1 << 20), 'titleCapacity is not a length');
    need(h.clusterWorker === undefined || isInt(h.clusterWorker, 0, 0xffffffff), 'clusterWorker is not a worker id');
    need(h.passThrough === undefined || typeof h.passThrough === 'boolean', 'passThrough is not a boolean');
    for (const k of [
      'httpConsume',
      'httpConnections',
      'cryptoJobs',
      'loaderAnswers',
      'hooksMessages',
      'answerKinds',
      'workerEnvPort',
    ] as const) {
      need(h[k] === undefined || typeof h[k] === 'boolean', `${k} is not a boolean`);
    }
    need(
      h.missingInternals === undefined ||
        (Array.isArray(h.missingInternals) &&
          h.missingInternals.every(
            (m) => isObj(m) && typeof m.name === 'string' && typeof m.why === 'string' && typeof m.affects === 'string',
          )),
      'missingInternals is not a list of {name, why, affects}',
    );
  });
}

export const isValidHeader = (h: unknown): h is TraceHeader => headerProblem(h) === null;

/** What is wrong with a failure record, or null. */
export function failureProblem(f: unknown): string | null {
  return check(() => {
    need(isObj(f), 'not an object');
    need(
      f.origin === 'uncaughtException' || f.origin === 'unhandledRejection' || f.origin === 'test',
      'origin is not a kind of failure',
    );
    for (const k of ['name', 'message', 'stack']) need(typeof f[k] === 'string', `${k} is not a string`);
    need(f.test === undefined || typeof f.test === 'string', 'test is not a string');
  });
}

export const isFailure = (f: unknown): f is FailureInfo => failureProblem(f) === null;

/** What is wrong with an end record, or null. */
export function endProblem(e: unknown): string | null {
  return check(() => {
    need(isObj(e), 'not an object');
    need(e.code === null || isInt(e.code, -(2 ** 31), 2 ** 32), 'code is not an exit code');
    need(e.signal === null || isSignal(e.signal), 'signal is not a signal name');
    need(
      e.via === 'exit' || e.via === 'natural' || e.via === 'signal' || e.via === 'uncaught' || e.via === 'terminated',
      'via is not a way to end',
    );
    need(e.execve === undefined || isCString(e.execve, 1 << 16), 'execve is not a path');
  });
}

export const isEnd = (e: unknown): e is EndInfo => endProblem(e) === null;

/** What is wrong with a recording's index.json, or null. */
export function indexProblem(i: unknown): string | null {
  return check(() => {
    need(isObj(i), 'it is not an object');
    stringArray(i.command, 'command');
    need(isCString(i.cwd, 1 << 16), 'cwd is not a path');
    need(typeof i.started === 'string', 'started is not a time');
    need(i.ended === undefined || typeof i.ended === 'string', 'ended is not a time');
    if (i.status !== undefined) {
      need(isObj(i.status), 'status is not an object');
      const s = i.status as Obj;
      need(s.code === null || isInt(s.code, 0, 255), 'status.code is not an exit code');
      need(s.signal === null || isSignal(s.signal), 'status.signal is not a signal name');
    }
    need(
      i.chaos === undefined || (isObj(i.chaos) && isInt(i.chaos.seed, 0, 0xffffffff)),
      'chaos.seed is not a chaos seed',
    );
    need(i.run === undefined || isInt(i.run, 1), 'run is not a run number');
  });
}

export const isIndex = (i: unknown): i is RecordingIndex => indexProblem(i) === null;
