// Node's compile cache (Node 22.1+): `module.enableCompileCache()` (or NODE_COMPILE_CACHE,
// which the replay starts without: session/trust.ts) makes Node write V8's code cache for
// each module it compiles to files of its own. A write Node performs itself, past the fs
// binding: at replay the cache is never enabled, and the program gets what the recorded
// calls answered (the status object, the directory). flushCompileCache() writes at once:
// not performed at replay.
import { cjsLoader, whenLoaded } from '../node/fields.js';
import type { Session, Source } from '../session/session.js';
import { Api } from '../trace/format.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;

export const compileCacheSource: Source = {
  name: 'compile-cache',
  // As node:module loads: it adds these to the CommonJS loader's class (see cjsLoader).
  install: (s: Session) => whenLoaded('module', () => patchModule(s)),
};

function patchModule(s: Session): void {
  const M = cjsLoader as unknown as Record<string, Fn | undefined>;
  const answered = (name: string, api: number, summary: (args: unknown[]) => unknown) => {
    const real = M[name];
    if (typeof real !== 'function') return;
    M[name] = {
      [name](...args: unknown[]) {
        return s.call(api, summary(args), () => real.apply(cjsLoader, args));
      },
    }[name];
  };
  answered('enableCompileCache', Api['module.enableCompileCache'], (args) =>
    args.map((a) => (typeof a === 'object' && a !== null ? { ...a } : a)),
  );
  answered('getCompileCacheDir', Api['module.getCompileCacheDir'], () => undefined);
  const flush = M.flushCompileCache;
  if (typeof flush === 'function' && s.mode === 'replay') {
    M.flushCompileCache = function flushCompileCache() {};
  }
}
