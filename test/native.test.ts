// Native libraries behind the membrane: an addon (better-sqlite3) and Node's built-in
// node:sqlite are recorded at their JS boundary and served from the log at replay, where
// the database file is neither read nor written. An addon the recording ran live is
// refused at replay unless --allow-native names it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NODE,
  ROOT,
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  fixture,
  record,
  replay,
  rewind,
  run,
  tempDir,
} from './helpers.js';

afterAll(cleanupTempDirs);

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Runs plain node code (no rewind) from the project root, where better-sqlite3 resolves. */
async function node(code: string, ...args: string[]) {
  const r = await run(NODE, ['-e', code, ...args], { cwd: ROOT });
  if (r.status !== 0) throw new Error(describeRun('node -e', r));
  return r.stdout.toString('utf8');
}

/** better-sqlite3 is built for one Node ABI (the one `npm install` ran under). */
const betterSqlite = await run(NODE, ['-e', "new (require('better-sqlite3'))(':memory:')"], { cwd: ROOT });
const hasBetterSqlite = betterSqlite.status === 0;

/** Puts other content in the database: the replay must not see it, nor change it. */
const REWRITE = `const D = require('better-sqlite3'); const db = new D(process.argv[1]);
db.exec("DROP TABLE IF EXISTS items; CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, blob BLOB); INSERT INTO items (name, qty) VALUES ('changed', 99)"); db.close();`;

describe.skipIf(!hasBetterSqlite)('better-sqlite3 (a native addon behind the membrane)', () => {
  it('replays reads, writes, transactions, all(), iterate() and an error from the log, twice, with the database changed and left untouched', async () => {
    const db = path.join(tempDir(), 'app.db');
    const rec = await record('native-sqlite.cjs', [db]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    // The recording really wrote: three rows.
    expect(
      await node(
        `const D = require('better-sqlite3'); console.log(new D(process.argv[1]).prepare('SELECT COUNT(*) AS c FROM items').get().c)`,
        db,
      ),
    ).toBe('3\n');
    await node(REWRITE, db);
    const before = sha(db);
    for (let i = 0; i < 2; i++) {
      const rep = await replay(rec.dir);
      expectReplayMatches(expect, { record: rec, replay: rep });
      expect(sha(db), 'the replay changed the database file').toBe(before);
    }
    const info = await rewind(['info', rec.dir]);
    expect(info.stdout.toString()).toMatch(/native\s+better-sqlite3 \(better_sqlite3\.node\): served from the log/);
  });

  it('replays the callbacks it makes during a query (user function, aggregate, verbose), serialize() and a backup, which writes nothing at replay', async () => {
    const backup = path.join(tempDir(), 'backup.db');
    const rec = await record('native-sqlite-fn.cjs', [backup]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toContain(
      '[ { d: 2 }, { d: 4 }, { d: 6 } ]\nsql> SELECT total(v) AS s FROM t\n{ s: 6 }\n',
    );
    expect(fs.existsSync(backup)).toBe(true);
    fs.rmSync(backup);
    for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    expect(fs.existsSync(backup), 'the replay wrote the backup').toBe(false);
  });

  it('refuses up front, by name, to replay an addon the recording ran live, and runs it for real only with --allow-native', async () => {
    const db = path.join(tempDir(), 'app.db');
    const rec = await record('native-sqlite.cjs', [db], { env: { REWIND_NATIVE_LIVE: 'better-sqlite3' } });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stderr.toString()).toContain('the native addon better-sqlite3 (better_sqlite3.node) runs live');
    const before = sha(db);
    const refused = await replay(rec.dir);
    expect(refused.status, describeRun('replay', refused)).toBe(65);
    expect(refused.stderr.toString()).toMatch(
      /ran the native addon better-sqlite3 .* live .*Pass --allow-native better-sqlite3/s,
    );
    expect(refused.stdout.length, 'the program ran').toBe(0);
    expect(sha(db)).toBe(before);
    const events = await rewind(['events', rec.dir]);
    expect(events.stderr.toString()).toContain('--allow-native better-sqlite3');
    // Allowed: the addon's native code runs for real (it inserts rows again).
    const allowed = await replay(rec.dir, { flags: ['--allow-native', 'better-sqlite3'] });
    expect(allowed.stderr.toString()).not.toContain('Pass --allow-native');
    expect(allowed.stdout.toString()).toContain('inserted number 1');
    expect(sha(db)).not.toBe(before);
    // Recorded and replayed through bin/rewind (one process each): its replay too is refused,
    // by the CLI, before the program runs.
    const front = path.join(ROOT, 'bin', 'rewind');
    const dir = path.join(tempDir(), 'rec');
    const launched = await run(front, ['record', '--out', dir, '--', NODE, fixture('native-sqlite.cjs'), db], {
      env: { REWIND_NATIVE_LIVE: 'better-sqlite3' },
    });
    expect(launched.status, describeRun('record', launched)).toBe(0);
    expect(fs.existsSync(path.join(dir, 'replay.args'))).toBe(true);
    const after = sha(db);
    const frontRefused = await run(front, ['replay', dir], { env: { REWIND_LAUNCH_DEBUG: '1' } });
    expect(frontRefused.status, describeRun('replay', frontRefused)).toBe(65);
    expect(frontRefused.stderr.toString()).toContain('rewind: replaying through the CLI: native addons\n');
    expect(frontRefused.stdout.length, 'the program ran').toBe(0);
    expect(sha(db)).toBe(after);
  });
});

const hasNodeSqlite = await run(NODE, ['-e', "require('node:sqlite')"]).then((r) => r.status === 0);

// Node 20 has no node:sqlite (22.5 added it, behind --experimental-sqlite until 22.13).
describe.skipIf(!hasNodeSqlite)('node:sqlite (built in, behind the membrane)', () => {
  it('replays reads, writes, a transaction, all(), iterate() and an error from the log, with the database changed, then gone', async () => {
    const db = path.join(tempDir(), 'notes.db');
    const rec = await record('node-sqlite.mjs', [db]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const count = `const { DatabaseSync } = require('node:sqlite'); const d = new DatabaseSync(process.argv[1]);`;
    expect(await node(`${count} console.log(d.prepare('SELECT COUNT(*) AS n FROM notes').get().n)`, db)).toBe('4\n');
    await node(`${count} d.exec("DELETE FROM notes; INSERT INTO notes (body) VALUES ('changed')"); d.close()`, db);
    const before = sha(db);
    const rep = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: rep });
    expect(sha(db), 'the replay changed the database file').toBe(before);
    fs.rmSync(db);
    const again = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: again });
    expect(fs.existsSync(db), 'the replay opened (created) the database file').toBe(false);
    const info = await rewind(['info', rec.dir]);
    expect(info.stdout.toString()).toMatch(/native\s+node:sqlite: served from the log/);
  });
});

/** The probe addon (test/fixtures/addon/probe.c), compiled for this test; N-API: one build serves every Node. */
function buildProbe(): string | null {
  const headers = ['/usr/include/node', path.join(path.dirname(path.dirname(NODE)), 'include/node')].find((d) =>
    fs.existsSync(path.join(d, 'node_api.h')),
  );
  if (!headers) return null;
  const out = path.join(tempDir('rewind-probe-'), 'probe.node');
  const cc = spawnSync(
    'cc',
    ['-shared', '-fPIC', '-O1', `-I${headers}`, '-o', out, path.join(ROOT, 'test/fixtures/addon/probe.c'), '-lpthread'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return cc.status === 0 ? out : null;
}
const probe = buildProbe();

// Skipped where no C compiler or Node headers are at hand to build the probe.
describe.skipIf(!probe)('an addon doing native I/O, threadsafe-function callbacks and promises', () => {
  it('an export Object.keys does not list, and what the addon sets on an object the program passed, replay', async () => {
    const rec = await record('addon/fill-in.cjs', [probe!]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    // Plain Node's output; before, the recording lost fillIn (a TypeError) or the replay lost obj.double.
    expect(rec.stdout.toString()).toBe('false function\nmine,answer,double 42 function 42\n');
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it("a call whose `this` is the program's object holding functions makes the same ops at replay (Next.js's SWC binding)", async () => {
    const rec = await record('addon/this-object.cjs', [probe!]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('read 4\nread 4\nread 4\nimmediate\ntimer\n');
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it("a class whose native code calls methods the program put on its prototype, and calls back with its object as `this` (sqlite3's Database and Statement)", async () => {
    const rec = await record('addon/emitter.cjs', [probe!]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    // Plain Node's output; before, recording ended in "the object has no emit method".
    expect(rec.stdout.toString()).toBe(
      'queued 1\nfired 1 true 1\ncallback 1 true 1 set by the program\nqueued 2\nfired 2 true 2\ncallback 2 true 2\ntimer true\n',
    );
    for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it("an external handed back to the addon, and an array the addon fills, replay (libsql's database handle and rowsNext)", async () => {
    const rec = await record('addon/handles.cjs', [probe!]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    // Plain Node's output; before, recording threw "not a handle", and the replay's rows were empty.
    expect(rec.stdout.toString()).toBe(
      'handle object null 7\nrows [{"row":0},{"row":1},{"row":2},null] 10\nmore [{"row":0},{"row":1}] true\n',
    );
    for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('two callbacks from one native completion run with no microtask between them at replay either', async () => {
    const rec = await record('addon/twice.cjs', [probe!]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    // Plain Node's order: the microtask the progress callback queued comes after done().
    expect(rec.stdout.toString()).toBe(
      'progress 1\ndone 1\nmicrotask after 1 2\nprogress 2\ndone 2\nmicrotask after 2 2\n',
    );
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    const events = (await rewind(['events', rec.dir, '--no-sites'])).stdout.toString();
    // The second callback of each completion is marked as joined to the turn before (payload's 1).
    expect(events.match(/turn +native\.callback callback .* \[0, \[\d\], 1\]/g)).toHaveLength(2);
    expect(events.match(/turn +native\.callback callback .* \[0, \[\d\]\]$/gm)).toHaveLength(2);
  });

  it("replays from the log, twice: the bytes it read into the program's buffer, its error, its callbacks and promise; the file it appended to is untouched", async () => {
    const file = path.join(tempDir(), 'appended.txt');
    const rec = await record('addon/probe.cjs', [probe!, file]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toMatch(
      /^random 8 [0-9a-f]{16}\nbuffer 12 12 3 [0-9a-f]{24}\nerror EPROBE cannot open the file\n/,
    );
    expect(rec.stdout.toString().split('\n').sort().join('\n')).toMatch(
      /\ndelay 42\nerror .*\nlater 7\nrandom .*\ntimer 20$/,
    );
    expect(fs.readFileSync(file, 'utf8')).toMatch(/^run at \d+\n$/);
    fs.writeFileSync(file, 'changed\n');
    for (let i = 0; i < 2; i++) {
      expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
      expect(fs.readFileSync(file, 'utf8'), 'the addon wrote at replay').toBe('changed\n');
    }
    // The .node file is not even loaded at replay: it may as well be junk (module loading
    // only needs it to exist).
    fs.writeFileSync(probe!, 'not a shared object');
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    const events = await rewind(['events', rec.dir, '--no-sites']);
    expect(events.stdout.toString()).toMatch(/turn +native\.callback callback .* \[0, \[7\]\]/);
    expect(events.stdout.toString()).toMatch(/turn +native\.settle callback .* \[0, 42\]/);
  });
});

const hasRolldown = await run(NODE, ['-e', "require('rolldown')"], { cwd: ROOT }).then((r) => r.status === 0);

describe.skipIf(!hasRolldown)('rolldown (a napi-rs addon: threadsafe functions, promises)', () => {
  it("replays the issue's bundle-and-timers race from the log, with the sources edited: same output, nothing read", async () => {
    const src = tempDir();
    fs.cpSync(path.join(ROOT, 'test/fixtures/bundle/src'), src, { recursive: true });
    const rec = await record('bundle/rolldown.mjs', [`${src}/`]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    // The bundle and the timers race: either order is a recording to replay.
    expect(rec.stdout.toString().split('\n').sort().join('\n')).toMatch(
      /^\nafter bundle\nbundled \d+ bytes without dead code\ninner timer$/,
    );
    fs.writeFileSync(path.join(src, 'fmt.js'), "export const fmt = (n) => 'edited since the recording: ' + n;\n");
    for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    fs.rmSync(src, { recursive: true });
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    const info = await rewind(['info', rec.dir]);
    expect(info.stdout.toString()).toMatch(
      /native\s+@rolldown\/binding-[\w-]+ \(rolldown-binding\.[\w-]+\.node\): served from the log/,
    );
  });
});

it('esbuild (its Go binary, a recorded child process; no addon) replays with the sources edited and writes no bundle', async () => {
  const src = tempDir();
  fs.cpSync(path.join(ROOT, 'test/fixtures/bundle/src'), src, { recursive: true });
  const out = path.join(tempDir(), 'out.js');
  const rec = await record('bundle/esbuild.mjs', [src, out]);
  expect(rec.status, describeRun('record', rec)).toBe(0);
  expect(fs.readFileSync(out, 'utf8')).toContain('padStart');
  fs.rmSync(out);
  fs.writeFileSync(path.join(src, 'fmt.js'), "export const fmt = () => 'edited';\n");
  for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  expect(fs.existsSync(out), 'the replay wrote the bundle').toBe(false);
  const info = await rewind(['info', rec.dir]);
  expect(info.stdout.toString()).not.toMatch(/^native /m);
});

it("a module compiling WebAssembly at its top level (under the ESM loader's frames) is recorded: the completion is a turn", async () => {
  const rec = await record('wasm-top-level.mjs');
  expect(rec.status, describeRun('record', rec)).toBe(0);
  const events = await rewind(['events', rec.dir, '--no-sites', '--json']);
  const done = events.stdout
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.api === 'wasm.done');
  expect(done.length, events.stdout.toString()).toBe(1);
  for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
});
