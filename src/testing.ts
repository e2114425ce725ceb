// For test runner integrations (rewind-replay/vitest, rewind-replay/node-test) and programs that judge
// their own runs: tell the recording of this process that a test failed. A recording whose
// test failed counts as a failed run (`rewind record --until-fail` keeps it, `rewind replay`
// picks its process, `--break-before-failure` stops before the failing turn).
import vm from 'node:vm';
import { SESSION_KEY, type Session } from './session/session.js';

type Realm = Record<symbol, Session | undefined>;
/**
 * The process's session. Test runners that run tests in vm contexts (vitest's vm pools)
 * load this module inside the context, whose global is not the main realm's.
 */
const session = (): Session | undefined =>
  (globalThis as Realm)[SESSION_KEY] ?? (vm.runInThisContext('globalThis') as Realm)[SESSION_KEY];

/** Records (or, in a replay, checks) that `test` failed with `err`. A no-op without rewind. */
export function testFailed(test: string, err: unknown): void {
  session()?.testFailed(test, err);
}

/** 'record' or 'replay' when this process runs under rewind, else null. */
export function rewindMode(): 'record' | 'replay' | null {
  return session()?.mode ?? null;
}
