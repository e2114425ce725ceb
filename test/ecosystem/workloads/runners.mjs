// Test runners with their default process/thread pools: Jest (node and jsdom environments, a
// failing test, its worker pool) and vitest in each of its pools.
import fs from 'node:fs';
import path from 'node:path';

const testBodies = {
  timers: `
test('a timer and the clock', async () => {
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
  console.log('random', Math.random(), 'uuid', crypto.randomUUID());
});
`,
  data: `
const fs = require('node:fs');
const path = require('node:path');
test('the data file', () => {
  const data = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'data.json'), 'utf8'));
  expect(data.values.reduce((a, b) => a + b, 0)).toBe(10);
});
`,
};

const jestFiles = {
  'jest.config.js':
    "module.exports = { testEnvironment: 'node', maxWorkers: 2, cacheDirectory: '<rootDir>/.jest-cache' };\n",
  'data.json': '{ "values": [1, 2, 3, 4] }\n',
  '__tests__/timers.test.js': testBodies.timers,
  '__tests__/data.test.js': testBodies.data,
  '__tests__/dom.test.js': `/**
 * @jest-environment jsdom
 */
test('the DOM', () => {
  document.body.innerHTML = '<ul><li>a</li><li>b</li></ul>';
  expect(document.querySelectorAll('li').length).toBe(2);
  console.log('now', new Date().toISOString(), performance.now() > 0);
});
`,
  '__tests__/fails.test.js': `
test('a failing test', () => {
  expect({ answer: 41 + Math.floor(Math.random() * 0) }).toEqual({ answer: 42 });
});
`,
};

const vitestFiles = {
  'data.json': '{ "values": [1, 2, 3, 4] }\n',
  'tests/timers.test.js': "import { test, expect } from 'vitest';\n" + testBodies.timers,
  'tests/data.test.js': `import { test, expect } from 'vitest';
import fs from 'node:fs';
test('the data file', async () => {
  const data = JSON.parse(await fs.promises.readFile(new URL('../data.json', import.meta.url), 'utf8'));
  expect(data.values.reduce((a, b) => a + b, 0)).toBe(10);
});
`,
  'tests/fetch.test.js': `import { test, expect } from 'vitest';
import http from 'node:http';
test('a local server', async () => {
  const server = http.createServer((req, res) => res.end('ok ' + req.url));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const text = await (await fetch('http://127.0.0.1:' + server.address().port + '/v')).text();
  server.close();
  expect(text).toBe('ok /v');
});
`,
};

function changeData(ctx) {
  ctx.write('data.json', '{ "values": [7] }\n');
}

const tapFiles = {
  'data.json': '{ "values": [1, 2, 3, 4] }\n',
  'test/timers.test.js': `const t = require('tap');
t.test('a timer and the clock', async (t) => {
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  t.ok(Date.now() - t0 >= 15);
  console.log('random', Math.random(), 'uuid', crypto.randomUUID());
});
`,
  'test/data.test.mjs': `import t from 'tap';
import fs from 'node:fs';
t.test('the data file', async (t) => {
  const data = JSON.parse(fs.readFileSync(new URL('../data.json', import.meta.url), 'utf8'));
  t.equal(data.values.reduce((a, b) => a + b, 0), 10);
});
`,
};

const avaFiles = {
  'data.json': '{ "values": [1, 2, 3, 4] }\n',
  'test/timers.js': `const test = require('ava');
test('a timer and the clock', async (t) => {
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  t.true(Date.now() - t0 >= 15);
  t.log('random', Math.random(), 'uuid', crypto.randomUUID());
});
test('an immediate', async (t) => {
  await new Promise((r) => setImmediate(r));
  t.pass();
});
`,
  'test/data.js': `const test = require('ava');
const fs = require('node:fs');
const path = require('node:path');
test('the data file', async (t) => {
  const data = JSON.parse(await fs.promises.readFile(path.join(__dirname, '..', 'data.json'), 'utf8'));
  t.is(data.values.reduce((a, b) => a + b, 0), 10);
});
`,
  'test/fetch.js': `const test = require('ava');
const http = require('node:http');
test('a local server', async (t) => {
  const server = http.createServer((req, res) => res.end('ok ' + req.url));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const text = await (await fetch('http://127.0.0.1:' + server.address().port + '/v')).text();
  server.close();
  t.is(text, 'ok /v');
});
`,
  // Its stack goes to ava's main process with the failure (serialized: it must be the same
  // at replay, async frames included).
  'test/fails.js': `const test = require('ava');
test('a failing test', (t) => {
  t.deepEqual({ answer: 41 + Math.floor(Math.random() * 0) }, { answer: 42 });
});
`,
};

const mochaFiles = {
  'data.json': '{ "values": [1, 2, 3, 4] }\n',
  'test/timers.spec.js': `const assert = require('node:assert');
describe('timers', () => {
  it('a timer and the clock', async () => {
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(Date.now() - t0 >= 15);
    console.log('random', Math.random(), 'uuid', crypto.randomUUID());
  });
});
`,
  'test/data.spec.js': `const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
describe('data', () => {
  it('the data file', async () => {
    const data = JSON.parse(await fs.promises.readFile(path.join(__dirname, '..', 'data.json'), 'utf8'));
    assert.strictEqual(data.values.reduce((a, b) => a + b, 0), 10);
  });
});
`,
  'test/fetch.spec.js': `const assert = require('node:assert');
const http = require('node:http');
describe('fetch', () => {
  it('a local server', async () => {
    const server = http.createServer((req, res) => res.end('ok ' + req.url));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const text = await (await fetch('http://127.0.0.1:' + server.address().port + '/v')).text();
    server.close();
    assert.strictEqual(text, 'ok /v');
  });
});
`,
  'test/fails.spec.js': `const assert = require('node:assert');
describe('fails', () => {
  it('a failing test', () => {
    assert.deepStrictEqual({ answer: 41 + Math.floor(Math.random() * 0) }, { answer: 42 });
  });
});
`,
};

export const RUNNERS = [
  {
    name: 'jest',
    what: 'Jest 29: node and jsdom environments, a failing test, its worker pool (2 workers, no cache)',
    fast: true,
    packages: { jest: '29.7.0', 'jest-environment-jsdom': '29.7.0' },
    files: jestFiles,
    outputs: ['.jest-cache'],
    command: ['node', 'node_modules/jest/bin/jest.js', '--ci', '--no-cache', '--maxWorkers=2'],
    expectStatus: 1,
    changeWorld: changeData,
    timeoutMs: 180_000,
  },
  {
    name: 'tap',
    what: "tap 21: each test file in its own process under tap's module.register() hooks (ts-node, mocks, processinfo reporting each loaded module over a port)",
    fast: true,
    packages: { tap: '21.8.0' },
    files: tapFiles,
    outputs: ['.tap'],
    command: ['node', 'node_modules/tap/dist/esm/run.mjs', '--disable-coverage', 'test/'],
    changeWorld: changeData,
    timeoutMs: 180_000,
  },
  ...[
    ['ava', 'its worker threads'],
    ['ava-processes', 'child processes (--no-worker-threads)'],
  ].map(([name, how]) => ({
    name,
    what: `ava 6: test files in ${how}, a failing test`,
    fast: name === 'ava-processes',
    packages: { ava: '6.4.1' },
    files: avaFiles,
    command: [
      'node',
      'node_modules/ava/entrypoints/cli.mjs',
      '--verbose',
      ...(name === 'ava-processes' ? ['--no-worker-threads'] : []),
    ],
    expectStatus: 1,
    changeWorld: changeData,
    timeoutMs: 180_000,
  })),
  {
    name: 'ava-snapshots',
    what: 'ava 6 in worker threads: snapshots of random values (written by the worker), a serial test, a fixture read',
    packages: { ava: '6.4.1' },
    packageJson: { ava: { files: ['test/**/*.js'], workerThreads: true } },
    files: {
      'fixtures/input.json': '{ "words": ["b", "c", "a"] }\n',
      'test/snap.js': `const test = require('ava');
const fs = require('node:fs/promises');
test('a snapshot of the fixture and a random draw', async (t) => {
  const input = JSON.parse(await fs.readFile('fixtures/input.json', 'utf8'));
  t.snapshot(input.words.sort(), 'sorted words');
  t.snapshot({ draw: Math.random(), at: new Date().toISOString().slice(0, 4) }, 'a draw');
});
test.serial('serial, after a timer', async (t) => {
  t.timeout(2000);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 15));
  t.true(performance.now() - t0 >= 10);
  t.snapshot(crypto.randomUUID().length);
});
`,
      'test/more.js': `const test = require('ava');
const fs = require('node:fs');
test('the fixture again', (t) => {
  t.is(JSON.parse(fs.readFileSync('fixtures/input.json', 'utf8')).words.length, 3);
  t.log('random', Math.random());
});
`,
    },
    outputs: ['test/snapshots'],
    command: ['node', 'node_modules/ava/entrypoints/cli.mjs', '--verbose'],
    // The snapshots are gone and the fixture is another: replay must neither read nor write them.
    changeWorld: (ctx) => {
      fs.rmSync(path.join(ctx.dir, 'test', 'snapshots'), { recursive: true, force: true });
      ctx.write('fixtures/input.json', '{ "words": [] }\n');
    },
    timeoutMs: 180_000,
  },
  {
    name: 'mocha-parallel',
    what: "mocha 11 --parallel: test files in workerpool's child processes (2 jobs), a failing test",
    fast: true,
    packages: { mocha: '11.8.0' },
    files: mochaFiles,
    command: ['node', 'node_modules/mocha/bin/mocha.js', '--parallel', '--jobs', '2', 'test/*.spec.js'],
    expectStatus: 1,
    changeWorld: changeData,
    timeoutMs: 180_000,
  },
  ...['forks', 'threads', 'vmForks', 'vmThreads'].map((pool) => ({
    name: `vitest-${pool}`,
    what: `vitest 3 run in the ${pool} pool`,
    fast: pool === 'forks',
    packages: { vitest: '3.2.4' },
    files: vitestFiles,
    command: ['node', 'node_modules/vitest/vitest.mjs', 'run', `--pool=${pool}`, '--reporter=verbose'],
    changeWorld: changeData,
    timeoutMs: 180_000,
  })),
];
