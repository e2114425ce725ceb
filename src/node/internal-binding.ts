// internalBinding, the loader of Node's native bindings that Node's own modules call and
// process.binding (an allow-list) does not reach. Caught once, on demand: an in-thread
// inspector session sets a breakpoint on util.promisify, a function of internal/util, whose
// module scope holds internalBinding (its functions call it: setupCoverageHooks' profiler),
// calls it, and reads internalBinding in the paused frame. It costs about 0.1 s (the debugger
// is enabled for that moment), so it is only for what nothing cheaper reaches, in the few
// processes that need it. Verified on Node 20, 22 and 24.
import { builtinModule, inspectorModule } from './fields.js';
import { lookup } from './internals.js';

type InternalBinding = (name: string) => Record<string, unknown>;
type Post = (method: string, params?: object, cb?: (err: Error | null, result?: any) => void) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

let cached: InternalBinding | null | undefined;

/**
 * Whether this environment has an inspector to connect to (node --test's own process on Node
 * 20 has none). Without one, V8's profiler has no session either: what it would write through
 * one (coverage) is not written.
 */
export function hasInspector(): boolean {
  const session = new (inspectorModule().Session)();
  try {
    session.connect();
  } catch {
    return false;
  }
  session.disconnect();
  return true;
}

/** Node's internalBinding, or null (noted missing, with what needed it) if it could not be caught. */
export function internalBinding(affects: string): InternalBinding | null {
  if (cached !== undefined) return cached;
  cached = lookup('internalBinding', affects, catchInternalBinding);
  return cached;
}

function catchInternalBinding(): InternalBinding {
  const util = builtinModule<typeof import('node:util')>('node:util');
  const key = `__rewindInternalBinding${process.pid}`;
  const g = globalThis as Record<string, unknown>;
  const session = new (inspectorModule().Session)();
  session.connect();
  const post = session.post.bind(session) as Post;
  let failure: unknown = null;
  try {
    // Each post to an in-thread session answers before it returns.
    post('Debugger.enable');
    g[key] = util.promisify;
    let fn: string | undefined;
    post('Runtime.evaluate', { expression: `globalThis.${key}` }, (err, r) => {
      if (err) failure = err;
      fn = r?.result?.objectId;
    });
    if (!fn) throw (failure as Error | null) ?? new Error('util.promisify not found by the inspector');
    let breakpoint: string | undefined;
    post('Debugger.setBreakpointOnFunctionCall', { objectId: fn }, (err, r) => {
      if (err) failure = err;
      breakpoint = r?.breakpointId;
    });
    if (!breakpoint) throw (failure as Error | null) ?? new Error('no breakpoint on util.promisify');
    g[key] = undefined;
    session.once('Debugger.paused', ({ params }: { params: { callFrames: { callFrameId: string }[] } }) => {
      post(
        'Debugger.evaluateOnCallFrame',
        { callFrameId: params.callFrames[0].callFrameId, expression: `globalThis.${key} = internalBinding` },
        (err, r) => {
          if (err || r?.exceptionDetails) failure = err ?? new Error(r.exceptionDetails.exception?.description);
        },
      );
      post('Debugger.removeBreakpoint', { breakpointId: breakpoint });
      post('Debugger.resume');
    });
    util.promisify(() => {});
    const found = g[key];
    if (typeof found !== 'function') throw (failure as Error | null) ?? new Error('internalBinding not in scope');
    return found as InternalBinding;
  } finally {
    delete g[key];
    post('Debugger.disable');
    session.disconnect();
  }
}
