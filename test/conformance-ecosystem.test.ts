// Causes of drift found by the ecosystem suite (npm run test:ecosystem), each cut down to
// the few lines of a real package that showed it: ws, tape, undici / es-module-lexer, vitest.
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  record,
  recordAndReplay,
  replay,
  tempDir,
} from './helpers.js';

afterAll(cleanupTempDirs);

describe.concurrent('what real packages do', () => {
  it('a writev whose last chunk is an empty Buffer (ws closing a connection) is logged with the crc32 of its bytes', async ({
    expect,
  }) => {
    const r = await recordAndReplay('eco/writev-empty.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(r.record.stdout.toString()).toBe('server got 6 bytes\nserver got 3 bytes\n');
    const writes = (await eventsOf(r.record.dir)).filter((e) => e.call === 'stream write' && e.length === 6);
    expect(writes.map((e) => e.crc)).toContain(crc32(Buffer.from([0x88, 0x80, 1, 2, 3, 4])));
    expectReplayMatches(expect, r);
  });

  it("process.exit() inside an 'exit' listener that removed every listener (tape) still ends the log", async ({
    expect,
  }) => {
    const r = await recordAndReplay('eco/exit-in-exit.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(3);
    const events = await eventsOf(r.record.dir);
    expect(events.filter((e) => e.kind === 'output')).toHaveLength(201);
    expect(events.at(-1)?.end).toEqual({ code: 3, signal: null, via: 'exit' });
    expectReplayMatches(expect, r);
  });

  it("WebAssembly compiled by a package's top-level code (undici, es-module-lexer) completes in its recorded turn", async ({
    expect,
  }) => {
    const r = await recordAndReplay('eco/wasm-at-load.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    // The four completions, in whatever order they raced (Node 26 finishes stat2 last).
    expect(r.record.stdout.toString()).toMatch(/^\w+ \w+ \w+ \w+\n$/);
    expect(r.record.stdout.toString().trim().split(' ').sort()).toEqual(['read', 'stat', 'stat2', 'wasm']);
    // Both the compile (at load) and the instantiate are turns of the log.
    const wasm = (await eventsOf(r.record.dir)).filter((e) => e.kind === 'turn' && /wasm/.test(e.detail));
    expect(wasm).toHaveLength(2);
    expectReplayMatches(expect, r);
  });

  it("a divergence report formats the stack itself: the program's Error.prepareStackTrace (vite-node's) reads files", async ({
    expect,
  }) => {
    const config = path.join(tempDir(), 'config.json');
    fs.writeFileSync(config, '{ "dates": 1 }');
    const rec = await record('eco/source-map-diverge.cjs', [config]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    fs.writeFileSync(config, '{ "dates": 2 }');
    const rep = await replay(rec.dir);
    expect(rep.status, describeRun('replay', rep)).toBe(70);
    const report = rep.stderr.toString();
    // The divergence is the clock reading the changed config asks for, not the report's own stack.
    expect(report).toMatch(/the program did: +Date\.now\(\)\n/);
    expect(report).toMatch(/program stack:\n +at .*source-map-diverge\.cjs:14:/);
    expect(report).not.toContain('fs.exists');
  });
});
