// The Node internals rewind records through (src/node/): all found on this Node; each one
// that is missing is named when recording, on stderr and in the log's header, and the
// replay refuses (65) without running the program. REWIND_HIDE_INTERNALS makes rewind treat
// the internals it names as missing, as a Node that renamed them would be.
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  NODE,
  ROOT,
  cleanupTempDirs,
  describeRun,
  eventsOf,
  fixture,
  expectReplayMatches,
  record,
  recordAndReplay,
  replay,
  rewind,
  run,
  sleep,
  tempDir,
} from './helpers.js';

afterAll(cleanupTempDirs);

/** What src/node/check.ts looks up in a plain process of this Node, and what it found missing. */
async function checked(): Promise<{ names: string[]; missing: unknown[] }> {
  const script =
    `const c = await import(${JSON.stringify(`${ROOT}/dist/node/check.js`)});` +
    `const i = await import(${JSON.stringify(`${ROOT}/dist/node/internals.js`)});` +
    'const missing = c.checkInternals({ chaos: true }); console.log(JSON.stringify({ names: i.lookedUp(), missing }));';
  const r = await run(NODE, ['--input-type=module', '-e', script]);
  if (r.status !== 0) throw new Error(describeRun('check', r));
  return JSON.parse(r.stdout.toString());
}

/** node:net's, looked up when node:net loads (src/node/check.ts checkNet). */
const NET = ["net.Socket's timeout symbol", 'net.Socket.prototype._onTimeout'];

/** MessagePort's, looked up as worker_threads loads (src/node/symbols.ts checkMessagePort). */
const MESSAGE_PORT = 'MessagePort.prototype[nodejs.internal.kHybridDispatch]';

/** Looked up only under chaos mode (`record --chaos`), its one user. */
const CHAOS_ONLY = ["Timeout's asyncId symbol"];

/** Found only through another internal: missing with it, so not named when it is missing. */
const DERIVED = ["the libuv stream prototype (TCP.prototype's)", "process.binding('stream_wrap').streamBaseState"];

describe.concurrent('Node internals (src/node/)', () => {
  it(`are all found on this Node (${process.version})`, async ({ expect }) => {
    const { names, missing } = await checked();
    expect(missing).toEqual([]);
    // The kinds of internal the check covers: bindings, private symbols, underscore fields, internal module names.
    for (const name of [
      "process.binding('tcp_wrap')",
      "process.binding('fs')",
      "net.Socket's timeout symbol",
      'process.reallyExit',
      'process.moduleLoadList',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('a hidden binding: recording names it and what it affects, the replay refuses without running', async ({
    expect,
  }) => {
    const env = { REWIND_HIDE_INTERNALS: "process.binding('udp_wrap')" };
    const rec = await record('loop/udp-local.cjs', [], { env });
    const ctx = describeRun('record', rec);
    expect(rec.status, ctx).toBe(0);
    expect(rec.stdout.toString(), ctx).toBe('got hello\n');
    const err = rec.stderr.toString();
    expect(err, ctx).toMatch(/^rewind: warning: Node does not let rewind reach an internal it records through/);
    expect(err, ctx).toContain(
      "  process.binding('udp_wrap'): hidden by REWIND_HIDE_INTERNALS\n    not recorded: UDP sockets (dgram)\n",
    );

    const rep = await replay(rec.dir);
    const rctx = describeRun('replay', rep);
    expect(rep.status, rctx).toBe(65);
    expect(rep.stdout.length, `the program must not run${rctx}`).toBe(0);
    expect(rep.stderr.toString(), rctx).toMatch(/^rewind: this recording is incomplete and cannot be replayed/);
    expect(rep.stderr.toString(), rctx).toContain("process.binding('udp_wrap'): hidden by REWIND_HIDE_INTERNALS");
  });

  it('control: the same program with nothing hidden records silently and replays exactly', async ({ expect }) => {
    const r = await recordAndReplay('loop/udp-local.cjs');
    expect(r.record.stderr.toString(), describeRun('record', r.record)).toBe('');
    expectReplayMatches(expect, r);
  });

  it('every internal hidden: each is named when recording and in the header the replay refuses', async ({ expect }) => {
    const { names } = await checked();
    const rec = await record('loop/ticks.cjs', [], { env: { REWIND_HIDE_INTERNALS: names.join(';') } });
    const ctx = describeRun('record', rec);
    expect(rec.status, ctx).toBe(0);
    expect(rec.stdout.toString(), ctx).toMatch(/^(tick \d \d+\n){4}$/);
    const rep = await replay(rec.dir);
    const rctx = describeRun('replay', rep);
    expect(rep.status, rctx).toBe(65);
    expect(rep.stdout.length, rctx).toBe(0);
    // MessagePort's is looked up only once worker_threads loads, which this program never does.
    const atStart = names.filter((n) => !DERIVED.includes(n) && !CHAOS_ONLY.includes(n) && n !== MESSAGE_PORT);
    for (const name of atStart) {
      expect(rec.stderr.toString(), `${name}${ctx}`).toContain(name);
      // node:net's were looked up as the program's first write loaded it: in the log, not the header.
      if (!NET.includes(name)) expect(rep.stderr.toString(), `${name}${rctx}`).toContain(name);
    }
    expect((await eventsOf(rec.dir)).filter((e) => e.api === 'rewind.unsupported').length).toBeGreaterThanOrEqual(1);
  });

  it('chaos mode looks up what only it needs: hidden, it is named when recording with --chaos, and not without', async ({
    expect,
  }) => {
    const env = { REWIND_HIDE_INTERNALS: CHAOS_ONLY.join(';') };
    const plain = await record('loop/ticks.cjs', [], { env });
    expect(plain.status, describeRun('record', plain)).toBe(0);
    expect(plain.stderr.toString(), describeRun('record', plain)).toBe('');
    const out = path.join(tempDir('rewind-rec-'), 'rec');
    const chaos = await rewind(
      ['record', '--chaos', '--seed', '7', '--out', out, '--', NODE, fixture('loop/ticks.cjs')],
      { env, cwd: tempDir() },
    );
    const ctx = describeRun('record --chaos', chaos);
    expect(chaos.status, ctx).toBe(0);
    for (const name of CHAOS_ONLY)
      expect(chaos.stderr.toString(), ctx).toContain(`${name}: hidden by REWIND_HIDE_INTERNALS`);
  });

  it("node:http's, looked up when it loads (not at start-up): named when recording, in the log, and the replay does not go on silently", async ({
    expect,
  }) => {
    const { names } = await checked();
    expect(names).not.toContain('OutgoingMessage#_header'); // node:http was not loaded for the check
    const env = { REWIND_HIDE_INTERNALS: 'OutgoingMessage#_header' };
    const rec = await record('io/http-date.cjs', [], { env });
    const ctx = describeRun('record', rec);
    expect(rec.status, ctx).toBe(0);
    expect(rec.stderr.toString(), ctx).toBe(
      "rewind: warning: HTTP responses' Date header (from the session's clock) is not recorded (Node does not let rewind " +
        'reach OutgoingMessage#_header: hidden by REWIND_HIDE_INTERNALS); a replay may diverge where the program depends on it.\n',
    );
    const events = await eventsOf(rec.dir);
    expect(events.map((e) => e.api)).toContain('rewind.unsupported');
    // Node's own Date header went out unchanged: a second later, the replay's differs from the recorded bytes.
    await sleep(1100);
    const rep = await replay(rec.dir);
    const rctx = describeRun('replay', rep);
    expect(rep.status, rctx).toBe(70);
    expect(rep.stderr.toString(), rctx).toMatch(/^rewind: divergence at event \d+/);
  });

  it("MessagePort's, looked up as worker_threads loads (also for the global MessageChannel), not at start-up: named when recording and in the log", async ({
    expect,
  }) => {
    const env = { REWIND_HIDE_INTERNALS: MESSAGE_PORT };
    // A program that makes no port: not looked up, so nothing to say.
    const none = await record('loop/ticks.cjs', [], { env });
    expect(none.stderr.toString(), describeRun('record', none)).toBe('');
    const rec = await record('lazy/lazy.cjs', ['worker_threads', 'indirect', tempDir()], { env });
    const ctx = describeRun('record', rec);
    expect(rec.status, ctx).toBe(0);
    expect(rec.stderr.toString(), ctx).toContain(
      `Node does not let rewind reach ${MESSAGE_PORT}: hidden by REWIND_HIDE_INTERNALS`,
    );
    const events = await eventsOf(rec.dir);
    expect(events.map((e) => e.api)).toContain('rewind.unsupported');
    // Control: not hidden, nothing said.
    const plain = await record('lazy/lazy.cjs', ['worker_threads', 'indirect', tempDir()]);
    expect(plain.stderr.toString(), describeRun('record', plain)).toBe('');
  });

  it('the internals found through another one are named when hidden on their own', async ({ expect }) => {
    const rec = await record('loop/ticks.cjs', [], { env: { REWIND_HIDE_INTERNALS: DERIVED.join(';') } });
    const ctx = describeRun('record', rec);
    expect(rec.status, ctx).toBe(0);
    // The first one found missing switches the stream bindings off: the second is not looked up.
    expect(rec.stderr.toString(), ctx).toContain(`${DERIVED[0]}: hidden by REWIND_HIDE_INTERNALS`);
    const rep = await replay(rec.dir);
    expect(rep.status, describeRun('replay', rep)).toBe(65);
  });
});
