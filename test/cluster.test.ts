// cluster: the primary and each worker record their own logs (workers are forked
// children); connections the primary accepts and passes to a worker over IPC are recorded
// on both sides. Replays start no worker, accept nothing and write nothing.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { afterAll, expect, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  record,
  replay,
  rewind,
  tempDir,
} from './helpers.js';

afterAll(cleanupTempDirs);

const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

it('replays a cluster HTTP server with two workers: the primary, twice, and each worker, without serving a request', async () => {
  const served = path.join(tempDir(), 'served.log');
  const rec = await record('cluster-http.cjs', [served]);
  expect(rec.status, describeRun('record', rec)).toBe(0);
  expect(rec.stdout.toString().match(/^response 200 hello from worker N for \/r\d$/gm)?.length).toBe(4);
  expect(fs.readFileSync(served, 'utf8').trim().split('\n').length).toBe(4);
  fs.writeFileSync(served, 'changed\n');
  const before = sha(served);
  // The port the cluster listened on is taken by someone else, who counts connections.
  const listened = (await eventsOf(rec.dir)).find((e) => e.api === 'net.getsockname');
  const port = (listened!.result as [number, { port: number }])[1].port;
  let connections = 0;
  const squatter = net.createServer((c) => (connections++, c.destroy()));
  await new Promise<void>((resolve, reject) => squatter.once('error', reject).listen(port, '127.0.0.1', resolve));
  afterAll(() => new Promise<void>((r) => squatter.close(() => r())));
  for (let i = 0; i < 2; i++) {
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    expect(sha(served), 'a worker served a request at replay').toBe(before);
  }
  const ps = await rewind(['ps', rec.dir, '--json']);
  const workers = ps.stdout
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((p) => !p.default);
  expect(workers.length).toBe(2);
  for (const w of workers) {
    const r = await replay(rec.dir, { flags: ['-p', String(w.pid)] });
    expect(r.stderr.toString(), describeRun('worker replay', r)).toBe('');
    expect(String(r.signal ?? r.status), describeRun('worker replay', r)).toMatch(/^(SIGTERM|143)$/);
    expect(sha(served)).toBe(before);
  }
  expect(connections, 'a replay connected to the port').toBe(0);
});
