'use strict';
// socket.io #3358 (socket.io-client): two namespaces of one server, connected a moment
// apart while the server is down. When the second namespace's connection attempt starts
// after the first attempt failed, its own failure cleans up the manager's subscriptions,
// the first namespace's pending reconnect timer among them: the client never retries.
const net = require('net');
const io = require('socket.io-client');

// A port nothing listens on: connections are refused at once.
const probe = net.createServer().listen(0, '127.0.0.1', () => {
  const { port } = probe.address();
  probe.close(() => start(port));
});

function start(port) {
  const opts = { reconnectionDelay: 100, reconnectionDelayMax: 200, transports: ['polling'] };
  let attempts = 0;
  const nsp1 = io.connect(`http://127.0.0.1:${port}/room1`, opts);
  nsp1.on('reconnect_attempt', () => attempts++);
  let nsp2 = null;
  setTimeout(() => {
    nsp2 = io.connect(`http://127.0.0.1:${port}/room2`, opts);
  }, 5);
  // Give the client time for a few retries.
  setTimeout(() => {
    nsp1.close();
    if (nsp2) nsp2.close();
    if (attempts === 0) {
      console.log('FAIL: the client never retried to connect after the first attempt failed');
      process.exit(1);
    }
    console.log('ok');
  }, 600);
}
