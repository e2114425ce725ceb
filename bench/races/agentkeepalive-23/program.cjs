'use strict';
// agentkeepalive #23: a free keep-alive socket's idle timeout destroys it, but the agent
// removes it from its free list only on 'close'; a request made in between is given the
// destroyed socket and fails with "socket hang up" (ECONNRESET).
const http = require('http');
const Agent = require('agentkeepalive');

const KEEPALIVE_MS = 200;
const POLLS = 3;
const agent = new Agent({ keepAliveTimeout: KEEPALIVE_MS, timeout: 10_000 });
const server = http.createServer((req, res) => res.end('ok'));
server.keepAliveTimeout = 10_000;

function get(port, cb) {
  http
    .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => cb(null));
    })
    .on('error', cb);
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  // A client polling at an interval just over the agent's keep-alive timeout: each request
  // comes as the free socket's idle timer expires.
  let left = POLLS;
  const poll = () =>
    get(port, (err) => {
      if (err || --left === 0) return done(err);
      setTimeout(poll, KEEPALIVE_MS + 1);
    });
  poll();
});

function done(err) {
  server.close();
  agent.destroy();
  if (err) {
    console.log(`FAIL: a request on a timed-out keep-alive socket: ${err.message} (${err.code})`);
    process.exit(1);
  }
  console.log('ok');
}
