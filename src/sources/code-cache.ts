// V8's code cache, as vm hands it to the program: the bytes of `produceCachedData` and
// `createCachedData()` differ from run to run (they hold what V8 had compiled and how), and
// whether V8 took the cache it was given depends on V8's own checks. Programs store them
// (v8-compile-cache under ESLint 8 and ts-node, tap): a write of them would diverge at replay.
// Each outcome is recorded (produced, rejected, the bytes) and the replay's script reports
// the recorded one; the code itself is compiled again either way, so it runs the same.
import vm from 'node:vm';
import type { Session, Source } from '../session/session.js';
import { Api } from '../trace/format.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Outcome = [produced: boolean | undefined, rejected: boolean | undefined, data: Buffer | undefined];

const wantsCache = (options: unknown): boolean =>
  typeof options === 'object' &&
  options !== null &&
  ((options as any).produceCachedData === true || (options as any).cachedData !== undefined);

/** Sets what V8 answered (own data properties, as vm sets them) to the recorded outcome. */
function settle(target: any, [produced, rejected, data]: Outcome): void {
  const own = (k: string, v: unknown) => {
    if (v === undefined) delete target[k];
    else Object.defineProperty(target, k, { value: v, writable: true, enumerable: true, configurable: true });
  };
  own('cachedDataProduced', produced);
  own('cachedDataRejected', rejected);
  own('cachedData', data);
}

const outcomeOf = (target: any): Outcome => [target.cachedDataProduced, target.cachedDataRejected, target.cachedData];

export const codeCacheSource: Source = {
  name: 'code-cache',
  install(s: Session) {
    const V = vm as any;
    /** A script or function compiled with a cache asked for or given: V8's answer, from the log at replay. */
    const answered = (target: any, options: unknown): void => {
      if (!wantsCache(options)) return;
      const filename = String((options as any).filename ?? '');
      settle(
        target,
        s.call(Api['vm.cachedData'], [filename], () => outcomeOf(target)),
      );
    };
    const Real = vm.Script;
    const Script = {
      Script: class extends Real {
        constructor(code: string, options?: any) {
          super(code, options);
          answered(this, options);
        }
      },
    }.Script;
    const createCachedData = Real.prototype.createCachedData;
    Real.prototype.createCachedData = function (this: vm.Script) {
      return s.call(Api['vm.createCachedData'], undefined, () => createCachedData.call(this));
    };
    V.Script = Script;

    const compileFunction = V.compileFunction;
    V.compileFunction = function compileFunction_(this: unknown, code: string, params?: unknown, options?: any) {
      const fn = compileFunction.apply(this, arguments);
      answered(fn, options);
      return fn;
    };
    Object.defineProperty(V.compileFunction, 'name', { value: 'compileFunction' });
  },
};
