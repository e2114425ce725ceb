// rewind-replay/jest/setup, a setupFilesAfterEnv module (rewind-replay/jest adds it): runs inside each
// test file's vm context, in the worker that runs the file, and adds an event handler to
// jest-circus (its handlers live on the context's global under Symbol.for('EVENT_HANDLERS')).
// A test whose function throws or rejects — an assertion, a timeout — is reported from the
// turn where it failed (test_fn_failure), so `rewind replay --break-before-failure` stops
// before that turn; a test that fails otherwise (a failing beforeEach or afterEach) is
// reported when jest closes it (test_done). Each failure becomes a failure event in the
// worker's recording, named "file > describe > test".
//
// CommonJS, because jest's runtime loads setup files as CommonJS; nothing of rewind is
// imported: the session is found on the main realm's global, which vm.runInThisContext
// reaches from inside the test's context.
import path = require('node:path');
import vm = require('node:vm');

interface Block {
  name: string;
  parent?: Block;
}
interface Test extends Block {
  invocations?: number;
  errors?: unknown[];
}
interface CircusEvent {
  name: string;
  test?: Test;
  error?: unknown;
}
interface Session {
  testFailed(test: string, err: unknown): void;
}

const ROOT_BLOCK = 'ROOT_DESCRIBE_BLOCK';
const SESSION_KEY = Symbol.for('rewind.session');
const EVENT_HANDLERS = Symbol.for('EVENT_HANDLERS');

const main = vm.runInThisContext('globalThis') as Record<symbol, Session | undefined>;
const handlers = (globalThis as unknown as Record<symbol, ((event: CircusEvent) => void)[] | undefined>)[
  EVENT_HANDLERS
];
const session = main[SESSION_KEY];

if (session && Array.isArray(handlers)) {
  const expectState = (globalThis as { expect?: { getState?: () => { testPath?: string } } }).expect?.getState?.();
  const file = expectState?.testPath ? path.relative(process.cwd(), expectState.testPath) : '';
  /** The invocation (retry) of each test whose failure was reported. */
  const reported = new WeakMap<Test, number>();

  const fullName = (test: Test): string => {
    const names: string[] = [];
    for (let b: Block | undefined = test; b && b.name !== ROOT_BLOCK; b = b.parent) names.unshift(b.name);
    return [file, ...names].filter(Boolean).join(' > ');
  };
  const report = (test: Test, err: unknown) => {
    const attempt = test.invocations ?? 1;
    if (reported.get(test) === attempt) return;
    reported.set(test, attempt);
    session.testFailed(fullName(test), err);
  };

  handlers.push((event) => {
    const test = event.name === 'test_fn_failure' || event.name === 'test_done' ? event.test : undefined;
    if (!test) return;
    if (event.name === 'test_fn_failure') report(test, event.error);
    else if (test.errors?.length) {
      // jest keeps [error, asyncError] pairs for errors raised outside the test function.
      const first = test.errors[0];
      report(test, Array.isArray(first) ? first[0] : first);
    }
  });
}
