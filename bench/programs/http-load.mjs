// The load generator for benchmark 6 (runs plain, in its own process): CONNECTIONS
// keep-alive connections, each sending its share of TOTAL requests back to back over raw
// TCP. Prints the requests per second it saw, first connect to last response.
import net from 'node:net';

const [port, total = '20000', connections = '16'] = process.argv.slice(2);
const routes = ['/', '/id', '/items?x=1', '/', '/slow'];
const perConn = Math.ceil(Number(total) / Number(connections));
const request = (i) => Buffer.from(`GET ${routes[i % routes.length]} HTTP/1.1\r\nHost: x\r\n\r\n`);

function conn(k, count) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), '127.0.0.1');
    let pending = Buffer.alloc(0);
    let done = 0;
    sock.on('connect', () => sock.write(request(k)));
    sock.on('data', (d) => {
      pending = pending.length ? Buffer.concat([pending, d]) : d;
      for (;;) {
        const head = pending.indexOf('\r\n\r\n');
        if (head < 0) return;
        const m = /content-length: (\d+)/i.exec(pending.subarray(0, head).toString('latin1'));
        const end = head + 4 + Number(m[1]);
        if (pending.length < end) return;
        pending = pending.subarray(end);
        if (++done === count) return sock.end();
        sock.write(request(k + done));
      }
    });
    sock.on('error', reject);
    sock.on('close', resolve);
  });
}

const t0 = process.hrtime.bigint();
const counts = Array.from({ length: Number(connections) }, (_, k) => Math.min(perConn, Number(total) - k * perConn)).filter((c) => c > 0);
await Promise.all(counts.map((c, k) => conn(k, c)));
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`requests ${total} seconds ${s.toFixed(4)} rps ${(Number(total) / s).toFixed(1)}`);
