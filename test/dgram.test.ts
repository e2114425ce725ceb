// UDP (dgram), recorded at the UDP handle: the replay binds nothing and sends nothing.
// A listener outside the recorded program counts the datagrams it receives.
import dgram from 'node:dgram';
import { afterAll, expect, it } from 'vitest';
import {
  NODE,
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  fixture,
  record,
  replay,
  sleep,
  start,
} from './helpers.js';

afterAll(cleanupTempDirs);

it('replays a UDP echo server and client and a send to another process, twice, without sending a datagram', async () => {
  const listener = start(NODE, [fixture('udp-listener.cjs')]);
  const [, port] = await listener.waitFor(/listening (\d+)/);
  let heard = '';
  listener.child.stdout!.on('data', (b: Buffer) => (heard += b));
  const received = () => (heard.match(/received /g) ?? []).length;
  try {
    const rec = await record('udp-echo.cjs', [port]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toContain('client got "echo:ping 3"');
    await listener.waitFor(/received hello/);
    expect(received()).toBe(1);
    const events = await eventsOf(rec.dir);
    expect(events.filter((e) => e.api === 'dgram.message').length, 'datagrams received as turns').toBe(6);
    // The echo server's recorded port, taken by someone else: the replay binds nothing.
    const bound = events.find((e) => (e.args as { call?: string })?.call === 'getsockname');
    const port2 = (bound!.result as [number, { port: number }])[1].port;
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => squatter.once('error', reject).bind(port2, '127.0.0.1', resolve));
    let squatted = 0;
    squatter.on('message', () => squatted++);
    const first = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: first });
    await sleep(200); // a datagram sent by the replay would have arrived by now
    expect(received(), 'the replay sent the datagram again').toBe(1);
    expect(squatted, "the replay sent a datagram to the echo server's port").toBe(0);
    squatter.close();
    // The listener gone: the replay does not notice.
    listener.child.kill('SIGTERM');
    await listener.done;
    const second = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: second });
  } finally {
    listener.child.kill('SIGTERM');
  }
});
