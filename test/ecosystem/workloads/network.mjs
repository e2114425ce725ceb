// Network clients and servers, each talking to itself over 127.0.0.1 on ports the harness
// chose (PORT, PORT2 in the environment), so that at replay a counting listener can sit on
// those ports and prove that nothing was sent.
import fs from 'node:fs';
import path from 'node:path';

/** A self-signed certificate for 127.0.0.1, made once per cache directory with openssl. */
async function makeCert(ctx) {
  const dir = path.join(ctx.dir, 'certs');
  if (fs.existsSync(path.join(dir, 'cert.pem'))) return;
  fs.mkdirSync(dir, { recursive: true });
  await ctx.run([
    'openssl',
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '3650',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    path.join(dir, 'key.pem'),
    '-out',
    path.join(dir, 'cert.pem'),
  ]);
}

/**
 * An HTTP server under keep-alive load from a client process it starts (recorded too): a
 * timer and a file read per request, a log line each. At replay the data file is gone.
 */
function httpServer(name, what, packages, main) {
  return {
    name,
    what,
    fast: name === 'express',
    packages,
    ports: ['PORT'],
    files: {
      'items.json':
        '[{"id":0,"name":"item 0","price":1},{"id":1,"name":"item 1","price":4},{"id":2,"name":"item 2","price":7},{"id":3,"name":"item 3","price":10},{"id":4,"name":"item 4","price":13},{"id":5,"name":"item 5","price":16},{"id":6,"name":"item 6","price":19},{"id":7,"name":"item 7","price":22},{"id":8,"name":"item 8","price":25},{"id":9,"name":"item 9","price":28},{"id":10,"name":"item 10","price":31},{"id":11,"name":"item 11","price":34}]',
      'client.mjs': `// The load: keep-alive requests from another process (recorded too), 8 at a time.
import http from 'node:http';
import crypto from 'node:crypto';
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const port = Number(process.env.PORT);
const get = (path) => new Promise((resolve, reject) => {
  http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
    let b = '';
    res.setEncoding('utf8');
    res.on('data', (c) => (b += c)).on('end', () => resolve(res.statusCode + ' ' + b));
  }).on('error', reject);
});
const bodies = await Promise.all(Array.from({ length: 240 }, (_, i) => get(i % 40 === 39 ? '/missing' : '/item/' + (i % 12))));
console.log('client: ' + bodies.length + ' answers, sha256 ' + crypto.createHash('sha256').update(bodies.join('\\n')).digest('hex'));
console.log('client: first ' + bodies[0]);
agent.destroy();
`,
      'main.mjs': main,
    },
    command: ['node', 'main.mjs'],
    changeWorld: (ctx) => fs.rmSync(path.join(ctx.dir, 'items.json'), { force: true }),
  };
}

export const NETWORK = [
  httpServer(
    'express',
    'express 5: 240 keep-alive requests from a client process (recorded too), a timer and a file read per request, a log line each',
    { express: '5.1.0' },
    `import express from 'express';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
const items = JSON.parse(await fs.promises.readFile('items.json', 'utf8'));
const lookup = (id) => new Promise((resolve) => setTimeout(() => resolve(items[Number(id) % items.length]), Number(id) % 3));
const app = express();
app.use((req, res, next) => {
  res.on('finish', () => console.log(req.method + ' ' + req.url + ' ' + res.statusCode));
  next();
});
app.get('/item/:id', async (req, res) => {
  const item = await lookup(req.params.id);
  res.json({ ...item, request: crypto.randomUUID(), at: Date.now() });
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1', () => {
  const client = spawn(process.execPath, ['client.mjs'], { stdio: ['ignore', 'inherit', 'inherit'] });
  client.on('exit', (code) => {
    console.log('client exited ' + code);
    server.close();
    server.closeAllConnections();
  });
});
`,
  ),
  httpServer(
    'fastify',
    'fastify 5: the same server and client as express, on fastify',
    { fastify: '5.6.1' },
    `import Fastify from 'fastify';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
const items = JSON.parse(await fs.promises.readFile('items.json', 'utf8'));
const lookup = (id) => new Promise((resolve) => setTimeout(() => resolve(items[Number(id) % items.length]), Number(id) % 3));
const app = Fastify({ logger: false });
app.addHook('onResponse', async (req, reply) => console.log(req.method + ' ' + req.url + ' ' + reply.statusCode));
app.get('/item/:id', async (req) => ({ ...(await lookup(req.params.id)), request: crypto.randomUUID(), at: Date.now() }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
const client = spawn(process.execPath, ['client.mjs'], { stdio: ['ignore', 'inherit', 'inherit'] });
client.on('exit', async (code) => {
  console.log('client exited ' + code);
  await app.close();
});
`,
  ),
  {
    name: 'ws',
    what: 'ws 8: a WebSocket server and client exchanging messages',
    fast: true,
    packages: { ws: '8.18.3' },
    ports: ['PORT'],
    files: {
      'main.mjs': `import { WebSocketServer, WebSocket } from 'ws';
const port = Number(process.env.PORT);
const wss = new WebSocketServer({ port, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (m) => ws.send(JSON.stringify({ echo: String(m), at: Date.now() }))));
await new Promise((r) => wss.on('listening', r));
const ws = new WebSocket('ws://127.0.0.1:' + port);
let n = 0;
ws.on('open', () => ws.send('hello ' + Math.random()));
ws.on('message', (m) => {
  console.log('client got', String(m));
  if (++n < 5) setTimeout(() => ws.send('message ' + n + ' ' + crypto.randomUUID()), 5);
  else { ws.close(); wss.close(); }
});
ws.on('close', (code) => console.log('closed', code));
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'socket.io',
    what: "socket.io 4 server and three clients in one process (websocket, polling upgraded, polling only): acks, rooms, binary, engine.io's pings, a client leaving",
    fast: true,
    packages: { 'socket.io': '4.8.1', 'socket.io-client': '4.8.1' },
    files: {
      'main.mjs': `import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
const http = createServer();
const io = new Server(http, { pingInterval: 200, pingTimeout: 400 });
const log = [];
io.on('connection', (socket) => {
  socket.join('room');
  socket.on('hello', (msg, ack) => ack({ echo: msg, id: socket.id.length, at: Date.now() % 1000 }));
  socket.on('bin', (buf) => socket.emit('bin-back', Buffer.from(buf).reverse()));
  socket.on('shout', (m) => io.to('room').emit('heard', m + ' ' + Math.random()));
});
await new Promise((r) => http.listen(0, '127.0.0.1', r));
const url = 'http://127.0.0.1:' + http.address().port;
const clients = [connect(url, { transports: ['websocket'] }), connect(url), connect(url, { transports: ['polling'] })];
await Promise.all(clients.map((c) => new Promise((r) => c.on('connect', r))));
for (const [i, c] of clients.entries()) {
  c.on('heard', (m) => log.push('client ' + i + ' heard ' + m));
  log.push('ack ' + i + ' ' + JSON.stringify(await c.emitWithAck('hello', 'hi from ' + i)) + ' ' + c.io.engine.transport.name);
}
const back = await new Promise((r) => { clients[1].once('bin-back', r); clients[1].emit('bin', Buffer.from([1, 2, 3, 4])); });
log.push('bin ' + Buffer.from(back).toString('hex'));
clients[0].emit('shout', 'all');
await new Promise((r) => setTimeout(r, 700)); // engine.io pings go by
clients[2].disconnect();
await new Promise((r) => setTimeout(r, 100));
log.push('sockets ' + io.of('/').sockets.size);
for (const c of clients) c.close();
io.close();
console.log(log.sort().join('\\n'));
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'nestjs',
    what: "NestJS 11 on platform-express: an app bootstrapped (DI, an rxjs interceptor, Nest's logger), requests from fetch in the same process, the app closed",
    fast: true,
    packages: {
      '@nestjs/core': '11.2.12',
      '@nestjs/common': '11.2.12',
      '@nestjs/platform-express': '11.2.12',
      'reflect-metadata': '0.2.2',
      rxjs: '7.8.2',
    },
    ports: ['PORT'],
    files: {
      'main.js': `require('reflect-metadata');
const { Module, Controller, Get, Post, Body, Param, Injectable, Inject, UseInterceptors } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { tap } = require('rxjs/operators');

class CounterService {
  constructor() { this.n = 0; }
  next() { return ++this.n; }
}
Injectable()(CounterService);

class TimingInterceptor {
  intercept(ctx, next) {
    const t0 = performance.now();
    const req = ctx.switchToHttp().getRequest();
    return next.handle().pipe(tap(() => console.log('handled', req.method, req.url, performance.now() - t0 >= 0)));
  }
}
Injectable()(TimingInterceptor);

class AppController {
  constructor(counter) { this.counter = counter; }
  hello() { return { hello: 'world', n: this.counter.next(), at: Date.now(), r: Math.random() }; }
  async item(id) { await new Promise((r) => setTimeout(r, 10)); return { id, uuid: crypto.randomUUID() }; }
  create(body) { return { created: body, n: this.counter.next() }; }
}
const d = (name) => Object.getOwnPropertyDescriptor(AppController.prototype, name);
Get()(AppController.prototype, 'hello', d('hello'));
Get(':id')(AppController.prototype, 'item', d('item'));
Param('id')(AppController.prototype, 'item', 0);
Post()(AppController.prototype, 'create', d('create'));
Body()(AppController.prototype, 'create', 0);
Inject(CounterService)(AppController, undefined, 0);
UseInterceptors(TimingInterceptor)(AppController);
Controller('api')(AppController);

class AppModule {}
Module({ controllers: [AppController], providers: [CounterService, TimingInterceptor] })(AppModule);

async function main() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT), '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  console.log('listening', /^http:\\/\\/127\\.0\\.0\\.1:\\d+$/.test(url));
  const get = async (p, init) => { const r = await fetch(url + p, init); return r.status + ' ' + (await r.text()); };
  console.log(await get('/api'));
  console.log(await get('/api/42'));
  console.log(await get('/api', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1 }) }));
  console.log(await get('/missing'));
  const all = await Promise.all([get('/api/1'), get('/api/2'), get('/api')]);
  console.log(all.join('\\n'));
  await app.close();
  console.log('closed');
}
main().catch((e) => { console.error(e); process.exit(1); });
`,
    },
    command: ['node', 'main.js'],
  },
  {
    name: 'puppeteer',
    what: "puppeteer-core 24 driving Debian's chromium (a child process) over a WebSocket, then over pipes: pages from an in-process server, evaluate, click, a screenshot",
    fast: true,
    packages: { 'puppeteer-core': '24.43.1' },
    files: {
      'main.js': `const puppeteer = require('puppeteer-core');
const http = require('node:http');
async function run(pipe) {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(\`<!doctype html><title>t \${req.url}</title><body><p id="p">server \${Math.random()}</p><script>document.title += ' ' + (1 + 1)</script></body>\`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    pipe,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  console.log('version', (await browser.version()).split('/')[0]);
  const page = await browser.newPage();
  await page.goto('http://127.0.0.1:' + server.address().port + '/a');
  console.log('title', await page.title());
  console.log('text', (await page.$eval('#p', (e) => e.textContent)).startsWith('server 0.'));
  const v = await page.evaluate(() => ({ sum: [1, 2, 3].reduce((a, b) => a + b), ua: navigator.userAgent.includes('Chrome') }));
  console.log('evaluate', JSON.stringify(v));
  await page.setContent('<button onclick="this.textContent = \\'clicked\\'">go</button>');
  await page.click('button');
  console.log('button', await page.$eval('button', (b) => b.textContent));
  const shot = await page.screenshot({ type: 'png' });
  console.log('screenshot', shot.length > 100, shot.subarray(1, 4).toString());
  await browser.close();
  server.close();
  console.log('closed', Date.now() > 0);
}
(async () => {
  // Over a WebSocket to the browser, then over pipes (fds 3 and 4).
  for (const pipe of [false, true]) {
    console.log('pipe', pipe);
    await run(pipe);
  }
})().catch((e) => { console.error(e); process.exit(1); });
`,
    },
    command: ['node', 'main.js'],
    unavailable: () =>
      fs.existsSync('/usr/bin/chromium') ? null : 'no /usr/bin/chromium (Debian: apt-get install -y chromium)',
    timeoutMs: 120_000,
  },
  {
    name: 'http-clients',
    what: 'undici (request, fetch), axios and got over HTTP and HTTPS against an in-process server',
    fast: true,
    packages: { undici: '6.21.3', axios: '1.7.9', got: '14.4.5' },
    ports: ['PORT', 'PORT2'],
    setup: makeCert,
    files: {
      'main.mjs': `import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { request, fetch as ufetch, Agent } from 'undici';
import axios from 'axios';
import got from 'got';
const key = fs.readFileSync('certs/key.pem');
const ca = fs.readFileSync('certs/cert.pem');
const handler = (req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, body, n: Math.random() }));
  });
};
const h = http.createServer(handler);
const s = https.createServer({ key, cert: ca }, handler);
await new Promise((r) => h.listen(Number(process.env.PORT), '127.0.0.1', r));
await new Promise((r) => s.listen(Number(process.env.PORT2), '127.0.0.1', r));
const base = 'http://127.0.0.1:' + process.env.PORT;
const sbase = 'https://127.0.0.1:' + process.env.PORT2;
const dispatcher = new Agent({ connect: { ca } });
const httpsAgent = new https.Agent({ ca });
for (const [name, base2] of [['http', base], ['https', sbase]]) {
  const r1 = await request(base2 + '/undici', { dispatcher });
  console.log(name, 'undici.request', r1.statusCode, await r1.body.text());
  const r2 = await ufetch(base2 + '/fetch', { method: 'POST', body: 'payload', dispatcher });
  console.log(name, 'undici.fetch', r2.status, await r2.text());
  const r3 = await axios.post(base2 + '/axios', { x: 1 }, { httpsAgent });
  console.log(name, 'axios', r3.status, JSON.stringify(r3.data));
  const r4 = await got(base2 + '/got', { https: { certificateAuthority: ca }, retry: { limit: 0 } }).json();
  console.log(name, 'got', JSON.stringify(r4));
}
const r5 = await fetch(base + '/global-fetch');
console.log('http global fetch', r5.status, await r5.text());
await dispatcher.close();
httpsAgent.destroy();
h.close();
s.close();
h.closeAllConnections?.();
s.closeAllConnections?.();
`,
    },
    command: ['node', 'main.mjs'],
    // The program read its key and certificate: at replay they are gone.
    changeWorld: (ctx) => fs.rmSync(path.join(ctx.dir, 'certs'), { recursive: true, force: true }),
  },
  {
    name: 'grpc',
    what: '@grpc/grpc-js: a unary and a server-streaming call over HTTP/2',
    packages: { '@grpc/grpc-js': '1.12.6', '@grpc/proto-loader': '0.7.15' },
    ports: ['PORT'],
    files: {
      'hello.proto': `syntax = "proto3";
package hello;
service Greeter {
  rpc Say (Req) returns (Rep) {}
  rpc Count (Req) returns (stream Rep) {}
}
message Req { string name = 1; }
message Rep { string text = 1; double at = 2; }
`,
      'main.mjs': `import grpc from '@grpc/grpc-js';
import loader from '@grpc/proto-loader';
const def = grpc.loadPackageDefinition(loader.loadSync('hello.proto')).hello;
const server = new grpc.Server();
server.addService(def.Greeter.service, {
  Say: (call, cb) => cb(null, { text: 'hello ' + call.request.name, at: Date.now() }),
  Count: (call) => { for (let i = 0; i < 3; i++) call.write({ text: String(i), at: Math.random() }); call.end(); },
});
const addr = '127.0.0.1:' + process.env.PORT;
await new Promise((r, j) => server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (e) => (e ? j(e) : r())));
const client = new def.Greeter(addr, grpc.credentials.createInsecure());
const rep = await new Promise((r, j) => client.Say({ name: 'rewind' }, (e, v) => (e ? j(e) : r(v))));
console.log('Say', JSON.stringify(rep));
await new Promise((r) => client.Count({ name: 'x' }).on('data', (d) => console.log('Count', JSON.stringify(d))).on('end', r));
client.close();
server.forceShutdown();
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'udp-echo',
    what: 'node:dgram: a UDP echo server and a client',
    udpPorts: ['PORT'],
    files: {
      'main.cjs': `const dgram = require('node:dgram');
const server = dgram.createSocket('udp4');
server.on('message', (msg, rinfo) => server.send(Buffer.from('echo ' + msg + ' ' + Date.now()), rinfo.port, rinfo.address));
server.bind(Number(process.env.PORT), '127.0.0.1', () => {
  const client = dgram.createSocket('udp4');
  let n = 0;
  client.on('message', (m) => {
    console.log(String(m));
    if (++n === 3) { client.close(); server.close(); }
  });
  for (let i = 0; i < 3; i++) client.send('ping ' + i + ' ' + Math.random(), Number(process.env.PORT), '127.0.0.1');
});
`,
    },
    command: ['node', 'main.cjs'],
  },
  {
    name: 'cluster',
    what: 'node:cluster: an HTTP server in two workers, the primary its client',
    ports: ['PORT'],
    files: {
      'main.cjs': `const cluster = require('node:cluster');
const http = require('node:http');
const port = Number(process.env.PORT);
if (cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < 2; i++) cluster.fork();
  cluster.on('listening', async () => {
    if (++listening < 2) return;
    const seen = new Set();
    for (let i = 0; i < 6; i++) {
      const text = await new Promise((resolve, reject) =>
        http.get({ host: '127.0.0.1', port, path: '/' + i, agent: false }, (res) => {
          let b = '';
          res.on('data', (c) => (b += c)).on('end', () => resolve(b));
        }).on('error', reject));
      seen.add(text.split(' ')[0]);
      console.log('answer', i, text);
    }
    console.log('workers that answered:', seen.size);
    for (const id in cluster.workers) cluster.workers[id].disconnect();
  });
} else {
  http.createServer((req, res) => res.end('worker' + cluster.worker.id + ' ' + req.url + ' ' + Date.now())).listen(port, '127.0.0.1');
}
`,
    },
    command: ['node', 'main.cjs'],
  },

  {
    name: 'koa-supertest',
    what: 'supertest 7 driving a koa 3 app (@koa/router) in-process: posts, a slow route racing a post, a thrown error, a 404, an agent',
    fast: true,
    packages: { koa: '3.3.0', '@koa/router': '15.7.0', supertest: '7.3.2' },
    files: {
      'main.mjs': `import Koa from 'koa';
import Router from '@koa/router';
import request from 'supertest';
import assert from 'node:assert';
import crypto from 'node:crypto';

const app = new Koa();
const router = new Router();
const items = new Map();
app.use(async (ctx, next) => {
  const t0 = performance.now();
  await next();
  ctx.set('X-Response-Time', (performance.now() - t0 > 0) ? 'measured' : 'zero');
});
router.get('/items', (ctx) => { ctx.body = [...items.values()]; });
router.post('/items', async (ctx) => {
  let raw = '';
  for await (const c of ctx.req) raw += c;
  const item = { id: crypto.randomUUID(), at: Date.now(), ...JSON.parse(raw) };
  items.set(item.id, item);
  ctx.status = 201;
  ctx.body = item;
});
router.get('/slow', async (ctx) => { await new Promise((r) => setTimeout(r, 20 + Math.random() * 20)); ctx.body = { slow: true }; });
router.get('/boom', () => { throw new Error('boom'); });
app.use(router.routes()).use(router.allowedMethods());
app.silent = true;

const server = app.callback();
const res1 = await request(server).post('/items').send({ name: 'a' }).expect(201);
console.log('created', res1.body.name, res1.body.id.length, typeof res1.body.at);
await Promise.all([request(server).get('/slow').expect(200), request(server).post('/items').send({ name: 'b' }).expect(201)]);
const list = await request(server).get('/items').expect('X-Response-Time', 'measured').expect(200);
console.log('list', list.body.map((i) => i.name).sort().join(','));
await request(server).get('/boom').expect(500);
await request(server).get('/nope').expect(404);
const agent = request.agent(server);
const r = await agent.get('/items');
console.log('date header', typeof r.headers.date, r.status);
assert.equal(list.body.length, 2);
console.log('done');
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'hapi',
    what: '@hapi/hapi 21 on a port, queried by supertest 7 (a route with params, a payload, a slow route, a 404 through onPreResponse) and by server.inject',
    packages: { '@hapi/hapi': '21.4.13', supertest: '7.3.2' },
    ports: ['PORT'],
    files: {
      'main.mjs': `import Hapi from '@hapi/hapi';
import request from 'supertest';
const server = Hapi.server({ port: Number(process.env.PORT), host: '127.0.0.1' });
let counter = 0;
server.route({ method: 'GET', path: '/hello/{name}', handler: (req) => ({ hello: req.params.name, n: ++counter, r: Math.random() < 2, at: new Date().toISOString().length }) });
server.route({ method: 'POST', path: '/echo', handler: (req, h) => h.response({ got: req.payload }).code(201) });
server.route({ method: 'GET', path: '/wait', handler: async () => { await new Promise((r) => setTimeout(r, 15)); return 'waited'; } });
server.ext('onPreResponse', (req, h) => { if (req.response.isBoom) return h.response({ err: req.response.output.statusCode }).code(req.response.output.statusCode); return h.continue; });
await server.start();
const url = server.info.uri;
const a = await request(url).get('/hello/world').expect(200);
console.log(JSON.stringify(a.body));
const [b, c] = await Promise.all([request(url).post('/echo').send({ x: [1, 2] }), request(url).get('/wait')]);
console.log(b.status, JSON.stringify(b.body), c.text);
const d = await request(url).get('/missing');
console.log(d.status, JSON.stringify(d.body));
// server.inject: no socket at all
const e = await server.inject({ method: 'GET', url: '/hello/inject' });
console.log(e.statusCode, e.result.hello);
await server.stop();
console.log('stopped');
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'graphql-yoga',
    what: 'graphql-yoga 5 on node:http, queried by fetch: queries, a mutation racing a slow resolver, a validation error, a subscription over server-sent events',
    packages: { 'graphql-yoga': '5.24.1', graphql: '16.15.0' },
    ports: ['PORT'],
    files: {
      'main.mjs': `import { createServer } from 'node:http';
import { createYoga, createSchema, createPubSub } from 'graphql-yoga';
const pubSub = createPubSub();
const books = [{ id: '1', title: 'Dune', at: Date.now() }];
const schema = createSchema({
  typeDefs: /* GraphQL */ \`
    type Book { id: ID!, title: String!, luck: Float! }
    type Query { books: [Book!]!, now: String!, slow: String! }
    type Mutation { addBook(title: String!): Book! }
    type Subscription { countdown(from: Int!): Int! }
  \`,
  resolvers: {
    Book: { luck: () => Math.random() },
    Query: { books: () => books, now: () => new Date().toISOString(), slow: () => new Promise((r) => setTimeout(() => r('slow done'), 25)) },
    Mutation: { addBook: (_, { title }) => { const b = { id: String(books.length + 1), title }; books.push(b); pubSub.publish('book', b); return b; } },
    Subscription: { countdown: { subscribe: async function* (_, { from }) { for (let i = from; i >= 0; i--) { await new Promise((r) => setTimeout(r, 5)); yield { countdown: i }; } } } },
  },
});
const yoga = createYoga({ schema, logging: false, maskedErrors: true });
const server = createServer(yoga);
await new Promise((r) => server.listen(Number(process.env.PORT), '127.0.0.1', r));
const url = \`http://127.0.0.1:\${server.address().port}/graphql\`;
const q = async (query, variables) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) })).json();
console.log(JSON.stringify(await q('{ books { id title } }')));
const [m, s] = await Promise.all([q('mutation($t: String!) { addBook(title: $t) { id title } }', { t: 'Emma' }), q('{ slow }')]);
console.log(JSON.stringify(m), JSON.stringify(s));
const n = await q('{ now books { luck } }');
console.log(typeof n.data.now, n.data.books.length, n.data.books.every((b) => b.luck < 1));
console.log(JSON.stringify(await q('{ nope }')));
// subscription over SSE
const res = await fetch(url + '?query=' + encodeURIComponent('subscription { countdown(from: 3) }'), { headers: { accept: 'text/event-stream' } });
const text = await res.text();
console.log(text.split('\\n').filter((l) => l.startsWith('data')).join(' | '));
server.close();
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'mqtt-aedes',
    what: 'mqtt 5 clients against an aedes 1 broker in the same process: subscriptions with QoS 0, 1 and 2, a retained message',
    packages: { mqtt: '5.16.0', aedes: '1.2.0' },
    ports: ['PORT'],
    files: {
      'main.mjs': `import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
const aedes = await Aedes.createBroker();
const server = createServer(aedes.handle);
await new Promise((r) => server.listen(Number(process.env.PORT), '127.0.0.1', r));
const url = \`mqtt://127.0.0.1:\${server.address().port}\`;
const sub = await mqtt.connectAsync(url, { clientId: 'sub-' + Math.random().toString(16).slice(2, 8), clean: true });
const pub = await mqtt.connectAsync(url, { clientId: 'pub' });
const got = [];
const all = new Promise((resolve) => sub.on('message', (topic, payload, packet) => { got.push(\`\${topic} q\${packet.qos} \${payload}\`); if (got.length === 4) resolve(); }));
await sub.subscribeAsync({ 'sensors/+': { qos: 1 }, 'alerts': { qos: 2 } });
await pub.publishAsync('sensors/t', JSON.stringify({ v: 20 + Math.random() > 0, at: Date.now() > 0 }), { qos: 1 });
await Promise.all([pub.publishAsync('sensors/h', '55', { qos: 0 }), pub.publishAsync('alerts', 'fire', { qos: 2 })]);
await pub.publishAsync('retained/x', 'kept', { retain: true, qos: 1 });
await sub.subscribeAsync('retained/#');
await all;
console.log(got.sort().join('\\n'));
await pub.endAsync();
await sub.endAsync();
await new Promise((r) => aedes.close(r));
server.close();
console.log('closed');
`,
    },
    command: ['node', 'main.mjs'],
  },
];
