// Helpers of the ecosystem suite: processes with time limits, file-tree hashes, free ports,
// listeners that count what reaches them, and the redis / PostgreSQL / RabbitMQ / MariaDB /
// memcached services.
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Every process group started here, so that Ctrl-C and failures can end them all. */
const running = new Set();

export function killAll() {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
  running.clear();
}

/**
 * Runs argv to completion in its own process group (so a time-out ends its children too),
 * collecting stdout and stderr as Buffers. Never rejects on a bad status.
 */
export function run(argv, { cwd, env, timeoutMs = 120_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0], argv.slice(1), {
      cwd,
      env,
      detached: true,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    running.add(child);
    if (input !== undefined) child.stdin.end(input);
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      running.delete(child);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      running.delete(child);
      // Whatever the command left behind in its group (a daemonised grandchild) goes too.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      resolve({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        status,
        signal,
        ms: performance.now() - started,
        timedOut,
      });
    });
  });
}

/** Like run(), but throws with the output when the command fails: for setup steps. */
export async function must(argv, opts = {}) {
  const r = await run(argv, opts);
  if (r.status !== 0) {
    const tail = (r.stderr.toString() + r.stdout.toString()).trim().split('\n').slice(-15).join('\n');
    throw new Error(
      `${argv.join(' ')} failed (${r.timedOut ? 'timed out' : `status ${r.status ?? r.signal}`}):\n${tail}`,
    );
  }
  return r;
}

/** How a run ended, in words: "exit 0", "signal SIGKILL", "timed out". */
export function ending(r) {
  if (r.timedOut) return 'timed out';
  return r.signal ? `signal ${r.signal}` : `exit ${r.status}`;
}

/** sha256 of every file under dir (paths relative), skipping the named directories. */
export function hashTree(dir, skip = ['node_modules', '.git']) {
  const hashes = {};
  const walk = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) {
        if (!skip.includes(e.name)) walk(p);
      } else if (e.isFile()) {
        hashes[rel] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex').slice(0, 16);
      } else if (e.isSymbolicLink()) {
        hashes[rel] = 'link:' + fs.readlinkSync(p);
      }
    }
  };
  walk(dir);
  return hashes;
}

/** The differences between two hashTree() results, in words (empty when none). */
export function treeChanges(before, after) {
  const changes = [];
  for (const k of Object.keys(before)) {
    if (!(k in after)) changes.push(`deleted ${k}`);
    else if (before[k] !== after[k]) changes.push(`changed ${k}`);
  }
  for (const k of Object.keys(after)) if (!(k in before)) changes.push(`created ${k}`);
  return changes;
}

export function dirSize(dir) {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath ?? e.path, e.name)).size;
  }
  return total;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Listens on a port (TCP on 127.0.0.1, or UDP) during a replay and counts every connection or
 * datagram that arrives: a faithful replay sends nothing, so the count must stay 0.
 */
export async function countingListener(port, kind = 'tcp') {
  let count = 0;
  if (kind === 'udp') {
    const sock = dgram.createSocket('udp4');
    sock.on('message', () => count++);
    await new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, '127.0.0.1', resolve);
    });
    return {
      get count() {
        return count;
      },
      close: () => new Promise((r) => sock.close(r)),
    };
  }
  const server = net.createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    get count() {
      return count;
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves when `child` has exited, or after `ms`: the timer is cleared once it exits (a
 * timer left pending kept the runner alive for its whole length after every service stopped).
 */
function exitedWithin(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Polls check() every 100 ms until it returns true; throws after timeoutMs. */
export async function waitUntil(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

function has(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs Debian packages when a command is missing (we are root; only Debian and npm are reachable). */
export async function ensureDebian(commands, packages) {
  if (commands.every((c) => has(c) || fs.existsSync(c))) return;
  console.error(`ecosystem: installing ${packages.join(', ')} from Debian…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await must(['apt-get', 'update', '-qq'], { env, timeoutMs: 300_000 });
  await must(['apt-get', 'install', '-y', '-qq', ...packages], { env, timeoutMs: 600_000 });
}

/** Data directories of services: removed at exit whatever happened (Ctrl-C mid-start too). */
const serviceDirs = new Set();
/** Servers that run in a session of their own (pg_ctl's postmaster), by pid. */
const daemonPids = new Set();
process.on('exit', () => {
  killAll();
  for (const pid of daemonPids) {
    try {
      process.kill(pid, 'SIGQUIT'); // PostgreSQL's immediate shutdown
    } catch {}
  }
  for (const d of serviceDirs) fs.rmSync(d, { recursive: true, force: true });
});

function serviceDir(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rewind-eco-${name}-`));
  serviceDirs.add(dir);
  return dir;
}

/**
 * A service the suite starts on demand, on a free port, with its data in a temp dir. Its
 * server runs in a process group of its own (spawnServer); stop() sends it SIGTERM (the
 * whole group when `termGroup`), waits up to `stopWithinMs` for it to exit, then kills the group.
 */
class Service {
  constructor(name, { stopWithinMs = 10_000, termGroup = false } = {}) {
    this.name = name;
    this.port = 0;
    this.up = false;
    this.stopWithinMs = stopWithinMs;
    this.termGroup = termGroup;
  }
  /** Starts the server, which the suite's cleanup kills if it is still running then. */
  spawnServer(file, args, options = {}) {
    const child = spawn(file, args, { stdio: 'ignore', detached: true, ...options });
    running.add(child);
    child.on('exit', () => running.delete(child));
    this.child = child;
  }
  async stop() {
    if (!this.up) return;
    this.up = false;
    const child = this.child;
    const exited = exitedWithin(child, this.stopWithinMs);
    try {
      if (this.termGroup) process.kill(-child.pid, 'SIGTERM');
      else child.kill('SIGTERM');
    } catch {}
    await exited;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
  async destroy() {
    await this.stop();
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export class Redis extends Service {
  constructor() {
    super('redis');
  }
  async start() {
    if (this.up) return;
    await ensureDebian(['redis-server', 'redis-cli'], ['redis-server']);
    if (!this.dir) this.dir = serviceDir('redis');
    if (!this.port) this.port = await freePort();
    this.spawnServer('redis-server', [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    await waitUntil('redis-server to answer PING', async () => (await this.cli('PING')) === 'PONG');
    this.up = true;
  }
  async cli(...args) {
    const r = await run(['redis-cli', '-h', '127.0.0.1', '-p', String(this.port), ...args], { timeoutMs: 10_000 });
    if (r.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.toString().trim();
  }
}

/**
 * RabbitMQ from Debian, run as root from its own scripts (the packaged wrapper switches to the
 * rabbitmq user), with its node name, ports, data, logs and Erlang cookie (HOME) in a temp dir.
 * Its epmd daemon runs on a port of its own and is ended with it.
 */
export class RabbitMQ extends Service {
  constructor() {
    super('rabbitmq', { stopWithinMs: 15_000, termGroup: true });
  }
  static SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
  async start() {
    if (this.up) return;
    await ensureDebian([RabbitMQ.SERVER, 'epmd'], ['rabbitmq-server']);
    if (!this.dir) this.dir = serviceDir('rabbitmq');
    if (!this.port) {
      this.port = await freePort();
      this.distPort = await freePort();
      this.epmdPort = await freePort();
    }
    fs.writeFileSync(
      path.join(this.dir, 'rabbitmq.conf'),
      `listeners.tcp.default = 127.0.0.1:${this.port}\nloopback_users = none\n`,
    );
    fs.writeFileSync(path.join(this.dir, 'enabled_plugins'), '[].\n');
    this.spawnServer(RabbitMQ.SERVER, [], {
      env: {
        ...process.env,
        HOME: this.dir,
        RABBITMQ_NODENAME: `rewind-eco-${this.port}@localhost`,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(this.port),
        RABBITMQ_DIST_PORT: String(this.distPort),
        ERL_EPMD_PORT: String(this.epmdPort),
        RABBITMQ_MNESIA_BASE: path.join(this.dir, 'mnesia'),
        RABBITMQ_LOG_BASE: path.join(this.dir, 'log'),
        RABBITMQ_CONFIG_FILE: path.join(this.dir, 'rabbitmq'),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(this.dir, 'enabled_plugins'),
        RABBITMQ_PID_FILE: path.join(this.dir, 'pid'),
      },
    });
    await waitUntil(
      'rabbitmq-server to accept connections',
      () =>
        new Promise((resolve) => {
          const c = net.connect(this.port, '127.0.0.1');
          c.on('connect', () => {
            c.destroy();
            resolve(true);
          });
          c.on('error', () => resolve(false));
        }),
      60_000,
    );
    this.up = true;
  }
  get url() {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }
  async stop() {
    if (!this.up) return;
    await super.stop();
    // epmd made itself a daemon: asked to end (it refuses while a node is registered).
    await run(['epmd', '-port', String(this.epmdPort), '-kill'], { timeoutMs: 10_000 });
  }
}

/** PostgreSQL from Debian, run as the postgres user (initdb refuses root), trust auth on 127.0.0.1. */
export class Postgres extends Service {
  constructor() {
    super('pg');
  }
  bin(name) {
    for (const v of ['17', '16', '15', '14', '13']) {
      const p = `/usr/lib/postgresql/${v}/bin/${name}`;
      if (fs.existsSync(p)) return p;
    }
    return name;
  }
  asPostgres(argv) {
    return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...argv] : argv;
  }
  async start() {
    if (this.up) return;
    await ensureDebian(['psql', this.bin('initdb')], ['postgresql']);
    if (!this.dir) {
      this.dir = serviceDir('pg');
      fs.chmodSync(this.dir, 0o777);
      if (process.getuid?.() === 0) execFileSync('chown', ['postgres', this.dir]);
      await must(
        this.asPostgres([
          this.bin('initdb'),
          '-D',
          path.join(this.dir, 'data'),
          '-U',
          'postgres',
          '--auth=trust',
          '-E',
          'UTF8',
          '--no-sync',
        ]),
        {
          timeoutMs: 120_000,
        },
      );
    }
    if (!this.port) this.port = await freePort();
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    const pidFile = path.join(this.dir, 'data', 'postmaster.pid');
    try {
      await must(
        this.asPostgres([
          this.bin('pg_ctl'),
          '-D',
          path.join(this.dir, 'data'),
          '-o',
          opts,
          '-l',
          path.join(this.dir, 'log'),
          '-w',
          '-t',
          '60',
          'start',
        ]),
        {
          timeoutMs: 90_000,
        },
      );
    } finally {
      try {
        this.pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
        daemonPids.add(this.pid);
      } catch {}
    }
    this.up = true;
  }
  async sql(query) {
    const r = await run(
      [
        'psql',
        '-h',
        '127.0.0.1',
        '-p',
        String(this.port),
        '-U',
        'postgres',
        '-At',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        query,
      ],
      {
        timeoutMs: 20_000,
      },
    );
    if (r.status !== 0) throw new Error(`psql ${query}: ${r.stderr}`);
    return r.stdout.toString().trim();
  }
  async stop() {
    if (!this.up) return;
    this.up = false;
    const r = await run(
      this.asPostgres([
        this.bin('pg_ctl'),
        '-D',
        path.join(this.dir, 'data'),
        '-m',
        'immediate',
        '-w',
        '-t',
        '30',
        'stop',
      ]),
      {
        timeoutMs: 40_000,
      },
    );
    if (r.status === 0) daemonPids.delete(this.pid);
  }
}

/**
 * MariaDB from Debian: mariadb-install-db into a temp dir, then mariadbd on a free port of
 * 127.0.0.1 with its socket, pid file and error log there, run as the mysql user when we are
 * root (it drops privileges itself). root has no password and is for the suite's own client
 * (over the socket); programs log in over TCP as rewind, with a password (the handshake's
 * scramble), to the rewind database.
 */
export class MariaDB extends Service {
  constructor() {
    super('mariadb', { stopWithinMs: 30_000 });
  }
  // In /usr/sbin, which a user's PATH may not have.
  static SERVER = '/usr/sbin/mariadbd';
  asUser() {
    return process.getuid?.() === 0 ? ['--user=mysql'] : [];
  }
  get socket() {
    return path.join(this.dir, 'mysqld.sock');
  }
  async start() {
    if (this.up) return;
    await ensureDebian([MariaDB.SERVER, 'mariadb-install-db', 'mariadb'], ['mariadb-server']);
    if (!this.dir) {
      this.dir = serviceDir('mariadb');
      if (process.getuid?.() === 0) execFileSync('chown', ['mysql', this.dir]);
      await must(
        [
          'mariadb-install-db',
          '--no-defaults',
          `--datadir=${path.join(this.dir, 'data')}`,
          ...this.asUser(),
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--skip-name-resolve',
        ],
        { timeoutMs: 120_000 },
      );
    }
    if (!this.port) this.port = await freePort();
    this.spawnServer(MariaDB.SERVER, [
      '--no-defaults',
      `--datadir=${path.join(this.dir, 'data')}`,
      ...this.asUser(),
      '--skip-networking=0',
      '--bind-address=127.0.0.1',
      `--port=${this.port}`,
      `--socket=${this.socket}`,
      `--pid-file=${path.join(this.dir, 'mariadbd.pid')}`,
      `--log-error=${path.join(this.dir, 'error.log')}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
    ]);
    try {
      await waitUntil(
        'mariadbd to answer on its socket',
        async () => (await this.sql('SELECT 1', null)) === '1',
        60_000,
      );
    } catch (e) {
      let log = '';
      try {
        log = fs.readFileSync(path.join(this.dir, 'error.log'), 'utf8').trim().split('\n').slice(-3).join(' / ');
      } catch {}
      throw new Error(`${e.message}; mariadbd's error log ends: ${log}`, { cause: e });
    }
    await this.sql(
      "CREATE DATABASE IF NOT EXISTS rewind; CREATE USER IF NOT EXISTS 'rewind'@'%' IDENTIFIED BY 'rewind-eco'; " +
        "GRANT ALL ON rewind.* TO 'rewind'@'%'",
      null,
    );
    this.up = true;
  }
  get url() {
    return `mysql://rewind:rewind-eco@127.0.0.1:${this.port}/rewind`;
  }
  /** Runs SQL as root over the socket, in the database db (default rewind); tab-separated rows. */
  async sql(query, db = 'rewind') {
    const r = await run(
      [
        'mariadb',
        '--no-defaults',
        `--socket=${this.socket}`,
        '-u',
        'root',
        '-N',
        '-B',
        ...(db ? ['-D', db] : []),
        '-e',
        query,
      ],
      { timeoutMs: 20_000 },
    );
    if (r.status !== 0) throw new Error(`mariadb ${query}: ${r.stderr}`);
    return r.stdout.toString().trim();
  }
}

/** memcached from Debian on a free port of 127.0.0.1 (as the memcache user when we are root). */
export class Memcached extends Service {
  constructor() {
    super('memcached');
  }
  async start() {
    if (this.up) return;
    await ensureDebian(['memcached'], ['memcached']);
    if (!this.port) this.port = await freePort();
    this.spawnServer('memcached', [
      '-l',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-U',
      '0',
      '-m',
      '64',
      ...(process.getuid?.() === 0 ? ['-u', 'memcache'] : []),
    ]);
    await waitUntil('memcached to answer version', async () => (await this.cmd('version')).startsWith('VERSION '));
    this.up = true;
  }
  get servers() {
    return `127.0.0.1:${this.port}`;
  }
  /**
   * Sends text-protocol commands (lines joined by \r\n) and then quit: resolves with all the
   * server answered before it closed the connection; rejects after 10 s.
   */
  cmd(...lines) {
    return new Promise((resolve, reject) => {
      const out = [];
      const c = net.connect(this.port, '127.0.0.1');
      const timer = setTimeout(() => {
        c.destroy();
        reject(new Error(`memcached ${lines[0]}: no answer in 10 s`));
      }, 10_000);
      c.on('connect', () => c.end([...lines, 'quit', ''].join('\r\n')));
      c.on('data', (b) => out.push(b));
      c.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      c.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(out).toString());
      });
    });
  }
  /** Sets key to value (a string) with a TTL in seconds (0: none); throws unless STORED. */
  async set(key, value, ttl = 0) {
    const r = await this.cmd(`set ${key} 0 ${ttl} ${Buffer.byteLength(value)}`, value);
    if (!r.startsWith('STORED')) throw new Error(`memcached set ${key}: ${r.trim()}`);
  }
}
