// Test suites: real packages' own tests from their npm tarballs under their runners, a small
// node:test folder, and `npm test`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A node:test folder that reads the clock, randomness, a data file and a local HTTP server. */
const nodeTestFolder = {
  'tests/clock.test.mjs': `import test from 'node:test';
import assert from 'node:assert';
import { setTimeout as sleep } from 'node:timers/promises';
test('time moves on across a sleep', async () => {
  const t0 = Date.now();
  await sleep(30);
  assert.ok(Date.now() - t0 >= 25);
  console.log('slept; uuid', crypto.randomUUID(), 'random', Math.random());
});
`,
  'tests/data.test.cjs': `const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
test('the data file adds up', () => {
  const data = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'data.json'), 'utf8'));
  const sum = data.values.reduce((a, b) => a + b, 0);
  fs.writeFileSync(path.join(__dirname, '..', 'out', 'sum.txt'), String(sum));
  console.log('sum', sum, 'at', new Date().toISOString());
  assert.strictEqual(sum, 10);
});
`,
  'tests/http.test.mjs': `import test from 'node:test';
import assert from 'node:assert';
import http from 'node:http';
test('a local server answers', async () => {
  const server = http.createServer((req, res) => res.end('hello ' + req.url + ' ' + Date.now()));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const res = await fetch('http://127.0.0.1:' + server.address().port + '/x');
  const text = await res.text();
  console.log(text);
  assert.match(text, /^hello \\/x /);
  server.close();
});
`,
  'data.json': '{ "values": [1, 2, 3, 4] }\n',
};

/** A small module and node:test files that cover it in part (for the coverage workloads). */
const coveredFiles = {
  'lib.js': `exports.classify = (n) => {
  if (n < 0.3) return 'low';
  if (n < 0.7) return 'mid';
  return 'high';
};
exports.unused = () => 'never called';
`,
  'main.js': `const { classify } = require('./lib');
const fs = require('node:fs');
const out = [];
for (let i = 0; i < 5; i++) out.push(classify(Math.random()));
setTimeout(() => {
  console.log(out.join(','), new Date().toISOString().length);
  fs.writeFileSync('out.txt', out.join('\\n'));
}, 1000);
`,
  'test/a.test.js': `const test = require('node:test');
const assert = require('node:assert');
const { classify } = require('../lib');
test('classify low, and a random one', async () => {
  await new Promise((r) => setTimeout(r, 5));
  assert.strictEqual(classify(0.1), 'low');
  assert.ok(['low', 'mid', 'high'].includes(classify(Math.random())));
});
`,
  'test/b.test.js': `const test = require('node:test');
const assert = require('node:assert');
const { classify } = require('../lib');
test('classify high', () => assert.strictEqual(classify(0.9), 'high'));
`,
};

/** node:test's coverage directories left in the temporary directory (the runner removes its own). */
const coverageDirsLeft = () => {
  const left = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('node-coverage-'));
  return left.length ? `coverage directories left in ${os.tmpdir()}: ${left.join(', ')}` : null;
};

function resetOut(ctx) {
  fs.mkdirSync(path.join(ctx.dir, 'out'), { recursive: true });
}

function changeData(ctx) {
  ctx.write('data.json', '{ "values": [100] }\n');
  fs.rmSync(path.join(ctx.dir, 'out'), { recursive: true, force: true });
}

export const SUITES = [
  {
    name: 'suite-mocha',
    what: "json-schema-traverse's own spec (from its tarball) under mocha",
    fast: true,
    packages: { mocha: '10.8.2', 'json-schema-traverse': '1.0.0' },
    command: [
      'node',
      'node_modules/mocha/bin/mocha.js',
      '--reporter',
      'spec',
      'node_modules/json-schema-traverse/spec/*.spec.js',
    ],
  },
  {
    name: 'suite-nyc',
    what: "the same spec under mocha with nyc's coverage: its --require preload in every process, signal-exit's exit handlers (they write the coverage after rewind's end record), its watchdog process",
    fast: true,
    packages: { nyc: '17.1.0', mocha: '10.8.2', 'json-schema-traverse': '1.0.0' },
    outputs: ['.nyc_output', 'coverage'],
    // The whole run: by default rewind replays the process that failed, nyc's watchdog
    // (foreground-child's, whose -e code has a syntax error), replayed alone below.
    replayArgs: ['-p', 'nyc'],
    command: [
      'node',
      'node_modules/nyc/bin/nyc.js',
      '--reporter=text',
      'node',
      'node_modules/mocha/bin/mocha.js',
      'node_modules/json-schema-traverse/spec/*.spec.js',
    ],
  },
  {
    name: 'c8-program',
    what: "c8 10 around a program (NODE_V8_COVERAGE: V8 writes each process's coverage as it exits, c8 reads it and reports; foreground-child's watchdog)",
    fast: true,
    packages: { c8: '10.1.3' },
    files: coveredFiles,
    outputs: ['coverage', 'out.txt'],
    // By default rewind replays the failed process: foreground-child's watchdog (see suite-nyc).
    // main.js runs a second: a program that ends first has c8 SIGKILL the watchdog as it starts
    // (its log then ends before any event, and its replay alone stops there with exit 70,
    // which run.mjs accepts only for a child its recorded parent saw SIGKILLed: under load,
    // nyc's watchdog above can lose that race too).
    replayArgs: ['-p', 'c8'],
    command: ['node', 'node_modules/c8/bin/c8.js', '--reporter=text', 'node', 'main.js'],
  },
  {
    name: 'c8-node-test',
    what: 'c8 10 around node --test (each test file in its child, each writing its V8 coverage)',
    packages: { c8: '10.1.3' },
    files: coveredFiles,
    outputs: ['coverage'],
    replayArgs: ['-p', 'c8'],
    command: [
      'node',
      'node_modules/c8/bin/c8.js',
      '--reporter=text',
      'node',
      '--test',
      '--test-reporter=tap',
      'test/a.test.js',
      'test/b.test.js',
    ],
  },
  {
    name: 'node-test-coverage',
    what: 'node --test --experimental-test-coverage: the runner reads the V8 coverage its children write into its temporary directory',
    fast: true,
    files: coveredFiles,
    command: [
      'node',
      '--test',
      '--experimental-test-coverage',
      '--test-reporter=tap',
      'test/a.test.js',
      'test/b.test.js',
    ],
    check: coverageDirsLeft,
  },
  {
    name: 'node-test-coverage-file',
    what: 'node --experimental-test-coverage on one test file: V8 writes the coverage in the process itself (takeCoverage), which reads it back; nothing is written at replay',
    files: coveredFiles,
    command: ['node', '--experimental-test-coverage', '--test-reporter=tap', 'test/a.test.js'],
    check: coverageDirsLeft,
  },
  {
    name: 'suite-tape',
    what: "minimist's own tests (from its tarball) under tape",
    packages: { tape: '5.9.0', minimist: '1.2.8' },
    command: ['node', 'node_modules/tape/bin/tape', 'node_modules/minimist/test/*.js'],
  },
  {
    name: 'suite-node-test',
    what: "mime@1's own test file (from its tarball) under node --test",
    packages: { mime: '1.6.0' },
    // Copied out of node_modules: node --test (22+) does not run files under node_modules.
    outputs: ['mime-pkg'],
    setup: (ctx) =>
      fs.cpSync(path.join(ctx.dir, 'node_modules', 'mime'), path.join(ctx.dir, 'mime-pkg'), { recursive: true }),
    command: ['node', '--test', '--test-reporter=tap', 'mime-pkg/src/test.js'],
  },
  {
    name: 'node-test-folder',
    what: 'node --test (its default file search) of a small folder: clock, randomness, a data file, a local HTTP server',
    fast: true,
    files: nodeTestFolder,
    outputs: ['out'],
    setup: resetOut,
    command: ['node', '--test', '--test-reporter=tap'],
    changeWorld: changeData,
  },
  {
    name: 'npm-test',
    what: '`rewind record -- npm test` of a package whose test script is node --test',
    packageJson: { scripts: { test: 'node --test --test-reporter=tap' } },
    files: nodeTestFolder,
    outputs: ['out'],
    setup: resetOut,
    command: ['npm', 'test', '--silent'],
    changeWorld: changeData,
  },
];
