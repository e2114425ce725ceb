// APIs whose inputs rewind does not record yet. Using one is not silent: the recording
// says so once per API, on stderr and in the log (see Session.unsupported), and a replay
// that later diverges has a known cause. At replay they run for real.
//
// Most of these modules are large, and loading them at startup would slow every recorded
// program: they are patched when the program first requires them. (A module imported only
// through ESM is not seen this way: ESM imports of inspector go unreported.) UDP, HTTP/2 and
// cluster, once listed here, are recorded (dgram.ts, http2.ts, net.ts).
import { cjsLoader } from '../node/fields.js';
import type { Session, Source } from '../session/session.js';

/** Per module: [export, why]: the entry points of each unrecorded family. */
const ENTRY_POINTS: Record<string, [string, string][]> = {
  inspector: [['open', 'the inspector talks to the outside world']],
};

function patch(s: Session, id: string, mod: Record<string, unknown>): void {
  for (const [name, why] of ENTRY_POINTS[id]) {
    const real = mod[name];
    if (typeof real !== 'function' || (real as { [kPatched]?: true })[kPatched]) continue;
    const label = `${id}.${name}()`;
    const wrapper = function (this: unknown, ...args: unknown[]) {
      s.unsupported(label, why);
      return (real as (...a: unknown[]) => unknown).apply(this, args);
    };
    (wrapper as { [kPatched]?: true })[kPatched] = true;
    mod[name] = wrapper;
  }
}
const kPatched = Symbol('rewind.unsupported');

export const unsupportedSource: Source = {
  name: 'unsupported',
  install(s: Session) {
    const load = cjsLoader._load;
    cjsLoader._load = function (this: unknown, request: string) {
      const mod = load.apply(this, arguments as unknown as [string]);
      const id = typeof request === 'string' && request.startsWith('node:') ? request.slice(5) : request;
      if (Object.prototype.hasOwnProperty.call(ENTRY_POINTS, id)) patch(s, id, mod as Record<string, unknown>);
      return mod;
    };
  },
};
