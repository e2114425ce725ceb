// Causes of drift found by the ecosystem suite (npm run test:ecosystem), each cut down to
// the few lines of a real package that showed it: ws, tape, undici / es-module-lexer.
import { crc32 } from 'node:zlib';
import { afterAll, describe, it } from 'vitest';
import { cleanupTempDirs, describeRun, eventsOf, expectReplayMatches, recordAndReplay } from './helpers.js';

afterAll(cleanupTempDirs);

describe.concurrent('what real packages do', () => {
  it('a writev whose last chunk is an empty Buffer (ws closing a connection) is logged with the crc32 of its bytes', async ({ expect }) => {
    const r = await recordAndReplay('eco/writev-empty.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(r.record.stdout.toString()).toBe('server got 6 bytes\nserver got 3 bytes\n');
    const writes = (await eventsOf(r.record.dir)).filter((e) => e.call === 'stream write' && e.length === 6);
    expect(writes.map((e) => e.crc)).toContain(crc32(Buffer.from([0x88, 0x80, 1, 2, 3, 4])));
    expectReplayMatches(expect, r);
  });

  it("process.exit() inside an 'exit' listener that removed every listener (tape) still ends the log", async ({ expect }) => {
    const r = await recordAndReplay('eco/exit-in-exit.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(3);
    const events = await eventsOf(r.record.dir);
    expect(events.filter((e) => e.kind === 'output')).toHaveLength(201);
    expect(events.at(-1)?.end).toEqual({ code: 3, signal: null, via: 'exit' });
    expectReplayMatches(expect, r);
  });

  it("WebAssembly compiled by a package's top-level code (undici, es-module-lexer) completes in its recorded turn", async ({ expect }) => {
    const r = await recordAndReplay('eco/wasm-at-load.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(r.record.stdout.toString()).toMatch(/^(stat |wasm |stat2 |read ?){4}\n$/);
    // Both the compile (at load) and the instantiate are turns of the log.
    const wasm = (await eventsOf(r.record.dir)).filter((e) => e.kind === 'turn' && /wasm/.test(e.detail));
    expect(wasm).toHaveLength(2);
    expectReplayMatches(expect, r);
  });
});
