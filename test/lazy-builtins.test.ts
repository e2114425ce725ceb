// Built-ins rewind patches when the program (or Node) loads them, not at start-up
// (src/node/fields.ts whenLoaded): node:http, node:v8, process.report, node:fs/promises,
// node:sqlite, node:net (which a pipe or terminal stdout loads as the program first writes
// there: see whenStdio), node:crypto and WebCrypto (rewind hashes and signs with a
// WebAssembly SHA-256 of its own: src/session/digest.ts), worker_threads and MessagePort's
// module (with node:stream, which they load), AbortSignal's module.
// A program that never loads them does not pay for them; one that does is recorded and
// replays byte for byte whichever way it reached them: CommonJS require, ESM static and
// dynamic import, process.getBuiltinModule, or another built-in (or rewind) loading it first.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  NODE,
  record,
  recordAfterPreload,
  replay,
  run,
  runPlain,
  sleep,
  tempDir,
  type Expect,
} from './helpers.js';

afterAll(cleanupTempDirs);

const hasNodeSqlite = await run(NODE, ['-e', "require('node:sqlite')"]).then((r) => r.status === 0);

/** A directory whose entries and file the replay must not see changed. */
function disk(): string {
  const dir = tempDir('rewind-lazy-');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'recorded');
  fs.writeFileSync(path.join(dir, 'b.txt'), '');
  return dir;
}

/** Changes what the program read, so that a replay reading the disk would print something else. */
function changeDisk(dir: string): void {
  fs.writeFileSync(path.join(dir, 'a.txt'), 'changed');
  fs.rmSync(path.join(dir, 'b.txt'));
  fs.writeFileSync(path.join(dir, 'c.txt'), '');
  fs.rmSync(path.join(dir, 'notes.db'), { force: true });
}

/** Records, changes the disk, replays: the same output, and the log holds the module's calls. */
async function recordsThenReplays(expect: Expect, fixture: string, args: string[], dir: string, calls: string[]) {
  const rec = await record(fixture, args);
  expect(rec.status, describeRun('record', rec)).toBe(0);
  const out = rec.stdout.toString();
  expect(out, describeRun('record', rec)).toContain('loaded true');
  changeDisk(dir);
  const rep = await replay(rec.dir);
  expectReplayMatches(expect, { record: rec, replay: rep });
  const events = await eventsOf(rec.dir);
  const logged = new Set(events.map((e) => e.api ?? e.call));
  for (const c of calls) expect([...logged], `the log has no ${c}`).toContain(c);
  return out;
}

const CASES: [string, string[], string[]][] = [
  ['v8', ['require', 'dynamic', 'builtin', 'indirect'], ['v8.getHeapStatistics', 'v8.getHeapCodeStatistics']],
  ['fs/promises', ['require', 'dynamic', 'builtin', 'indirect'], ['fs.opendir']],
  ['report', ['indirect'], ['process.report.getReport']],
  // The socket's idle timeout fires as a turn of rewind's timers.
  ['net', ['require', 'dynamic', 'builtin', 'indirect'], ['net.listen', 'net.connect', 'setTimeout callback']],
  ['os', ['require', 'dynamic', 'builtin'], ['os.hostname', 'os.freemem', 'os.uptime']],
  // indirect: WebCrypto first (globalThis.crypto), which loads without node:crypto.
  ['crypto', ['require', 'dynamic', 'builtin', 'indirect'], ['crypto.generateKeyPairSync', 'crypto.done']],
  // indirect: the global MessageChannel first, which loads MessagePort's module alone.
  ['worker_threads', ['require', 'dynamic', 'builtin', 'indirect'], ['worker.message', 'worker.exit']],
  // indirect: AbortController first (on Node 22 and later the global is a V8 lazy property).
  ['abort', ['indirect'], ['setTimeout callback']],
  ...(hasNodeSqlite
    ? [['sqlite', ['require', 'dynamic', 'builtin'], ['sqlite.load']] as [string, string[], string[]]]
    : []),
];

describe.concurrent('built-ins patched as they load', () => {
  it('none is loaded at start-up, recorded as in a plain run, and each is loaded by the program', async ({
    expect,
  }) => {
    const plain = await runPlain('lazy/loaded.cjs');
    expect(plain.stdout.toString()).toMatch(/^at start \[\]\n/);
    const rec = await record('lazy/loaded.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe(plain.stdout.toString());
    expect(rec.stdout.toString()).toMatch(/^after \[.*"v8".*\]$/m);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  for (const [what, hows, calls] of CASES) {
    for (const how of hows) {
      it(`${what} reached by ${how}: recorded, and replayed with the disk changed`, async ({ expect }) => {
        const dir = disk();
        const out = await recordsThenReplays(expect, 'lazy/lazy.cjs', [what, how, dir], dir, calls);
        if (what === 'fs/promises') expect(out).toContain('entries a.txt,b.txt\nread "recorded"\n');
        if (what === 'net') expect(out).toBe('data echo hi\ntimeout true\nloaded true\n');
        if (what === 'worker_threads')
          expect(out).toMatch(how === 'indirect' ? /^channel true 0\.\d+\nworker true / : /^worker true /);
        if (what === 'abort') expect(out).toMatch(/^aborted TimeoutError true 0\.\d+\n/);
        if (what === 'crypto') expect(out).toMatch(how === 'indirect' ? /^web [0-9a-f-]{36} / : /^bytes [0-9a-f]{12} /);
      });
    }
  }

  // The replay runs a second later at least: a Date header Node wrote itself would differ.
  for (const how of ['require', 'dynamic', 'builtin', 'indirect']) {
    it(`http reached by ${how}: its server's Date header and reads are the recording's`, async ({ expect }) => {
      const rec = await record('lazy/http.cjs', [how]);
      expect(rec.status, describeRun('record', rec)).toBe(0);
      expect(rec.stdout.toString()).toMatch(/^200 hello \/a \w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT\n$/);
      await sleep(1100);
      expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    });
  }

  it("timers/promises not loaded yet: util.promisify(setTimeout) hands options Node rejects to Node's own functions", async ({
    expect,
  }) => {
    const plain = await runPlain('lazy/promisified-bad-options.cjs');
    expect(plain.stdout.toString()).toMatch(
      /^loaded at start false\nsetTimeout rejected TypeError ERR_INVALID_ARG_TYPE\n/,
    );
    const rec = await record('lazy/promisified-bad-options.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe(plain.stdout.toString());
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('http imported statically: the same', async ({ expect }) => {
    const rec = await record('lazy/http-static.mjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toMatch(/^200 hello \/b \w{3}, /);
    await sleep(1100);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('where loads cannot be watched (an earlier preload took the list), the modules load at start-up, recorded all the same', async ({
    expect,
  }) => {
    // Ahead of rewind's preload: rewind started by its --import, which Node runs after every --require.
    const early = await recordAfterPreload('lazy/loaded.cjs', 'lazy/taken-list.cjs', tempDir());
    expect(early.status, describeRun('record', early)).toBe(0);
    expect(early.stdout.toString()).toMatch(/^at start \[.*"v8".*"internal\/fs\/promises".*\]\n/);
    const dir = disk();
    const rec = await recordAfterPreload('lazy/lazy.cjs', 'lazy/taken-list.cjs', tempDir(), [
      'fs/promises',
      'require',
      dir,
    ]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toContain('entries a.txt,b.txt\nread "recorded"\n');
    changeDisk(dir);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    expect((await eventsOf(rec.dir)).map((e) => e.api)).toContain('fs.opendir');
  });

  it('named imports from an ESM static import are the patched functions', async ({ expect }) => {
    const dir = disk();
    const rec = await record('lazy/lazy-static.mjs', [dir]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toContain('entries a.txt,b.txt\nread "recorded"\n');
    changeDisk(dir);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    expect(rec.stdout.toString()).toMatch(/^socket echo hi timed out\n/);
    const logged = (await eventsOf(rec.dir)).map((e) => e.api ?? e.call);
    expect(logged).toContain('v8.getHeapStatistics');
    expect(logged).toContain('fs.opendir');
    expect(logged).toContain('setTimeout callback');
    expect(logged).toContain('os.freemem');
  });
});
