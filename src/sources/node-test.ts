// node:test failures as failure events. Every way a node:test test fails — an assertion
// thrown or rejected, a timeout, `done(err)`, a failing hook — ends in Test.prototype.fail,
// called in the turn where the failure happened (the microtasks after the assertion threw,
// the timeout's timer). src/node/fields.ts finds that private class as the first test is made.
import path from 'node:path';
import { onNodeTestClass } from '../node/fields.js';
import { failureInfo } from '../session/failure.js';
import type { FailureInfo } from '../trace/format.js';
import { testFailed } from '../testing.js';

/** What rewind reads of node:test's internal Test (and Suite) objects. */
interface NodeTest {
  name: string;
  parent: NodeTest | null;
  error: unknown;
  isTodo?: boolean;
  expectFailure?: unknown;
  /** The test file (Node 22+); older versions run one file per process. */
  entryFile?: string;
  fail(err: unknown): void;
}

interface TestFailure {
  failureType?: string;
  cause?: unknown;
}

/** Failures that only repeat another one: a parent's "N subtests failed". */
const DERIVED = new Set(['subtestsFailed']);

const INSTALLED = Symbol.for('rewind.nodeTestHooks');

/** The failures reported so far, as the log holds them (a test process judges itself by them). */
export const reportedFailures: FailureInfo[] = [];

/** `file > suite > test`, the way node:test and vitest name a test. */
export function nodeTestName(test: NodeTest): string {
  const names: string[] = [];
  let root: NodeTest = test;
  for (let t: NodeTest | null = test; t && t.parent; t = t.parent) {
    names.unshift(t.name);
    root = t.parent;
  }
  const file = test.entryFile ?? root.entryFile ?? process.argv[1];
  if (file) names.unshift(path.relative(process.cwd(), file) || file);
  return names.join(' > ');
}

function patch(proto: NodeTest): void {
  const fail = proto.fail;
  proto.fail = function (this: NodeTest, err: unknown) {
    const failure = err as TestFailure | null;
    // Only a test's first failure counts (node:test keeps that one); a failing todo test or a
    // test expected to fail does not fail the run.
    if (this.error == null && !this.isTodo && !this.expectFailure && !DERIVED.has(failure?.failureType ?? '')) {
      const test = nodeTestName(this);
      const cause = failure?.cause ?? err;
      reportedFailures.push({ ...failureInfo(cause, 'test'), test });
      testFailed(test, cause);
    }
    return fail.apply(this, arguments as unknown as [unknown]);
  };
}

/** Reports this process's node:test failures to its recording (once per process). */
export function installNodeTestHooks(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[INSTALLED]) return;
  g[INSTALLED] = true;
  onNodeTestClass<NodeTest>(patch);
}
