// Benchmark 12: benchmark 6's HTTP JSON API (node:http; clock, random numbers, timers),
// printing an access-log line per request as servers do, for TOTAL requests from the load
// generator in another process. Prints its port, a line per request, then a checksum.
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
    console.log(`${new Date().toISOString()} ${req.method} ${req.url} 200 ${text.length}`);
    if (++served === total) server.close();
  };
  if (req.url === '/slow') setTimeout(() => respond({ slow: true, at: Date.now() }), 1);
  else if (req.url === '/id') respond({ id: randomUUID() });
  else respond({ url: req.url, n: Math.random(), at: Date.now() });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('exit', () => console.log(`served ${served} checksum ${sum}`));
