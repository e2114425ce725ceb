// Timers and a local HTTP server, with fetch as its client.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';

let server;
let base;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, at: Date.now(), n: Math.random() }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

test('300 requests, 10 at a time', async () => {
  let ok = 0;
  for (let i = 0; i < 30; i++) {
    const bodies = await Promise.all(
      Array.from({ length: 10 }, (_, k) => fetch(`${base}/item/${i * 10 + k}`).then((r) => r.json())),
    );
    ok += bodies.filter((b) => b.url.startsWith('/item/')).length;
  }
  expect(ok).toBe(300);
});

test('timers in order', async () => {
  const order = [];
  await Promise.all(
    [30, 10, 20].map(async (ms) => {
      await sleep(ms);
      order.push(ms);
    }),
  );
  expect(order).toEqual([10, 20, 30]);
});
