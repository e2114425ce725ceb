// Clients of real servers (redis-server, PostgreSQL, RabbitMQ, MariaDB and memcached from Debian,
// started by the harness).
// After recording, the data is rewritten and the servers stopped, their ports taken by
// listeners that count connections: the replay must be served from the log alone.

export const SERVICES = [
  ...[
    ['bullmq', 'a child process'],
    ['bullmq-threads', 'a worker thread'],
  ].map(([name, where]) => ({
    name,
    what: `bullmq 5 against redis-server: a queue, a worker (concurrency 2, a failed attempt retried after a backoff), queue events, then a sandboxed processor in ${where}`,
    fast: name === 'bullmq',
    packages: { bullmq: '5.81.5' },
    services: ['redis'],
    setup: async (ctx) => {
      await ctx.redis.cli('FLUSHALL');
    },
    env: name === 'bullmq-threads' ? { THREADS: '1' } : {},
    files: {
      'processor.js': `module.exports = async (job) => {
  await new Promise((r) => setTimeout(r, 20));
  return { sandboxed: job.data.n * 2, r: Math.random() < 1, pid: typeof process.pid };
};
`,
      'main.js': `const { Queue, Worker, QueueEvents, FlowProducer } = require('bullmq');
const path = require('node:path');
const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT), maxRetriesPerRequest: null };
async function main() {
  const name = 'jobs';
  const queue = new Queue(name, { connection });
  await queue.obliterate({ force: true });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const done = [];
  const worker = new Worker(name, async (job) => {
    await job.updateProgress(50);
    if (job.data.n === 3 && job.attemptsMade === 0) throw new Error('first attempt fails');
    await new Promise((r) => setTimeout(r, 5 + job.data.n));
    return { n: job.data.n, square: job.data.n * job.data.n, at: Date.now() > 0, id: crypto.randomUUID().length };
  }, { connection, concurrency: 2 });
  worker.on('failed', (job, err) => console.log('failed', job.name, err.message));
  const all = new Promise((resolve) => events.on('completed', ({ jobId, returnvalue }) => { done.push(jobId); if (done.length === 5) resolve(); }));
  for (let n = 1; n <= 5; n++) await queue.add('job' + n, { n, r: Math.random() }, { attempts: 2, backoff: { type: 'fixed', delay: 30 }, jobId: 'j' + n });
  await all;
  const results = await Promise.all([1, 2, 3, 4, 5].map(async (n) => (await queue.getJob('j' + n)).returnvalue));
  console.log('results', JSON.stringify(results));
  console.log('counts', JSON.stringify(await queue.getJobCounts('completed', 'failed', 'waiting')));
  await worker.close();
  // A sandboxed processor (a child process)
  const sq = new Queue('sandboxed', { connection });
  await sq.obliterate({ force: true });
  const sw = new Worker('sandboxed', path.join(__dirname, 'processor.js'), { connection, useWorkerThreads: process.env.THREADS === '1' });
  const sevents = new QueueEvents('sandboxed', { connection });
  await sevents.waitUntilReady();
  const job = await sq.add('s', { n: 21 });
  console.log('sandboxed', JSON.stringify(await job.waitUntilFinished(sevents, 10000)));
  await sw.close();
  await Promise.all([sevents.close(), sq.close(), events.close(), queue.close()]);
  console.log('closed');
}
main().catch((e) => { console.error(e); process.exit(1); });
`,
    },
    command: ['node', 'main.js'],
    changeWorld: async (ctx) => {
      await ctx.redis.cli('FLUSHALL');
    },
  })),
  {
    name: 'bullmq-flow',
    what: 'bullmq 5 against redis-server: a flow (a parent job waiting for its children), a delayed job, a job retried with exponential backoff, priorities, job logs',
    fast: true,
    packages: { bullmq: '5.81.5' },
    services: ['redis'],
    setup: async (ctx) => {
      await ctx.redis.cli('FLUSHALL');
    },
    files: {
      'main.js': `const { Queue, Worker, QueueEvents, FlowProducer } = require('bullmq');
const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT), maxRetriesPerRequest: null };
async function main() {
  const name = 'flows';
  const queue = new Queue(name, { connection });
  await queue.obliterate({ force: true });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const attempts = {};
  const worker = new Worker(name, async (job) => {
    attempts[job.id] = (attempts[job.id] ?? 0) + 1;
    await job.log('attempt ' + attempts[job.id] + ' at ' + Date.now());
    if (job.name === 'flaky' && job.attemptsMade < 2) throw new Error('flaky attempt ' + (job.attemptsMade + 1));
    if (job.name === 'parent') {
      const values = Object.entries(await job.getChildrenValues()).sort(([a], [b]) => a.localeCompare(b));
      return { children: values.map(([k, v]) => k.split(':').pop() + '=' + v.v), sum: values.reduce((a, [, v]) => a + v.v, 0) };
    }
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 15)));
    return { v: job.data.n * 10 + Math.floor(Math.random() * 10), at: Date.now() };
  }, { connection, concurrency: 3 });
  worker.on('failed', (job, err) => console.log('failed', job.id, err.message));
  const ids = ['flaky', 'late', 'p1', 'p2', 'p3', 'c1', 'c2', 'c3', 'parent'];
  const done = new Promise((resolve) => {
    const seen = new Set();
    events.on('completed', ({ jobId }) => { seen.add(jobId); if (seen.size === ids.length) resolve(); });
  });
  const added = Date.now();
  await queue.add('flaky', { n: 1 }, { jobId: 'flaky', attempts: 3, backoff: { type: 'exponential', delay: 40 } });
  await queue.add('late', { n: 2, r: Math.random() }, { jobId: 'late', delay: 250 });
  for (const p of [3, 1, 2]) await queue.add('prio', { n: 10 + p }, { jobId: 'p' + p, priority: p });
  const flow = new FlowProducer({ connection });
  const tree = await flow.add({
    name: 'parent', queueName: name, opts: { jobId: 'parent' }, data: { at: Date.now() },
    children: [1, 2, 3].map((n) => ({ name: 'child', queueName: name, data: { n: 20 + n }, opts: { jobId: 'c' + n } })),
  });
  console.log('flow', tree.job.id, tree.children.map((c) => c.job.id).sort().join(','));
  await done;
  for (const id of ids) {
    const job = await queue.getJob(id);
    const { logs } = await queue.getJobLogs(id);
    console.log(id, 'attempts', job.attemptsMade, 'logs', logs.length, JSON.stringify(job.returnvalue));
  }
  const late = await queue.getJob('late');
  console.log('late waited', late.processedOn - added >= 250, late.processedOn - added);
  const flaky = await queue.getJob('flaky');
  console.log('flaky took', flaky.finishedOn - flaky.timestamp >= 120, JSON.stringify(flaky.stacktrace));
  console.log('counts', JSON.stringify(await queue.getJobCounts('completed', 'failed', 'delayed', 'waiting-children')));
  await worker.close();
  await Promise.all([flow.close(), events.close(), queue.close()]);
  console.log('closed');
}
main().catch((e) => { console.error(e); process.exit(1); });
`,
    },
    command: ['node', 'main.js'],
    // Another program's data where this one's was: a replay that asked redis would see it.
    changeWorld: async (ctx) => {
      await ctx.redis.cli('FLUSHALL');
      await ctx.redis.cli('SET', 'bull:flows:id', '1000');
      await ctx.redis.cli('HSET', 'bull:flows:parent', 'name', 'someone else', 'data', '{}');
    },
  },
  {
    name: 'redis',
    what: 'ioredis 5 against redis-server: strings, a hash, a list, a pipeline, pub/sub',
    packages: { ioredis: '5.4.2' },
    services: ['redis'],
    setup: async (ctx) => {
      await ctx.redis.cli('FLUSHALL');
      await ctx.redis.cli('SET', 'greeting', 'hello from the world as recorded');
    },
    files: {
      'main.mjs': `import Redis from 'ioredis';
const opts = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT), maxRetriesPerRequest: 0 };
const redis = new Redis(opts);
const sub = new Redis(opts);
console.log('greeting:', await redis.get('greeting'));
await redis.set('visits', 0);
for (let i = 0; i < 5; i++) await redis.incrby('visits', Math.ceil(Math.random() * 10));
await redis.hset('user:1', { name: 'ada', at: String(Date.now()) });
console.log('user:', JSON.stringify(await redis.hgetall('user:1')));
console.log('pipeline:', JSON.stringify(await redis.pipeline().rpush('l', 'a', 'b', 'c').lrange('l', 0, -1).get('visits').exec()));
await sub.subscribe('news');
const got = new Promise((r) => sub.on('message', (ch, m) => r(ch + ': ' + m)));
await redis.publish('news', 'published at ' + new Date().toISOString());
console.log('message', await got);
await sub.quit();
await redis.quit();
`,
    },
    command: ['node', 'main.mjs'],
    changeWorld: async (ctx) => {
      await ctx.redis.cli('FLUSHALL');
      await ctx.redis.cli('SET', 'greeting', 'the world changed');
    },
  },
  {
    name: 'pg',
    what: 'pg 8 against PostgreSQL: a table created, rows inserted in a transaction, queried, two queries in parallel on a pool',
    packages: { pg: '8.13.1' },
    services: ['pg'],
    setup: async (ctx) => {
      await ctx.pg.sql(
        'DROP TABLE IF EXISTS visits; CREATE TABLE visits (id serial primary key, who text, at timestamptz default now())',
      );
      await ctx.pg.sql("INSERT INTO visits (who) VALUES ('seed')");
    },
    files: {
      'main.mjs': `import pg from 'pg';
const pool = new pg.Pool({ max: 2 });
const client = await pool.connect();
await client.query('BEGIN');
for (let i = 0; i < 3; i++) await client.query('INSERT INTO visits (who) VALUES ($1)', ['visitor-' + Math.floor(Math.random() * 1000)]);
await client.query('COMMIT');
client.release();
const { rows } = await pool.query('SELECT count(*)::int AS n, min(who) AS first FROM visits');
console.log('rows', JSON.stringify(rows));
const [a, b] = await Promise.all([pool.query('SELECT pg_sleep(0.05), 1 AS one'), pool.query('SELECT now() AS t')]);
console.log('parallel', a.rows[0].one, b.rows[0].t instanceof Date);
await pool.end();
`,
    },
    command: ['node', 'main.mjs'],
    changeWorld: async (ctx) => {
      await ctx.pg.sql("TRUNCATE visits; INSERT INTO visits (who) VALUES ('someone else')");
    },
  },
  {
    name: 'amqplib',
    what: 'amqplib 2 against RabbitMQ 3.10: a confirm channel publishing, a consumer with prefetch 2 acking out of order and one message nacked and redelivered, a fanout exchange, basic.get polling',
    packages: { amqplib: '2.3.1' },
    services: ['rabbitmq'],
    files: {
      'main.mjs': `import amqp from 'amqplib';
const url = process.env.AMQP_URL;
const conn = await amqp.connect(url);
const ch = await conn.createChannel();
const q = 'jobs';
await ch.assertQueue(q, { durable: false, autoDelete: false });
await ch.purgeQueue(q);
await ch.prefetch(2);
const done = [];
let resolveAll;
const all = new Promise((r) => (resolveAll = r));
await ch.consume(q, async (msg) => {
  if (!msg) return;
  const body = JSON.parse(msg.content.toString());
  await new Promise((r) => setTimeout(r, body.delay));
  if (body.n === 3 && !msg.fields.redelivered) { ch.nack(msg, false, true); return; }
  done.push(\`\${body.n}\${msg.fields.redelivered ? ' (redelivered)' : ''}\`);
  ch.ack(msg);
  if (done.length === 5) resolveAll();
}, { noAck: false });
const pubCh = await conn.createConfirmChannel();
for (let n = 1; n <= 5; n++) pubCh.sendToQueue(q, Buffer.from(JSON.stringify({ n, delay: Math.floor(Math.random() * 20), at: Date.now() })), { persistent: false, messageId: crypto.randomUUID() });
await pubCh.waitForConfirms();
console.log('published, confirmed');
await all;
console.log('consumed:', done.length, done.includes('3 (redelivered)'));
const ex = 'fanout-probe';
await ch.assertExchange(ex, 'fanout', { durable: false });
const { queue } = await ch.assertQueue('', { exclusive: true });
await ch.bindQueue(queue, ex, '');
ch.publish(ex, '', Buffer.from('broadcast'));
let got;
for (let i = 0; i < 50 && !(got = await ch.get(queue, { noAck: true })); i++) await new Promise((r) => setTimeout(r, 10));
console.log('get:', got && got.content.toString());
await ch.deleteQueue(q);
await pubCh.close();
await ch.close();
await conn.close();
console.log('closed');
`,
    },
    command: ['node', 'main.mjs'],
  },
  {
    name: 'mysql2',
    what: 'mysql2 3 against MariaDB 10.11: a pool (password handshake), a table created, random rows inserted in a transaction and one rolled back, prepared statements (execute), two queries in parallel',
    fast: true,
    packages: { mysql2: '3.26.1' },
    services: ['mariadb'],
    setup: async (ctx) => {
      await ctx.mariadb.sql('DROP TABLE IF EXISTS visits, notes');
    },
    files: {
      'main.mjs': `import mysql from 'mysql2/promise';
import crypto from 'node:crypto';
const pool = mysql.createPool({ uri: process.env.MYSQL_URL, connectionLimit: 2, timezone: 'Z' });
await pool.query('CREATE TABLE visits (id INT AUTO_INCREMENT PRIMARY KEY, who VARCHAR(64) NOT NULL, score DOUBLE, token BINARY(8), at DATETIME(3) DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB');
const conn = await pool.getConnection();
await conn.beginTransaction();
for (let i = 0; i < 4; i++) {
  const [r] = await conn.query('INSERT INTO visits (who, score, token) VALUES (?, ?, ?)', ['visitor-' + Math.floor(Math.random() * 1000), Math.random(), crypto.randomBytes(8)]);
  console.log('inserted', r.insertId, r.affectedRows);
}
await conn.commit();
await conn.beginTransaction();
await conn.query("INSERT INTO visits (who) VALUES ('ghost')");
await conn.rollback();
conn.release();
const [rows] = await pool.execute('SELECT id, who, score, HEX(token) AS token, at FROM visits WHERE id >= ? ORDER BY id', [1]);
for (const r of rows) console.log('row', r.id, r.who, r.score, r.token, r.at instanceof Date);
const threshold = Math.random() / 2;
const [[above]] = await pool.execute('SELECT COUNT(*) AS n, MAX(score) AS top FROM visits WHERE score > ?', [threshold]);
console.log('above', threshold, JSON.stringify(above));
const [[ghosts]] = await pool.execute('SELECT COUNT(*) AS n FROM visits WHERE who = ?', ['ghost']);
console.log('ghosts', ghosts.n);
const [[a], [b]] = await Promise.all([
  pool.query('SELECT SLEEP(0.05) AS slept, CONNECTION_ID() AS c, 1 AS one'),
  pool.query('SELECT NOW(3) AS t, VERSION() AS v, CONNECTION_ID() AS c, SUM(score) AS total FROM visits'),
]);
console.log('parallel', a[0].one, a[0].slept, b[0].t instanceof Date, b[0].v, a[0].c !== b[0].c, b[0].total);
await pool.end();
console.log('closed');
`,
    },
    command: ['node', 'main.mjs'],
    // Another program's table where this one's was: a replay that asked MariaDB would see it.
    changeWorld: async (ctx) => {
      await ctx.mariadb.sql(
        "ALTER TABLE visits DROP COLUMN token, ADD COLUMN note TEXT; DELETE FROM visits; INSERT INTO visits (who, score, note) VALUES ('someone else', 2, 'changed')",
      );
    },
  },
  {
    name: 'memcached',
    what: 'memjs 1.3 against memcached 1.6 (binary protocol): sets with TTLs (one seen expiring), gets, a miss, add refused, increments, touch, append, a delete, several operations in parallel',
    fast: true,
    packages: { memjs: '1.3.2' },
    services: ['memcached'],
    setup: async (ctx) => {
      await ctx.memcached.cmd('flush_all');
      await ctx.memcached.set('greeting', 'hello from the world as recorded', 300);
    },
    files: {
      'main.mjs': `import memjs from 'memjs';
const mc = memjs.Client.create(process.env.MEMCACHE_SERVERS, { retries: 0, timeout: 2, conntimeout: 2 });
const show = (r) => (r.value === null ? 'miss' : r.value.toString());
console.log('greeting:', show(await mc.get('greeting')));
console.log('miss:', show(await mc.get('nobody-' + Math.floor(Math.random() * 1e6))));
const token = Math.random().toString(36).slice(2);
console.log('set', await mc.set('token', token, { expires: 300 }), token);
console.log('add over it', await mc.add('token', 'other', { expires: 300 }));
console.log('set short', await mc.set('short', 'gone soon', { expires: 1 }));
console.log('visits', JSON.stringify(await mc.increment('visits', 1, { initial: 10, expires: 300 })));
for (let i = 0; i < 3; i++) console.log('visits', JSON.stringify(await mc.increment('visits', Math.ceil(Math.random() * 10))));
console.log('decrement', JSON.stringify(await mc.decrement('visits', 2, {})));
console.log('touch', await mc.touch('token', 600), await mc.touch('nobody', 600));
console.log('append', await mc.append('greeting', ' (and appended)'), show(await mc.get('greeting')));
const parallel = await Promise.all([
  mc.set('a', 'A' + Date.now(), { expires: 60 }),
  mc.set('b', JSON.stringify({ r: Math.random() }), { expires: 60 }),
  mc.get('token'),
  mc.get('visits'),
  mc.increment('hits', 5, { initial: 0 }),
  mc.get('missing'),
  mc.delete('greeting'),
]);
console.log('parallel', JSON.stringify(parallel.map((r) => (typeof r === 'object' && r && 'value' in r && Buffer.isBuffer(r.value) ? r.value.toString() : r))));
const [a, b] = await Promise.all([mc.get('a'), mc.get('b')]);
console.log('a b', show(a).startsWith('A'), JSON.parse(show(b)).r < 1);
console.log('greeting after delete:', show(await mc.get('greeting')));
await new Promise((r) => setTimeout(r, 2100));
console.log('short after 2.1 s:', show(await mc.get('short')));
console.log('token still:', show(await mc.get('token')) === token);
mc.close();
console.log('closed');
`,
    },
    command: ['node', 'main.mjs'],
    // Another program's values where this one's were: a replay that asked memcached would see them.
    changeWorld: async (ctx) => {
      await ctx.memcached.cmd('flush_all');
      await ctx.memcached.set('greeting', 'the world changed');
      await ctx.memcached.set('token', 'someone else');
      await ctx.memcached.set('visits', '1000');
    },
  },
];
