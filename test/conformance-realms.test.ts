// Record→replay conformance for vm contexts: each has its own Date and Math.random (V8
// intrinsics of its own), which must be recorded and replayed like the main realm's.
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  FIXTURES,
  logsOf,
  NODE,
  record,
  recordAndReplay,
  replay,
  rewind,
  runPlain,
  sleep,
  tempDir,
  type Recorded,
} from './helpers.js';
import fs from 'node:fs';
import path from 'node:path';
import { TraceReader } from '../src/trace/reader.js';

afterAll(cleanupTempDirs);

const NUM = '0\\.\\d+|0';
const MS = '\\d{13}';

describe.concurrent('record → replay: vm contexts', () => {
  it('vm-realms.cjs: every way of making a context, each its own clock and generator', async ({ expect }) => {
    const plain = runPlain('vm-realms.cjs');
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec: Recorded = {
      ...(await rewind(['record', '--out', dir, '--', NODE, path.join(FIXTURES, 'vm-realms.cjs')], { cwd: tempDir() })),
      dir,
    };
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const out = rec.stdout.toString('utf8');
    expect(out).toMatch(new RegExp(`^runInNewContext (${NUM}) ${MS} \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`, 'm'));
    expect(out).toMatch(new RegExp(`^createContext ${MS} (${NUM}) (${NUM})$`, 'm'));
    // Dates made in a context are the context's, and its Date still answers instanceof.
    expect(out).toMatch(/^instanceof true true string 1577836800000 1970-01-01T00:00:00.000Z$/m);
    expect(out).toMatch(/^subclass true true true$/m);
    // The context's Date is not an enumerable key of the program's sandbox object.
    expect(out).toMatch(/^sandbox keys \[\]$/m);
    for (const label of ['Script.runInNewContext', 'codeGeneration', 'compileFunction', 'DONT_CONTEXTIFY', 'later']) {
      expect(out).toMatch(new RegExp(`^${label.replace('.', '\\.')} ${MS} (${NUM})$`, 'm'));
    }
    expect(out).toMatch(new RegExp(`^microtaskMode (${NUM}) ${MS}$`, 'm'));
    expect(out).toMatch(new RegExp(`^outer Date ${MS} true (${NUM})$`, 'm'));
    // Each context has a generator of its own: no two contexts start with the same number.
    const firsts = [...out.matchAll(/ (0\.\d+)/g)].map((m) => m[1]);
    expect(new Set(firsts).size).toBe(firsts.length);

    await sleep(20); // the real clock moves on
    const rep = await replay(dir);
    expectReplayMatches(expect, { record: rec, replay: rep });
    const p = await plain;
    expect(p.status, describeRun('plain', p)).toBe(0);
    expect(p.stdout.equals(rec.stdout), 'a plain run printed other numbers').toBe(false);
  });

  it("realm-stack-hook.cjs: a context's Error.prepareStackTrace (Jest's source maps) never sees rewind's frames", async ({
    expect,
  }) => {
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec: Recorded = {
      ...(await rewind(['record', '--out', dir, '--', NODE, path.join(FIXTURES, 'realm-stack-hook.cjs')], {
        cwd: tempDir(),
      })),
      dir,
    };
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const out = rec.stdout.toString('utf8');
    const fixtureFile = `${path.join(FIXTURES, 'realm-stack-hook.cjs')}:true`;
    // The hook ran in the context, for each error, over the program's frames only.
    for (const label of ['top', 'timer', 'fs callback']) {
      expect(out).toMatch(new RegExp(`^${label} evalmachine\\.<anonymous>:false node:vm:false `, 'm'));
    }
    expect(out.split(fixtureFile).length - 1, out).toBe(6);
    expect(out, "rewind's own files reached the hook").not.toMatch(/[/\\]dist[/\\]/);
    expect(out).not.toMatch(/node:internal\/timers/);
    expectReplayMatches(expect, { record: rec, replay: await replay(dir) });
  });

  it('vm-module.mjs: vm.SourceTextModule evaluated in a context', async ({ expect }) => {
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const args = ['--no-warnings', '--experimental-vm-modules', path.join(FIXTURES, 'vm-module.mjs')];
    const rec: Recorded = { ...(await rewind(['record', '--out', dir, '--', NODE, ...args], { cwd: tempDir() })), dir };
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString('utf8')).toMatch(new RegExp(`^SourceTextModule ${MS} (${NUM}) true\\n$`));
    await sleep(20);
    expectReplayMatches(expect, { record: rec, replay: await replay(dir) });
  });

  it('hooks/main.mjs: imports through module.register() hooks (their own thread, asked over ports), racing timers', async ({
    expect,
  }) => {
    // Node's loader polls a port per request after an Atomics wait: replayed from the log, a
    // poll that found nothing when recording hung the replay (tsx, ts-node/esm); the module
    // code an answer lets run must come in its recorded place among the timers' turns; and
    // the hooks thread, in the recorded environment, recorded again into the recording.
    // Its log is finished by its process as it ends (it ended unfinished, its last events unwritten).
    // At replay it runs live in a read-only world: its cache (kept as tsx keeps one) is
    // neither written nor expired; it was, as the hooks thread ran live.
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const cache = tempDir('rewind-hooks-cache-');
    const old = path.join(cache, 'old.js');
    fs.writeFileSync(old, '// an old entry\n');
    const args = ['--import', path.join(FIXTURES, 'hooks', 'register.mjs'), path.join(FIXTURES, 'hooks', 'main.mjs')];
    const rec: Recorded = {
      ...(await rewind(['record', '--out', dir, '--', NODE, ...args], { cwd: tempDir(), env: { HOOKS_CACHE: cache } })),
      dir,
    };
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const cached = ['a.js', 'b.js', 'c.js', 'd.js', 'in-a-timer.js'];
    expect(fs.readdirSync(cache).sort(), 'the cache when recording').toEqual(cached);
    for (const f of cached) fs.rmSync(path.join(cache, f));
    fs.writeFileSync(old, '// an old entry\n');
    expect(rec.stdout.toString().split('\n').sort().join('\n')).toBe(
      '\nimported a true\nimported b true\nimported c true\nimported d true\ntimer 2 true\ntimer 6\ntimer in-a-timer\nvalue 42',
    );
    const hooksLog = logsOf(dir).find((l) => /-t\d+\.rwnd$/.test(l));
    const events = [...TraceReader.events(TraceReader.open(hooksLog!))];
    expect(events.at(-1)?.end, "the hooks thread's log is finished: its process ended it").toMatchObject({
      via: 'terminated',
    });
    // Its hooks' last stat (of value.mjs) is in it.
    expect(events.some((e) => JSON.stringify(e.call ?? null).includes('value.mjs'))).toBe(true);
    const files = fs.readdirSync(dir).sort();
    for (let i = 0; i < 3; i++)
      expectReplayMatches(expect, { record: rec, replay: await replay(dir, { timeoutMs: 60_000 }) });
    expect(fs.readdirSync(dir).sort(), 'the replay wrote into the recording').toEqual(files);
    expect(fs.readdirSync(cache), "the hooks' cache changed at replay").toEqual(['old.js']);
    // On a machine without the cache directory: made for the hooks only, in appearance.
    fs.rmSync(cache, { recursive: true });
    expectReplayMatches(expect, { record: rec, replay: await replay(dir, { timeoutMs: 60_000 }) });
    expect(fs.existsSync(cache), 'the replay made the cache directory').toBe(false);
  });

  describe('hooks-order/: module.register() hooks report to the program over its own port while concurrent loads race', () => {
    // The hooks thread runs live at replay. What it sends the program's port, and what it
    // prints (through Node's port to it), is input from outside the replay: logged whole and
    // delivered from the log (its clock in each report differed, and a report the log had
    // elsewhere left the replay waiting). Which answer the
    // loader took in each place is logged too: the hooks finish concurrent loads in any order,
    // and the modules compiled by each report (source maps found, as tap's processinfo looks
    // them up) differed.
    const run = (env: Record<string, string>) => {
      const dir = path.join(tempDir('rewind-rec-'), 'rec');
      const args = [
        '--enable-source-maps',
        '--import',
        path.join(FIXTURES, 'hooks-order', 'register.mjs'),
        path.join(FIXTURES, 'hooks-order', 'main.mjs'),
      ];
      return rewind(['record', '--out', dir, '--', NODE, ...args], { cwd: tempDir(), env }).then((r) => ({
        ...r,
        dir,
      }));
    };
    for (const env of [{}, { NO_CLOCK: '1' }] as Record<string, string>[]) {
      it(`replays byte for byte${'NO_CLOCK' in env ? ' (reports without the clock: the answers order alone)' : ''}`, async ({
        expect,
      }) => {
        const rec: Recorded = await run(env);
        expect(rec.status, describeRun('record', rec)).toBe(0);
        const out = rec.stdout.toString();
        expect(out).toMatch(/^hooks ready at \d+$/m);
        expect(out.replace(/^hooks ready at \d+\n/m, '')).toMatch(
          /^1,2,3,4,5,6\n(m\d\.mjs at \d+ with \d compiled\n){6}$/,
        );
        for (let i = 0; i < 3; i++)
          expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir, { timeoutMs: 60_000 }) });
      });
    }
    // Node 24's loader asks its hooks thread synchronously (blocking, one request at a time):
    // no answer is taken from a race, so none is logged.
    it.skipIf(Number(process.versions.node.split('.')[0]) >= 24)(
      'hooks that answer otherwise at replay: a divergence at the answer, at once, not a wait',
      async ({ expect }) => {
        const rec = await run({ RANDOM_SOURCE: '1' });
        expect(rec.status, describeRun('record', rec)).toBe(0);
        const rep = await replay(rec.dir, { timeoutMs: 60_000 });
        expect(rep.status, describeRun('replay', rep)).toBe(70);
        expect(rep.stderr.toString()).toMatch(
          /hooks thread \(it runs live at replay\) has answered every request, none as the recording/,
        );
        expect(rep.stderr.toString()).toMatch(/loader\.answer \["file:[^"]*m\d\.mjs"/);
      },
    );
  });

  it("code-cache.cjs: V8's code cache (produceCachedData, createCachedData, compileFunction) written to a file replays", async ({
    expect,
  }) => {
    // Its bytes differ from run to run: the write of them diverged at replay (tap, via ts-node's v8-compile-cache).
    const dir = tempDir();
    const rec = await record('code-cache.cjs', [dir]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe(
      'produced true true 1498500\nrejected false 1498500\ncompileFunction true 42 true\n',
    );
    fs.rmSync(path.join(dir, 'cache.bin'));
    for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    expect(fs.existsSync(path.join(dir, 'cache.bin')), 'the replay wrote the cache').toBe(false);
  });

  it('intl-now.cjs: Intl.DateTimeFormat formatting the current time (format(), formatToParts(), in a context)', async ({
    expect,
  }) => {
    const r = await recordAndReplay('intl-now.cjs', [], { gapMs: 30 });
    const lines = r.record.stdout.toString('utf8').split('\n');
    expect(lines[0], describeRun('record', r.record)).toMatch(
      /^\d+:\d\d:\d\d\.\d{3}\s[AP]M true \d+:\d\d:\d\d\.\d{3}\s[AP]M$/,
    );
    expect(lines[1]).toMatch(/^\d+\.\d{3}$/);
    expectReplayMatches(expect, r);
  });
});
