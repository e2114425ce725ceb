// Libraries that cross into native code or threads: SQLite (an addon and the built-in),
// a worker pool, a logger whose transport runs in a worker, a DOM.
import fs from 'node:fs';
import path from 'node:path';

/** `bytes` characters of base64-like text, the same every run (seeded by `seed`). */
function noise(seed, bytes) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let x = seed * 2654435761;
  let out = '';
  for (let i = 0; i < bytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out += i % 76 === 75 ? '\n' : abc[x >>> 26];
  }
  return out;
}

const sqliteSetup = (ctx) => fs.rmSync(path.join(ctx.dir, 'data.db'), { force: true });

export const LIBRARIES = [
  {
    name: 'better-sqlite3',
    what: 'better-sqlite3 12 (a native addon): a database file created, written and queried',
    fast: true,
    packages: { 'better-sqlite3': '12.4.1' },
    outputs: ['data.db', 'data.db-journal', 'data.db-wal', 'data.db-shm'],
    files: {
      'main.cjs': `const Database = require('better-sqlite3');
const db = new Database('data.db');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL, at INTEGER)');
const insert = db.prepare('INSERT INTO t (v, at) VALUES (?, ?)');
db.transaction(() => { for (let i = 0; i < 100; i++) insert.run(Math.random(), Date.now()); })();
console.log(JSON.stringify(db.prepare('SELECT count(*) AS n, sum(v) > 0 AS positive FROM t').get()));
console.log(JSON.stringify(db.prepare('SELECT id, v FROM t ORDER BY v DESC LIMIT 2').all()));
db.close();
`,
    },
    command: ['node', 'main.cjs'],
    // Only the npm registry is reachable here: no prebuilt binary (GitHub), no headers but
    // the system Node's for node-gyp, so the addon exists only for the Node it was built for.
    unavailable: (plain, ctx) =>
      /NODE_MODULE_VERSION/.test(plain.stderr.toString())
        ? `better-sqlite3's addon could not be built for Node ${ctx.nodeMajor} here (no prebuilt binary, no headers for it)`
        : null,
    // The database the program wrote is gone: replay must neither need it nor write it again.
    changeWorld: sqliteSetup,
  },
  {
    name: 'knex-sqlite3',
    what: "knex 3 on sqlite3 6 (a node-addon-api addon whose JS puts EventEmitter's methods on its native classes, which call them back): schema, a transaction, queries, concurrent updates, an error",
    fast: true,
    packages: { knex: '3.3.0', sqlite3: '6.0.1' },
    outputs: ['data.db', 'data.db-journal'],
    files: {
      'main.js': `const knex = require('knex')({ client: 'sqlite3', connection: { filename: './data.db' }, useNullAsDefault: true, pool: { min: 1, max: 2 } });
async function main() {
  await knex.schema.dropTableIfExists('items');
  await knex.schema.createTable('items', (t) => { t.increments('id'); t.string('name'); t.float('v'); t.bigInteger('at'); });
  await knex.transaction(async (trx) => {
    for (let i = 0; i < 20; i++) await trx('items').insert({ name: 'item' + i, v: Math.random(), at: Date.now() });
  });
  const ids = await knex('items').insert({ name: 'last', v: 2, at: 0 });
  console.log('inserted', JSON.stringify(ids));
  const [{ n }] = await knex('items').count({ n: '*' });
  console.log('count', n);
  const top = await knex('items').select('id', 'name').orderBy('v', 'desc').limit(3);
  console.log('top', JSON.stringify(top));
  await Promise.all([knex('items').where('id', '<', 5).update({ name: 'low' }), knex('items').where('id', '>', 15).del()]);
  console.log('after', JSON.stringify(await knex('items').select('name').count({ c: '*' }).groupBy('name').orderBy('name').limit(3)));
  try { await knex.raw('select * from nope'); } catch (e) { console.log('error', e.code, e.message.split(' - ')[1]); }
  await knex.destroy();
  console.log('destroyed');
}
main().catch((e) => { console.error(e); process.exit(1); });
`,
    },
    command: ['node', 'main.js'],
    unavailable: (plain) =>
      /Could not locate the bindings file|node_sqlite3\.node/.test(plain.stderr.toString())
        ? 'sqlite3 could not be built here (no prebuilt binary from GitHub; node-gyp failed)'
        : null,
    changeWorld: sqliteSetup,
  },
  {
    name: 'libsql',
    what: "@libsql/client 0.18 on a local file (libsql's neon addon: external handles, rows filled into the program's array): a batch, a transaction, an error",
    fast: true,
    packages: { '@libsql/client': '0.18.0' },
    outputs: ['data.db', 'data.db-journal', 'data.db-wal', 'data.db-shm'],
    files: {
      'main.mjs': `import { createClient } from '@libsql/client';
const db = createClient({ url: 'file:data.db' });
await db.execute('DROP TABLE IF EXISTS t');
await db.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL, at INTEGER)');
await db.batch(Array.from({ length: 10 }, () => ({ sql: 'INSERT INTO t (v, at) VALUES (?, ?)', args: [Math.random(), Date.now()] })), 'write');
const r = await db.execute('SELECT count(*) AS n, max(id) AS m FROM t');
console.log('rows', JSON.stringify(r.rows), r.columns.join(','));
const tx = await db.transaction('write');
const ins = await tx.execute({ sql: 'INSERT INTO t (v, at) VALUES (?, ?)', args: [2, 0] });
console.log('inserted', String(ins.lastInsertRowid), ins.rowsAffected);
await tx.commit();
try { await db.execute('SELECT * FROM nope'); } catch (e) { console.log('error', e.code); }
const top = await db.execute('SELECT id FROM t ORDER BY v DESC LIMIT 2');
console.log('top', JSON.stringify(top.rows.map((x) => x.id)));
db.close();
`,
    },
    command: ['node', 'main.mjs'],
    changeWorld: sqliteSetup,
  },
  {
    name: 'native-async',
    what: 'sharp 0.34, bcrypt 6 and argon2 0.44 (N-API addons finishing on the thread pool): an image made, resized, blurred and written; passwords hashed and verified; racing timers',
    fast: true,
    packages: { sharp: '0.34.5', bcrypt: '6.0.0', argon2: '0.44.0' },
    outputs: ['thumb.png'],
    files: {
      'main.cjs': `const sharp = require('sharp');
const bcrypt = require('bcrypt');
const argon2 = require('argon2');
const crypto = require('node:crypto');
const order = [];
setTimeout(() => order.push('timer 1'), 1);
setTimeout(() => order.push('timer 5'), 5);
(async () => {
  const pw = 'pw-' + Math.random().toString(36).slice(2);
  const hash = await bcrypt.hash(pw, 6);
  order.push('bcrypt');
  console.log('bcrypt', await bcrypt.compare(pw, hash), hash.length);
  bcrypt.hash(pw, 4, (err, h) => console.log('bcrypt callback', !err, h.slice(0, 7)));
  const a = await argon2.hash(pw, { timeCost: 2, memoryCost: 4096 });
  order.push('argon2');
  console.log('argon2', await argon2.verify(a, pw));
  const blue = Math.floor(Math.random() * 256);
  const img = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 255, g: 0, b: blue } } }).png().toBuffer();
  order.push('sharp');
  const meta = await sharp(img).metadata();
  const small = await sharp(img).resize(16, 12).raw().toBuffer();
  const digest = crypto.createHash('sha1').update(small).digest('hex').slice(0, 12);
  console.log('sharp', meta.width, meta.height, meta.format, small.length, digest);
  await Promise.all([
    sharp(img).blur(2).toFile('thumb.png').then((info) => order.push('file ' + info.size)),
    bcrypt.hash(pw, 4).then(() => order.push('bcrypt again')),
  ]);
  console.log(order.join(', '));
})();
`,
    },
    command: ['node', 'main.cjs'],
    // The thumbnail is gone: the replay must not write it again.
    changeWorld: (ctx) => fs.rmSync(path.join(ctx.dir, 'thumb.png'), { force: true }),
  },
  {
    name: 'sharp',
    what: 'sharp 0.33 (its prebuilt @img addon): random raw pixels and an SVG file resized, composited, written as PNG, WebP and JPEG (streams), read back',
    fast: true,
    packages: { sharp: '0.33.5' },
    outputs: ['out'],
    files: {
      'input/badge.svg': `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" rx="6" fill="#36c"/><circle cx="20" cy="15" r="9" fill="#fc3"/></svg>\n`,
      'main.cjs': `const sharp = require('sharp');
const fs = require('node:fs');
const crypto = require('node:crypto');
const { pipeline } = require('node:stream/promises');
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);
(async () => {
  const width = 96, height = 64, channels = 3;
  const pixels = Buffer.alloc(width * height * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(Math.random() * 256);
  fs.mkdirSync('out', { recursive: true });
  const image = sharp(pixels, { raw: { width, height, channels } });
  const done = [];
  const [png, webp] = await Promise.all([
    image.clone().resize(48, 32).composite([{ input: 'input/badge.svg', gravity: 'southeast' }]).png({ compressionLevel: 9 }).toFile('out/small.png').then((i) => (done.push('png'), i)),
    image.clone().resize({ width: 40 }).webp({ quality: 80 }).toFile('out/small.webp').then((i) => (done.push('webp'), i)),
  ]);
  console.log('png', png.format, png.width, png.height, png.size, sha(fs.readFileSync('out/small.png')));
  console.log('webp', webp.format, webp.width, webp.height, webp.size, sha(fs.readFileSync('out/small.webp')));
  for (const f of ['out/small.png', 'out/small.webp', 'input/badge.svg']) {
    const m = await sharp(f).metadata();
    console.log('metadata', f, m.format, m.width, m.height, m.channels, m.hasAlpha, m.size ?? '-');
  }
  const { channels: st, isOpaque, dominant } = await sharp('out/small.png').stats();
  console.log('stats', st.map((c) => Math.round(c.mean)).join(','), isOpaque, JSON.stringify(dominant));
  await pipeline(fs.createReadStream('input/badge.svg'), sharp().flatten({ background: '#fff' }).resize(80).jpeg({ quality: 70 }), fs.createWriteStream('out/badge.jpg'));
  const jpg = fs.readFileSync('out/badge.jpg');
  console.log('jpeg via streams', jpg.length, sha(jpg), done.length);
  const { data, info } = await sharp('out/small.webp').greyscale().raw().toBuffer({ resolveWithObject: true });
  console.log('raw grey', info.width, info.height, info.channels, data.length, sha(data));
})();
`,
    },
    command: ['node', 'main.cjs'],
    // The outputs are gone and the input image is another: the replay must neither read nor write them.
    changeWorld: (ctx) => {
      fs.rmSync(path.join(ctx.dir, 'out'), { recursive: true, force: true });
      ctx.write('input/badge.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n');
    },
  },
  {
    name: 'node-sqlite',
    what: 'node:sqlite (built in from Node 22): a database file created, written and queried',
    minNode: 22,
    outputs: ['data.db'],
    files: {
      'main.cjs': `const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync('data.db');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v REAL, at INTEGER)');
const insert = db.prepare('INSERT INTO t (v, at) VALUES (?, ?)');
for (let i = 0; i < 50; i++) insert.run(Math.random(), Date.now());
console.log(JSON.stringify(db.prepare('SELECT count(*) AS n FROM t').get()));
console.log(JSON.stringify(db.prepare('SELECT id, v FROM t ORDER BY v DESC LIMIT 2').all()));
db.close();
`,
    },
    command: ['node', '--no-warnings', 'main.cjs'],
    changeWorld: sqliteSetup,
  },
  {
    name: 'jose',
    what: 'jose 6: JWTs signed and verified with WebCrypto (HMAC, Ed25519) and encrypted (A256GCM) on the thread pool, racing timers',
    fast: true,
    packages: { jose: '6.2.19' },
    files: {
      'main.mjs': `import * as jose from 'jose';
const order = [];
const secret = new TextEncoder().encode('a secret of thirty-two bytes!!!!');
// A fixed Ed25519 key: Ed25519 signatures are deterministic (generating a key pair in
// WebCrypto is not, and rewind names it as unrecorded).
const jwk = { crv: 'Ed25519', kty: 'OKP', x: '7fEpgQ_FsDComICOy0aSJlVPXtcorB1CUXOoUKw4FPw', d: 'D68VrOhyHcw57_lNPOS0cFZ3asBoFwdeZD_NwXSCGsQ' };
const privateKey = await jose.importJWK(jwk, 'EdDSA');
const publicKey = await jose.importJWK({ ...jwk, d: undefined }, 'EdDSA');
setTimeout(() => order.push('timer'), 1);
setImmediate(() => order.push('immediate'));
const jobs = [];
for (let i = 0; i < 4; i++) {
  jobs.push(
    new jose.SignJWT({ i, r: Math.random() }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('2h').sign(secret)
      .then((jwt) => jose.jwtVerify(jwt, secret))
      .then(({ payload }) => order.push('hs256 ' + payload.i)),
  );
}
jobs.push(
  new jose.SignJWT({ who: 'ed' }).setProtectedHeader({ alg: 'EdDSA' }).sign(privateKey)
    .then((jwt) => jose.jwtVerify(jwt, publicKey))
    .then(({ payload }) => order.push('eddsa ' + payload.who)),
);
const key = new Uint8Array(32).fill(7);
jobs.push(
  new jose.EncryptJWT({ secret: 'x' }).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key)
    .then((jwe) => jose.jwtDecrypt(jwe, key))
    .then(({ payload }) => order.push('jwe ' + payload.secret)),
);
await Promise.all(jobs);
await new Promise((r) => setTimeout(r, 5));
console.log(order.join(','));
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'otel-express',
    what: "OpenTelemetry's auto-instrumentation as a --require preload (every span's ids, its resource detectors' lookups) around an express 4 server and its client",
    packages: {
      '@opentelemetry/api': '1.9.1',
      '@opentelemetry/auto-instrumentations-node': '0.81.2',
      express: '4.22.3',
    },
    files: {
      'otel.cjs': `process.env.OTEL_TRACES_EXPORTER = 'console';
process.env.OTEL_METRICS_EXPORTER = 'none';
process.env.OTEL_LOGS_EXPORTER = 'none';
process.env.OTEL_SERVICE_NAME = 'eco';
require('@opentelemetry/auto-instrumentations-node/register');
`,
      'app.cjs': `const express = require('express');
const http = require('node:http');
const { trace } = require('@opentelemetry/api');
const app = express();
app.get('/x', (req, res) => {
  const span = trace.getActiveSpan();
  res.json({ traced: Boolean(span), trace: span?.spanContext().traceId, at: Date.now() });
});
const server = app.listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  for (let i = 0; i < 3; i++) {
    const body = await new Promise((res) =>
      http.get('http://127.0.0.1:' + port + '/x', (r) => {
        let d = '';
        r.on('data', (c) => (d += c));
        r.on('end', () => res(d));
      }),
    );
    console.log(body);
  }
  server.close();
  // The console exporter prints the spans when its batch is flushed at shutdown.
  setTimeout(() => process.exit(0), 50);
});
`,
    },
    command: ['node', '--require', './otel.cjs', 'app.cjs'],
  },
  {
    name: 'piscina',
    what: 'piscina 4: a pool of worker threads computing hashes of random input',
    packages: { piscina: '4.9.2' },
    files: {
      'worker.cjs': `const crypto = require('node:crypto');
module.exports = ({ n }) => ({ n, hash: crypto.createHash('sha256').update(crypto.randomBytes(16)).digest('hex').slice(0, 12), at: Date.now() });
`,
      'main.mjs': `import Piscina from 'piscina';
const pool = new Piscina({ filename: new URL('./worker.cjs', import.meta.url).href, minThreads: 2, maxThreads: 2 });
const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => pool.run({ n })));
for (const r of results) console.log(JSON.stringify(r));
await pool.destroy();
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'pino-transport',
    what: 'pino 9 with a file transport (pino/file in a worker thread) and pino-pretty to stdout',
    packages: { pino: '9.6.0', 'pino-pretty': '13.0.0' },
    outputs: ['out'],
    setup: (ctx) => fs.mkdirSync(path.join(ctx.dir, 'out'), { recursive: true }),
    files: {
      'main.mjs': `import pino from 'pino';
const transport = pino.transport({ targets: [
  { target: 'pino/file', options: { destination: 'out/app.log' } },
  { target: 'pino-pretty', options: { destination: 1, colorize: false } },
] });
const log = pino({ base: { app: 'eco' } }, transport);
for (let i = 0; i < 5; i++) log.info({ i, r: Math.random() }, 'tick');
log.warn('done');
transport.on('close', () => console.error('transport closed'));
transport.end();
`,
    },
    command: ['node', 'main.mjs'],
    changeWorld: (ctx) => fs.rmSync(path.join(ctx.dir, 'out'), { recursive: true, force: true }),
  },
  {
    name: 'archiver-zip',
    what: 'archiver 7 (zip and tar.gz through zlib streams, fs read and write streams), read back with unzipper 0.12 (also extracted) and yauzl 3',
    fast: true,
    packages: { archiver: '7.0.1', unzipper: '0.12.5', yauzl: '3.4.0' },
    outputs: ['out'],
    files: {
      ...Object.fromEntries([1, 2, 3].map((n) => [`input/file${n}.txt`, noise(n, 20_000 * n)])),
      'input/small.txt': 'hello\n',
      'main.js': `const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const archiver = require('archiver');
const unzipper = require('unzipper');
const yauzl = require('yauzl');
const sha = (b) => crypto.createHash('sha1').update(b).digest('hex').slice(0, 12);
async function main() {
  fs.mkdirSync('out', { recursive: true });
  const output = fs.createWriteStream('out/a.zip');
  const archive = archiver('zip', { zlib: { level: 6 } });
  const closed = new Promise((r, j) => { output.on('close', r); archive.on('error', j); });
  archive.on('entry', (e) => console.log('entry', e.name));
  archive.pipe(output);
  archive.directory('input/', 'in');
  archive.append('generated ' + crypto.randomUUID() + ' at ' + new Date(0).toISOString(), { name: 'gen.txt', date: new Date(0) });
  archive.append(fs.createReadStream('input/file1.txt'), { name: 'stream1.txt', date: new Date(0) });
  await archive.finalize();
  await closed;
  console.log('zip bytes', archive.pointer());
  // unzipper: read it back through a stream
  const dir = await unzipper.Open.file('out/a.zip');
  for (const f of dir.files.sort((a, b) => a.path.localeCompare(b.path))) {
    const buf = await f.buffer();
    console.log('unzipper', f.path, f.uncompressedSize, sha(buf));
  }
  await fs.createReadStream('out/a.zip').pipe(unzipper.Extract({ path: 'out/x' })).promise();
  console.log('extracted', fs.readdirSync('out/x/in').sort().join(','));
  // yauzl
  await new Promise((resolve, reject) => {
    yauzl.open('out/a.zip', { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      zip.readEntry();
      zip.on('entry', (entry) => {
        zip.openReadStream(entry, (e, rs) => {
          if (e) return reject(e);
          const h = crypto.createHash('sha1');
          rs.on('data', (d) => h.update(d));
          rs.on('end', () => { console.log('yauzl', entry.fileName, entry.compressedSize > 0, h.digest('hex').slice(0, 12)); zip.readEntry(); });
        });
      });
      zip.on('end', resolve);
    });
  });
  // tar + gzip too
  const tgz = archiver('tar', { gzip: true });
  const out2 = fs.createWriteStream('out/a.tgz');
  const closed2 = new Promise((r) => out2.on('close', r));
  tgz.pipe(out2);
  tgz.file('input/small.txt', { name: 'small.txt', date: new Date(0) });
  tgz.finalize();
  await closed2;
  console.log('tgz', fs.statSync('out/a.tgz').size > 0);
}
main().catch((e) => { console.error(e); process.exit(1); });
`,
    },
    command: ['node', 'main.js'],
    // The archives and the extracted files are gone: the replay must not write them again.
    changeWorld: (ctx) => fs.rmSync(path.join(ctx.dir, 'out'), { recursive: true, force: true }),
  },
  {
    name: 'winston-cron',
    what: 'winston 3 to the console, a size-rotated File transport and winston-daily-rotate-file; croner 11 and node-cron 4 jobs every second, stopped after 3 and 2 runs',
    fast: true,
    packages: { winston: '3.19.0', 'winston-daily-rotate-file': '5.0.0', croner: '11.0.1', 'node-cron': '4.6.0' },
    outputs: ['logs'],
    files: {
      'main.js': `const winston = require('winston');
require('winston-daily-rotate-file');
const { Cron } = require('croner');
const cron = require('node-cron');
const fs = require('node:fs');

const logger = winston.createLogger({
  level: 'debug',
  format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
  transports: [
    new winston.transports.Console({ format: winston.format.combine(winston.format.timestamp(), winston.format.simple()) }),
    new winston.transports.File({ filename: 'logs/app.log', maxsize: 2000, maxFiles: 3, tailable: true }),
    new winston.transports.DailyRotateFile({ dirname: 'logs', filename: 'daily-%DATE%.log', datePattern: 'YYYY-MM-DD-HH-mm', maxSize: '1k', maxFiles: 5, auditFile: 'logs/audit.json' }),
  ],
});

for (let i = 0; i < 30; i++) logger.info('message ' + i, { r: Math.random(), pad: 'x'.repeat(40) });
let a = 0;
const job = new Cron('* * * * * *', () => {
  a++;
  logger.warn('croner tick ' + a, { next: job.nextRun()?.getTime() > Date.now() });
  if (a === 3) job.stop();
});
let b = 0;
const task = cron.schedule('* * * * * *', () => {
  b++;
  logger.debug('node-cron tick ' + b);
  if (b === 2) task.stop();
});
setTimeout(() => {
  logger.on('finish', () => {
    setTimeout(() => {
      const files = fs.readdirSync('logs').filter((f) => !f.endsWith('.json')).sort();
      console.log('files', files.length >= 3);
      console.log('done', a, b);
    }, 100);
  });
  logger.end();
}, 3500);
`,
    },
    command: ['node', 'main.js'],
    // The logs (and the rotation's audit file) are gone: the replay must not write them again.
    changeWorld: (ctx) => fs.rmSync(path.join(ctx.dir, 'logs'), { recursive: true, force: true }),
  },
  {
    name: 'jsdom',
    what: 'jsdom 25: a page whose scripts read the clock and randomness and set a timer',
    fast: false,
    packages: { jsdom: '25.0.1' },
    files: {
      'page.html': `<!doctype html><html><body><div id="app"></div>
<script>
  const el = document.getElementById('app');
  el.textContent = 'rendered at ' + Date.now() + ' ' + Math.random();
  setTimeout(() => { el.dataset.later = String(performance.now() > 0); window.done(); }, 20);
</script></body></html>
`,
      'main.cjs': `const { JSDOM } = require('jsdom');
const fs = require('node:fs');
const dom = new JSDOM(fs.readFileSync('page.html', 'utf8'), { runScripts: 'dangerously', beforeParse(w) { w.done = () => {
  console.log(w.document.body.innerHTML.trim());
  console.log('outer', Date.now() > 0, w.Math.random() < 1);
  w.close();
}; } });
`,
    },
    command: ['node', 'main.cjs'],
    changeWorld: (ctx) => ctx.write('page.html', '<p>another page</p>'),
  },

  {
    name: 'workerpool',
    what: 'workerpool 9: a pool of worker threads and a pool of child processes (hashes of random input), an inline function, a failing task, a task timed out (its process killed)',
    packages: { workerpool: '9.3.4' },
    files: {
      'main.mjs': `import workerpool from 'workerpool';
import { fileURLToPath } from 'node:url';
const here = fileURLToPath(new URL('.', import.meta.url));
const threads = workerpool.pool(here + 'worker.cjs', { minWorkers: 2, maxWorkers: 2, workerType: 'thread' });
const procs = workerpool.pool(here + 'worker.cjs', { minWorkers: 1, maxWorkers: 2, workerType: 'process' });
const t = await Promise.all([1, 2, 3, 4].map((n) => threads.exec('work', [n])));
console.log('threads', JSON.stringify(t.map((r) => [r.n, r.h])));
const p = await Promise.all([5, 6, 7].map((n) => procs.exec('work', [n])));
console.log('processes', JSON.stringify(p.map((r) => [r.n, r.h])));
// an inline function sent to a worker
console.log('inline', await threads.exec((a, b) => a * b, [6, 7]));
// a task that fails and one that times out
try { await threads.exec('fail', []); } catch (e) { console.log('failed:', e.message); }
try { await procs.exec('slow', [200]).timeout(30); } catch (e) { console.log('timeout:', e.constructor.name, e.message); }
console.log('stats', JSON.stringify(threads.stats()));
await threads.terminate();
await procs.terminate();
console.log('done');
`,
      'worker.cjs': `const workerpool = require('workerpool');
const crypto = require('node:crypto');
workerpool.worker({
  work: (n) => ({ n, h: crypto.createHash('sha1').update(crypto.randomBytes(8)).digest('hex').slice(0, 8), at: Date.now() }),
  fail: () => { throw new Error('nope ' + Math.floor(Math.random() * 0)); },
  slow: (ms) => new Promise((r) => setTimeout(() => r('slow'), ms)),
});
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'bree',
    what: 'bree 9: a job every 50 ms in a worker thread (workerData, messages, overlapping runs refused) and a job that throws',
    packages: { bree: '9.2.9' },
    files: {
      'main.cjs': `const Bree = require('bree');
const path = require('node:path');
const events = [];
const bree = new Bree({
  root: path.join(__dirname, 'jobs'),
  logger: { info: (m) => events.push('info ' + String(m).replace(/\\d+/g, 'N')), warn: (m) => events.push('warn ' + m), error: (m) => events.push('error ' + (m && m.message || m)) },
  jobs: [
    { name: 'tick', interval: '50ms', worker: { workerData: { tag: 'x' } } },
    { name: 'fail', timeout: '30ms' },
  ],
  errorHandler: (err, meta) => events.push('errorHandler ' + meta.name + ': ' + err.message),
  workerMessageHandler: (m) => events.push('message ' + m.name + ' ' + m.message),
});
(async () => {
  await bree.start();
  setTimeout(async () => {
    await bree.stop();
    console.log(events.join('\\n'));
  }, 230);
})();
`,
      'jobs/tick.js': `const { parentPort, workerData } = require('node:worker_threads');
const n = Math.floor(Math.random() * 1000);
console.log('tick job ran', typeof n, workerData && workerData.tag);
if (parentPort) parentPort.postMessage('done');
`,
      'jobs/fail.js': `throw new Error('job failed at ' + (Date.now() > 0));
`,
    },
    command: ['node', 'main.cjs'],
  },

  {
    name: 'sequelize-sqlite3',
    what: 'sequelize 6 on sqlite3 5 (a node-addon-api addon, built by node-gyp): a migration through the query interface, models with an association, inserts in a committed transaction and a rolled-back one, a join, queries in parallel',
    packages: { sequelize: '6.37.8', sqlite3: '5.1.7' },
    outputs: ['data.db', 'data.db-journal'],
    files: {
      'main.cjs': `const { Sequelize, DataTypes, Op } = require('sequelize');
const fs = require('node:fs');
(async () => {
  const sequelize = new Sequelize({ dialect: 'sqlite', storage: 'data.db', logging: false });
  const qi = sequelize.getQueryInterface();
  // a "migration": create, then alter
  await qi.createTable('users', { id: { type: DataTypes.INTEGER, primaryKey: true, autoIncrement: true }, name: DataTypes.STRING, createdAt: DataTypes.DATE, updatedAt: DataTypes.DATE });
  await qi.addColumn('users', 'score', { type: DataTypes.FLOAT, allowNull: true });
  await qi.addIndex('users', ['name']);
  const User = sequelize.define('User', { name: DataTypes.STRING, score: DataTypes.FLOAT }, { tableName: 'users' });
  const Post = sequelize.define('Post', { title: DataTypes.STRING, body: DataTypes.TEXT });
  User.hasMany(Post);
  Post.belongsTo(User);
  await Post.sync();
  await sequelize.transaction(async (t) => {
    for (const name of ['ada', 'grace', 'linus']) {
      const u = await User.create({ name, score: Math.round(Math.random() * 100) }, { transaction: t });
      await Post.create({ title: 'hello from ' + name, body: 'at ' + Date.now(), UserId: u.id }, { transaction: t });
    }
  });
  try {
    await sequelize.transaction(async (t) => {
      await User.create({ name: 'rolled back' }, { transaction: t });
      throw new Error('abort');
    });
  } catch (e) { console.log('rolled back:', e.message); }
  const [a, b] = await Promise.all([User.count(), Post.findAll({ include: User, order: [['id', 'ASC']] })]);
  console.log('users', a, 'posts', b.map((p) => p.title + ' by ' + p.User.name).join('; '));
  const top = await User.findAll({ where: { score: { [Op.gte]: 0 } }, order: [['score', 'DESC']], limit: 1 });
  console.log('top is a user:', top.length === 1, typeof top[0].createdAt.toISOString());
  console.log('tables', (await qi.showAllTables()).sort().join(','));
  await sequelize.close();
  console.log('db size > 0:', fs.statSync('data.db').size > 0);
})();
`,
    },
    command: ['node', 'main.cjs'],
    unavailable: (plain) =>
      /Could not locate the bindings file|NODE_MODULE_VERSION/.test(plain.stderr.toString())
        ? "sqlite3's addon could not be built here"
        : null,
    // The database the program wrote is gone: replay must neither need it nor write it again.
    changeWorld: sqliteSetup,
  },
];
