// Benchmark 6, second server: the routes of http-server.mjs served by fastify (installed by
// bench/run.js into the directory given as the first argument), TOTAL requests, then exit.
// Prints its port, then a checksum of what it served and the CPU time serving took.
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';

const [dir, totalArg] = process.argv.slice(2);
const Fastify = createRequire(`${dir}/`)('fastify');
const total = Number(totalArg ?? 20_000);
let served = 0;
let sum = 0;
const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
const count = (body) => {
  sum = (sum * 31 + JSON.stringify(body).length) % 1_000_000_007;
  return body;
};
app.addHook('onResponse', async () => {
  if (++served === total) app.close();
});
app.get('/', async () => count({ url: '/', n: Math.random(), at: Date.now() }));
app.get('/id', async () => count({ id: randomUUID() }));
app.get('/items', async (req) => count({ url: req.url, n: Math.random(), at: Date.now() }));
app.get('/slow', () => new Promise((resolve) => setTimeout(() => resolve(count({ slow: true, at: Date.now() })), 1)));
await app.listen({ port: 0, host: '127.0.0.1' });
// CPU time from listening to exit (all threads, µs), as in http-server.mjs.
const cpuAtListen = process.cpuUsage();
console.log(`listening ${app.server.address().port}`);
process.on('exit', () => {
  const cpu = process.cpuUsage(cpuAtListen);
  console.log(`served ${served} checksum ${sum} cpu_us ${cpu.user + cpu.system}`);
});
