// The setup file the rewind-replay/vitest plugin adds (it runs in each test worker): every failing
// test becomes a failure event in the worker's recording, named as vitest names it
// ("file > suite > test"). A test whose function throws or rejects — an assertion, a
// timeout — is reported from the microtasks of the turn where it failed, so
// `rewind replay --break-before-failure` stops before that turn; a test that fails without
// throwing (expect.soft, a failing afterEach) is reported by onTestFailed, later.
import * as vitest from 'vitest';
import { beforeEach, type TestContext } from 'vitest';
import { testFailed } from '../testing.js';

type Task = TestContext['task'];
type Fn = () => unknown;

// A test's function: TestRunner's static methods from vitest 4.1 on (which warns when
// vitest/suite is imported), vitest/suite before.
const runner = (vitest as { TestRunner?: { getTestFn?: (t: Task) => Fn; setTestFn?: (t: Task, fn: Fn) => void } })
  .TestRunner;
const { getFn, setFn }: { getFn: (t: Task) => Fn; setFn: (t: Task, fn: Fn) => void } =
  runner?.getTestFn && runner.setTestFn
    ? { getFn: runner.getTestFn.bind(runner), setFn: runner.setTestFn.bind(runner) }
    : ((await import('vitest/suite')) as never);

/** The try (retryCount) of each test whose failure was reported. */
const reported = new WeakMap<Task, number>();
const wrapped = new WeakSet<Fn>();

function report(task: Task, err: unknown): void {
  const attempt = task.result?.retryCount ?? 0;
  // A test marked `fails` passes by failing.
  if (task.fails || reported.get(task) === attempt) return;
  reported.set(task, attempt);
  testFailed(task.fullName, err);
}

beforeEach(({ task, onTestFailed }) => {
  // vitest reads the test's function after the beforeEach hooks: wrap it once.
  const fn = getFn(task);
  if (!wrapped.has(fn)) {
    const run = async () => {
      try {
        return await fn();
      } catch (err) {
        report(task, err);
        throw err;
      }
    };
    wrapped.add(run);
    setFn(task, run);
  }
  onTestFailed(({ task: failed }) => report(task, failed.result?.errors?.[0]));
});
