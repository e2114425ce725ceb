// HTTP/2 and gRPC (@grpc/grpc-js runs on node:http2): nghttp2 runs over the recorded
// socket, so the replay is fed from the log and sends nothing.
import { afterAll, expect, it } from 'vitest';
import path from 'node:path';
import {
  FIXTURES,
  NODE,
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  fixture,
  record,
  replay,
  sleep,
  start,
} from './helpers.js';

afterAll(cleanupTempDirs);

it('replays an HTTP/2 server and client in one process, twice', async () => {
  const rec = await record('http2-pair.cjs');
  expect(rec.status, describeRun('record', rec)).toBe(0);
  expect(rec.stdout.toString()).toMatch(/body hello \/a 0\.\d+\n/);
  for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
});

it('replays HTTP/2 over TLS (the compatibility API), twice', async () => {
  const rec = await record('http2-secure.cjs', [path.join(FIXTURES, 'io/tls')]);
  expect(rec.status, describeRun('record', rec)).toBe(0);
  expect(rec.stdout.toString()).toMatch(/^status 200 string\nbody secure hello \/s 0\.\d+\nclosed\n$/);
  for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
});

it('replays a gRPC server and client in one process (unary, an error status, a server stream)', async () => {
  const rec = await record('grpc.cjs', ['both']);
  expect(rec.status, describeRun('record', rec)).toBe(0);
  expect(rec.stdout.toString()).toContain('count 1,2,3');
  for (let i = 0; i < 2; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
});

it('replays a gRPC client whose server ran in another process, with the server gone, calling nothing', async () => {
  const server = start(NODE, [fixture('grpc.cjs'), 'server']);
  let heard = '';
  server.child.stdout!.on('data', (b: Buffer) => (heard += b));
  const served = () => (heard.match(/served /g) ?? []).length;
  try {
    const [, port] = await server.waitFor(/listening (\d+)/);
    const rec = await record('grpc.cjs', ['client', port]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toContain('client done');
    expect(served()).toBe(2);
    const first = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: first });
    await sleep(200);
    expect(served(), 'the replay called the server').toBe(2);
    server.child.kill('SIGTERM');
    await server.done;
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  } finally {
    server.child.kill('SIGTERM');
  }
});
