// The V8 coverage node:test takes in its own process (`--experimental-test-coverage` with a
// test file run by itself): the runner makes a temporary directory, points Node's profiler
// binding at it, and V8 writes its coverage there natively, at each takeCoverage() and as the
// process ends; the runner then reads those files with fs (recorded like any read) and
// removes the directory. At replay the runner's reads come from the log, and the profiler
// must write nothing: as the runner's coverage module loads, before it sets the directory,
// the binding's coverage functions are made no-ops, so V8 has no directory to write to (and
// writes nothing at exit either). NODE_V8_COVERAGE is not applied at replay (session/trust.ts):
// this flag is what starts V8's coverage there.
import { whenLoaded } from '../node/fields.js';
import { hasInspector, internalBinding } from '../node/internal-binding.js';
import { nodeFlags } from '../session/trust.js';
import type { Session, Source } from '../session/session.js';

const FLAG = '--experimental-test-coverage';
const PROFILER = [
  'setCoverageDirectory',
  'setSourceMapCacheGetter',
  'startCoverage',
  'takeCoverage',
  'stopCoverage',
  'endCoverage',
];
const AFFECTS = "node:test's coverage (V8 would write its files at replay)";

export const coverageSource: Source = {
  name: 'coverage',
  install(s: Session) {
    if (s.mode !== 'replay') return;
    const h = s.header;
    const flags = nodeFlags(h.execArgv, h.env);
    if (!flags.includes(FLAG)) return;
    whenLoaded(
      'internal/test_runner/coverage',
      () => {
        // No inspector here (node --test's own process on Node 20): V8 has no coverage session.
        if (!hasInspector()) return;
        const binding = internalBinding(AFFECTS);
        // A replay that cannot keep V8 from writing stops here (a divergence naming it).
        if (!binding) return s.unsupported(AFFECTS, 'Node does not let rewind reach its profiler binding');
        const profiler = binding('profiler');
        for (const name of PROFILER) if (typeof profiler[name] === 'function') profiler[name] = function () {};
      },
      () => {},
    );
  },
};
