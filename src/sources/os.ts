// os: what a program learns of the machine it runs on — its name, kernel, CPUs, memory,
// load, uptime, network interfaces, user and home, scheduling priority — is an input like
// any other. Each call is recorded with its result, or the SystemError it threw, and served
// from the log at replay, so a replay later or on another machine takes the same branches.
// setPriority is a write: replay does not perform it, the program gets the recorded outcome.
//
// Not recorded: arch(), platform() and endianness() describe the Node binary, like
// process.arch and process.platform, which are not recorded either (the header has them);
// tmpdir() is computed from TMPDIR/TMP/TEMP, and replay restores the environment; the
// constants (os.constants, EOL, devNull) are constants.
import os from 'node:os';
import { takenWhenLoaded, whenLoaded } from '../node/fields.js';
import type { Session, Source } from '../session/session.js';
import { Api } from '../trace/format.js';
import { decodeValue, encodeValue, registerValueClass } from '../trace/values.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;

/** Calls without arguments whose result is the machine's. */
const QUERIES = {
  hostname: Api['os.hostname'],
  cpus: Api['os.cpus'],
  freemem: Api['os.freemem'],
  totalmem: Api['os.totalmem'],
  loadavg: Api['os.loadavg'],
  networkInterfaces: Api['os.networkInterfaces'],
  uptime: Api['os.uptime'],
  homedir: Api['os.homedir'],
  availableParallelism: Api['os.availableParallelism'],
  release: Api['os.release'],
  version: Api['os.version'],
  machine: Api['os.machine'],
  type: Api['os.type'],
} as const;

/** os.getPriority as Node made it (before the source's install replaces it). */
const nodeGetPriority = takenWhenLoaded('os', () => os.getPriority);

/** What Node's validateInt32 accepts: anything else throws before the system is asked. */
const isInt32 = (v: unknown, min = -0x80000000, max = 0x7fffffff): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

// ---- SystemError ------------------------------------------------------------------------

interface SystemErrorLike extends Error {
  code: string;
  info: Record<string, unknown>;
}

let systemErrorClass: (new (info: unknown) => SystemErrorLike) | undefined;

/**
 * Node's ERR_SYSTEM_ERROR class is private; an os call that cannot succeed hands over an
 * instance: no process has pid 2^31 − 1 (Linux caps pids at 2^22, macOS at 99999, Windows
 * pids are multiples of 4).
 */
function SystemErrorClass(): new (info: unknown) => SystemErrorLike {
  if (!systemErrorClass) {
    try {
      nodeGetPriority()(0x7fffffff);
    } catch (e) {
      systemErrorClass = Object.getPrototypeOf(e).constructor;
    }
  }
  return systemErrorClass!;
}

/**
 * os errors are SystemErrors: Node builds the message from their `info` (errno, code,
 * syscall, message) and shows errno and syscall as accessors into it. Rebuilt from `info`
 * with Node's own class, they print and compare as the recorded ones did.
 */
export function registerOsValueClasses(): void {
  registerValueClass<SystemErrorLike>('SystemError', {
    is: (v): v is SystemErrorLike =>
      v instanceof Error &&
      v.name === 'SystemError' &&
      (v as SystemErrorLike).code === 'ERR_SYSTEM_ERROR' &&
      typeof (v as SystemErrorLike).info === 'object',
    encode: (e) => [encodeValue(e.info), e.stack],
    decode(data) {
      const [info, stack] = data as [unknown, string];
      const e = new (SystemErrorClass())(decodeValue(info));
      Object.defineProperty(e, 'stack', { value: stack, writable: true, configurable: true, enumerable: false });
      return e;
    },
  });
}

// ---- the module's functions -------------------------------------------------------------

/** Puts `fn` in place of os[name], looking like the function it replaces. */
function replace(name: string, make: (real: Fn) => Fn): void {
  const exports = os as unknown as Record<string | symbol, any>;
  const real = exports[name] as Fn;
  const fn = make(real) as Fn & { [Symbol.toPrimitive]?: () => unknown };
  Object.defineProperty(fn, 'name', { value: real.name });
  Object.defineProperty(fn, 'length', { value: real.length });
  // `${os.hostname}` is the host name: Node gives these functions a Symbol.toPrimitive.
  if (Object.hasOwn(real, Symbol.toPrimitive)) fn[Symbol.toPrimitive] = () => fn();
  exports[name] = fn;
}

export const osSource: Source = {
  name: 'os',
  install(s: Session) {
    // When node:os loads (by the program, Node or rewind), before anyone has its exports.
    whenLoaded('os', () => installOs(s));
  },
};

function installOs(s: Session): void {
  for (const [name, api] of Object.entries(QUERIES)) {
    replace(
      name,
      (real) =>
        function (this: unknown, ...args: unknown[]) {
          return s.call(api, undefined, () => real.apply(this, args));
        },
    );
  }

  replace(
    'userInfo',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        const options = args[0] as { encoding?: unknown } | null | undefined;
        const summary = typeof options === 'object' && options !== null ? { encoding: options.encoding } : undefined;
        return s.call(Api['os.userInfo'], summary, () => real.apply(this, args));
      },
  );

  // Arguments Node rejects never reach the system: the real function throws Node's own
  // validation error, in both modes, and nothing is recorded.
  replace(
    'getPriority',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        const [pid] = args;
        if (pid !== undefined && !isInt32(pid)) return real.apply(this, args);
        return s.call(Api['os.getPriority'], { pid: pid ?? 0 }, () => real.apply(this, args));
      },
  );
  replace(
    'setPriority',
    (real) =>
      function (this: unknown, ...args: unknown[]) {
        const [pid, priority] = args[1] === undefined ? [0, args[0]] : args;
        if (!isInt32(pid) || !isInt32(priority, -20, 19)) return real.apply(this, args);
        return s.call(Api['os.setPriority'], { pid, priority }, () => real.apply(this, args));
      },
  );
}
