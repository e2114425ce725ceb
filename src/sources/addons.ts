// Native addons: every `.node` file a process loads goes through process.dlopen, which is
// looked up at call time. Each load is an event naming the addon; its exports are put
// behind the membrane (membrane.ts), so that at replay the `.node` file is not even loaded
// and every call, object, callback and promise of the addon comes from the log.
//
// An addon can instead run live (for real) at replay, only if the person replaying says
// so (`rewind replay --allow-native NAME`): one whose exports the membrane cannot carry,
// or one named in REWIND_NATIVE_LIVE when recording. Otherwise replay refuses it up front.
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { ENV, steering } from '../session/env.js';
import { original, writeStderr } from '../node/originals.js';
import type { Session, Source } from '../session/session.js';
import type { ReplaySession } from '../session/replay.js';
import { Api } from '../trace/format.js';
import { Membrane } from './membrane.js';

/** The package an addon belongs to (its nearest package.json's name), else its file name. */
export function addonName(file: string): string {
  let dir = path.dirname(file);
  for (let i = 0; i < 12; i++) {
    try {
      const pkg = JSON.parse(String(original.fs.readFileSync(path.join(dir, 'package.json'))));
      if (typeof pkg.name === 'string' && pkg.name) return pkg.name;
    } catch {
      // no package.json here
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return path.basename(file, '.node');
}

/** Names given with --allow-native / REWIND_NATIVE_LIVE: package names or `.node` file names. */
export function namesIn(list: string | undefined): Set<string> {
  return new Set(
    (list ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  );
}

/** Why the membrane cannot carry these exports, or null. */
function unservableShape(exports: unknown): string | null {
  if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) return null;
  for (const k of Reflect.ownKeys(exports)) {
    if (typeof k === 'symbol') return `it exports a symbol-keyed property (${String(k)})`;
    const d = Object.getOwnPropertyDescriptor(exports, k)!;
    if (d.get || d.set) return `its export ${k} is an accessor`;
  }
  return null;
}

// Read as rewind loads: at replay the process source then gives the program its recorded environment.
const ALLOWED = namesIn(process.env[ENV.ALLOW_NATIVE]);

let loaded = 0;

/** Membranes are numbered in load order (shared with node:sqlite, see sqlite.ts). */
export const nextLibrary = (): number => loaded++;

export const addonsSource: Source = {
  name: 'addons',
  install(s: Session) {
    const dlopen = process.dlopen;
    // Recording only (the program has not run yet). A worker thread given an environment of
    // its own has it from its parent (session/env.ts).
    const live = namesIn(steering(ENV.NATIVE_LIVE));
    const allowed = ALLOWED;
    process.dlopen = function (this: unknown, module: { exports: unknown }, filename: string, ...rest: unknown[]) {
      const name = addonName(filename);
      const file = path.basename(filename);
      const args = { name, file };
      const named = (set: Set<string>) => set.has(name) || set.has(file) || set.has(file.replace(/\.node$/, ''));
      let membrane: Membrane | null = null;
      const outcome = s.call(Api['native.load'], args, () => {
        Reflect.apply(dlopen, this, [module, filename, ...rest]);
        const why = named(live) ? 'REWIND_NATIVE_LIVE names it' : unservableShape(module.exports);
        if (why) {
          writeStderr(
            `rewind: warning: the native addon ${name} (${file}) runs live: ${why}. A replay runs it for real only with --allow-native ${name}, and refuses otherwise.\n`,
          );
          return ['live', why];
        }
        membrane = new Membrane(s, { label: name }, nextLibrary());
        return ['served', membrane.wrapExports(module.exports)];
      }) as [string, unknown];
      if (outcome[0] === 'live') {
        if (s.mode === 'replay') {
          if (!named(allowed)) refuse(s as ReplaySession, name, file, String(outcome[1]));
          Reflect.apply(dlopen, this, [module, filename, ...rest]);
        }
        return;
      }
      membrane ??= new Membrane(s, { label: name }, nextLibrary());
      module.exports = membrane.open(outcome[1]);
    } as typeof process.dlopen;
  },
};

/** Replay: an addon the log cannot serve, not allowed to run for real. */
function refuse(s: ReplaySession, name: string, file: string, why: string): never {
  return s.stop(
    `rewind: the recording ran the native addon ${name} (${file}) live (${why}), so its calls are not in the log. ` +
      `Replaying it would run its native code for real, with whatever I/O it does. Pass --allow-native ${name} to allow that.\n`,
    EXIT.BAD_TRACE,
  );
}
