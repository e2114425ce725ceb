// Benchmark 13's server (run plain, never recorded): answers each request after 8 ms, as a
// database or a remote API would, with a small JSON body. Prints "listening PORT".
import http from 'node:http';

const server = http.createServer((req, res) => {
  const id = Number(req.url.split('/').pop()) || 0;
  setTimeout(() => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id, name: `item-${id}`.repeat(1 + (id % 5)) }));
  }, 8);
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
