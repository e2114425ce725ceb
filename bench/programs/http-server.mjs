// Benchmark 6: an HTTP JSON API (node:http) serving TOTAL requests from a load generator in
// another process, then exiting. Routes read the clock, draw random numbers and sleep on
// timers now and then, as servers do. Prints its port, then a checksum of what it served and the CPU time serving took.
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const total = Number(process.argv[2] ?? 20_000);
let served = 0;
let sum = 0;
const server = http.createServer((req, res) => {
  const respond = (body) => {
    const text = JSON.stringify(body);
    sum = (sum * 31 + text.length) % 1_000_000_007;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
    if (++served === total) server.close();
  };
  if (req.url === '/slow') setTimeout(() => respond({ slow: true, at: Date.now() }), 1);
  else if (req.url === '/id') respond({ id: randomUUID() });
  else respond({ url: req.url, n: Math.random(), at: Date.now() });
});
server.keepAliveTimeout = 60_000;
// CPU time from listening to exit (all threads, µs): what serving the load cost. A recorded
// reading under rewind, so a replay prints the same line.
let cpuAtListen;
server.listen(0, '127.0.0.1', () => {
  cpuAtListen = process.cpuUsage();
  console.log(`listening ${server.address().port}`);
});
process.on('exit', () => {
  const cpu = process.cpuUsage(cpuAtListen);
  console.log(`served ${served} checksum ${sum} cpu_us ${cpu.user + cpu.system}`);
});
