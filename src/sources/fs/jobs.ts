// Node 26's one-round-trip fs jobs (binding.ts JOBS): fs.readFile, fs.writeFile and fs.cp open,
// read or write and close a file in one thread-pool trip through a job object instead of
// binding functions. Each job is one asynchronous call: `run()` is where the program starts it
// (its Call event, arguments checked at replay), `ondone()` the turn it completes in. At replay
// the job is made but never run: `ondone` runs from the log, in the same turn.
//
// lib/fs.js took ReadFileJob and WriteFileJob off the binding when Node started, before rewind,
// so the recording hook is the classes' own `run`. What their constructors were given is only
// seen for jobs made through the binding later (fs/promises, fs.cp): for fs.readFile and
// fs.writeFile's callback forms the Call event has the path alone.
import { currentSession, type ResultCodec } from '../../session/session.js';
import { decodeValue, encodeValue } from '../../trace/values.js';
import { JOBS, type FsBinding, type Spec } from './binding.js';
import { DEFAULT_RESULTS, decodedError, errorOnly, passThrough, programOpened } from './calls.js';
import { fileKey, loadContent, storeContent, type SAME } from './content.js';
import { changesOf, isLoaderPath } from './loader.js';
import { crc32 } from '../../node/bindings.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;
interface NativeJob {
  ondone?: Fn;
  run(...args: unknown[]): unknown;
}
type NativeJobClass = new (...args: unknown[]) => NativeJob;
type Results = unknown[];

const isView = ArrayBuffer.isView;

/** Records each job class the binding has. */
export function installJobs(B: FsBinding): void {
  for (const [name, spec] of Object.entries(JOBS)) {
    const Native = B[name] as NativeJobClass | undefined;
    if (typeof Native !== 'function') continue;
    const argsOf = new WeakMap<object, unknown[]>();
    const Job = class extends Native {
      constructor(...args: unknown[]) {
        super(...args);
        argsOf.set(this, args);
      }
    };
    Object.defineProperty(Job, 'name', { value: name });
    B[name] = Job;
    Native.prototype.run = recordedRun(name, spec, Native.prototype.run, argsOf);
  }
}

function recordedRun(name: string, spec: Spec, run: NativeJob['run'], argsOf: WeakMap<object, unknown[]>): Fn {
  const s = currentSession();
  const what = `fs ${name}`;
  const changes = changesOf(name);
  const wrapper = function (this: NativeJob, ...runArgs: unknown[]): unknown {
    const path = runArgs[0];
    if (passThrough() || (typeof path === 'string' && isLoaderPath(path, wrapper, 'module'))) {
      return run.apply(this, runArgs);
    }
    const job = this;
    const ondone = job.ondone!;
    const args = argsOf.get(job) ?? [path];
    changes?.(args);
    let accessError: unknown;
    s.async({
      api: spec.api,
      args: summarize(spec, args),
      what: `${what}(${typeof path === 'string' ? JSON.stringify(path) : ''})`,
      start(done) {
        job.ondone = done;
        accessError = run.apply(job, runArgs);
        // Only the permission model refuses here, and under it rewind has no fs binding to wrap.
        if (accessError !== undefined) s.unsupported(`${what} refused by the permission model`, String(accessError));
      },
      cb(...results) {
        if (spec.kind === 'readFile' && results[0] == null && results[2] !== -1) programOpened(results[2], path);
        job.ondone = ondone;
        ondone.apply(job, results);
      },
      codec: codecOf(spec, args),
    });
    return accessError;
  };
  Object.defineProperty(wrapper, 'name', { value: 'run' });
  return wrapper;
}

/** The job's arguments as the Call event keeps them: data written as its length and crc32. */
function summarize(spec: Spec, args: unknown[]): unknown[] {
  if (spec.kind === 'writeFile' && args.length > 1) {
    const data = args[3];
    const bytes = isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
    return [args[0], args[1], args[2], bytes?.length ?? null, bytes === null ? null : crc32(bytes)];
  }
  return args.map((x) => (x === undefined || typeof x === 'object' || typeof x === 'function' ? null : x));
}

/**
 * ReadFileJob's (err, buffer, fd, size, closeErr): the content stored once per unchanged file
 * (content.ts), as fs.readFileSync's; the rest as values. Other jobs: their results as values.
 */
function codecOf(spec: Spec, args: unknown[]): ResultCodec<Results> {
  if (spec.kind !== 'readFile') return DEFAULT_RESULTS;
  const key = fileKey(args[0], args[1]);
  return {
    encode: (r) =>
      errorOnly(r) ?? [
        null,
        isView(r[1]) ? storeContent(key, r[1] as Uint8Array) : null,
        encodeValue([r[2], r[3], r[4]]),
      ],
    decode(p) {
      const err = decodedError(p);
      if (err) return err;
      const [, stored, rest] = p as [null, Uint8Array | typeof SAME | null, unknown];
      const [fd, size, closeErr] = decodeValue(rest) as unknown[];
      // A copy: the program owns its buffer, and the stored content must outlive its changes.
      const buffer = stored === null ? undefined : Buffer.from(loadContent(key, stored) as Uint8Array);
      return [null, buffer, fd, size, closeErr];
    },
  };
}
