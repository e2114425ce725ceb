// Record→replay conformance for the outside world: sockets, HTTP servers and clients,
// fetch, child processes and stdin. Each recording is replayed on a machine where the
// outside world has changed or is gone — the peer server stopped, the port taken by
// someone else, the files changed — and the replay must still print the same bytes and
// end the same way, without doing the I/O again.
import { crc32 } from 'node:zlib';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  BIN,
  NODE,
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  fixture,
  record,
  recordAndReplay,
  runPlain,
  replay,
  rewind,
  run,
  start,
  tempDir,
  type EventJson,
} from './helpers.js';

afterAll(cleanupTempDirs);

/** Starts a plain (unrecorded) peer fixture that prints `listening PORT`. */
async function peer(name: string, args: string[] = []) {
  const p = start(NODE, [fixture(name), ...args]);
  const [, port] = await p.waitFor(/listening (\d+)/);
  return {
    port,
    async stop() {
      p.child.kill('SIGTERM');
      await p.done;
    },
  };
}

/** Holds a TCP port so that nobody else can bind it. */
async function occupy(port: number): Promise<net.Server> {
  const blocker = net.createServer();
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(port, '127.0.0.1', resolve);
  });
  return blocker;
}

/** Each op's writes, in order, from `rewind events --json`. */
function writesByOp(events: EventJson[]): Map<number, { length: number; crc: number }[]> {
  const byOp = new Map<number, { length: number; crc: number }[]>();
  for (const ev of events) {
    if (ev.call !== 'stream write') continue;
    const list = byOp.get(ev.op as number) ?? [];
    list.push({ length: ev.length as number, crc: ev.crc as number });
    byOp.set(ev.op as number, list);
  }
  return byOp;
}

/** True when `bytes` is exactly these writes, one after another. */
function tiles(bytes: Buffer, writes: { length: number; crc: number }[]): boolean {
  let at = 0;
  for (const w of writes) {
    if (crc32(bytes.subarray(at, at + w.length)) !== w.crc) return false;
    at += w.length;
  }
  return at === bytes.length;
}

describe.concurrent('record → replay without the outside world', () => {
  it('an HTTP API server under 2,000 keep-alive requests from another process: byte-identical responses, no port opened', async ({
    expect,
  }) => {
    const data = tempDir('rewind-api-data-');
    for (const f of fs.readdirSync(fixture('io/data')))
      fs.copyFileSync(path.join(fixture('io/data'), f), path.join(data, f));
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const server = start(NODE, [BIN, 'record', '--out', dir, '--', NODE, fixture('io/api-server.mjs'), data, '2000'], {
      cwd: tempDir(),
    });
    const [, port] = await server.waitFor(/listening (\d+)/);
    const load = await run(NODE, [fixture('io/load.mjs'), port, '8', '250']);
    expect(load.status, describeRun('load generator', load)).toBe(0);
    const recorded = await server.done;
    expect(recorded.status, describeRun('record', recorded)).toBe(0);
    expect(recorded.stdout.toString()).toBe(`listening ${port}\nserved 2000\n`);

    // What each client received is, write by write, what the recording holds for one
    // of the server's sockets: the replay's writes are checked against these.
    const received = (JSON.parse(load.stdout.toString()).received as string[]).map((h) => Buffer.from(h, 'hex'));
    expect(received).toHaveLength(8);
    const writes = writesByOp(await eventsOf(dir));
    const matched = new Set<number>();
    for (const bytes of received) {
      const op = [...writes].find(([o, w]) => !matched.has(o) && tiles(bytes, w))?.[0];
      expect(op, 'a connection whose bytes match no socket in the recording').toBeDefined();
      matched.add(op!);
    }

    // Replay with the data files gone and the port taken: no read, no bind can succeed.
    fs.rmSync(data, { recursive: true, force: true });
    const blocker = await occupy(Number(port));
    try {
      const rep = await replay(dir);
      expectReplayMatches(expect, { record: { ...recorded, dir }, replay: rep });
    } finally {
      blocker.close();
    }
  });

  it('fetch and http.get against a server in another process replay after that server stopped', async ({ expect }) => {
    const server = await peer('io/http-peer.mjs');
    let rec;
    try {
      rec = await record('io/http-client.mjs', [server.port]);
    } finally {
      await server.stop();
    }
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const out = rec.stdout.toString();
    expect(out).toMatch(/^fetch json 200 application\/json \{"served":1,"random":0\.\d+,"url":"\/json"\}$/m);
    expect(out).toMatch(/^fetch stream 200 true \d+$/m);
    expect(out).toMatch(/^fetch post echo 1 payload 0\.\d+$/m);
    expect(out).toMatch(/^fetch aborted TimeoutError$/m);
    expect(out).toMatch(/^http\.get 200 5 \{"served":5,/m);
    // Nothing listens on that port any more: a real request would fail.
    const rep = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: rep });
  });

  it("an http server's connections read by Node's HTTP parser, as without rewind: pipelining, split heads, bodies, parse errors, upgrades", async ({
    expect,
  }) => {
    const [r, plain] = await Promise.all([
      recordAndReplay('io/http-consumed.cjs'),
      run(NODE, [fixture('io/http-consumed.cjs')]),
    ]);
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const out = r.record.stdout.toString();
    // The parser consumes the sockets (no 'data' events), as it does without rewind.
    expect(out).toMatch(/^request GET \/a body="" consumed=true read=28$/m);
    expect(out).toMatch(/^request GET \/p2 body="" consumed=true read=58$/m);
    expect(out).toMatch(/^request GET \/split body="" consumed=true read=32$/m);
    expect(out).toMatch(/^request POST \/post body="hello worl" consumed=true read=62$/m);
    expect(out).toMatch(/^clientError HPE_INVALID_METHOD parsed=3 raw="NOT HTTP AT ALL\\r\\n\\r\\n"$/m);
    expect(out).toMatch(/^upgrade echo head="early"\nupgraded got "later" then "more" own=true$/m);
    expect(out).toMatch(/^taken socket got "raw bytes"$/m);
    expect(out).toBe(plain.stdout.toString());
    expectReplayMatches(expect, r);
  });

  it("an http server's own connection checks: 408 from its periodic headersTimeout check, closeIdleConnections, closeAllConnections", async ({
    expect,
  }) => {
    const r = await recordAndReplay('io/http-timeouts.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(r.record.stdout.toString()).toBe(
      [
        'stalled client got "HTTP/1.1 408 Request Timeout"',
        'stalled client closed',
        '/fast client got "HTTP/1.1 200 OK"',
        '/fast client closed',
        'server closed',
        '/slow client closed',
        '',
      ].join('\n'),
    );
    expectReplayMatches(expect, r);
    // Each check is a turn of the server's timer, and Node's answers come from the log.
    const events = await eventsOf(r.record.dir);
    const queries = events.filter((e) => e.api === 'http.connections').map((e) => (e.args as unknown[])[0]);
    expect(new Set(queries)).toEqual(new Set(['expired', 'idle', 'all']));
    const check = events.findIndex((e) => e.api === 'http.connections' && JSON.stringify(e.result) === '[1]');
    expect(check, 'the check that found the stalled connection').toBeGreaterThan(0);
    expect(events[check - 1].call).toBe('setInterval callback');
  });

  it("an http server's Date header: Node's from the recorded clock, the program's own left alone", async ({
    expect,
  }) => {
    // A second apart at least: the replay's real clock names another second than the recording's.
    const r = await recordAndReplay('io/http-date.cjs', [], { gapMs: 1100 });
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(r.record.stdout.toString()).toBe(
      ['/node now', '/set the program date', '/object the program date', '/array the program date', ''].join('\n'),
    );
    expectReplayMatches(expect, r);
  });

  it('a corked burst of strings in several encodings and Buffers is logged with the length and crc32 of its bytes', async ({
    expect,
  }) => {
    const r = await recordAndReplay('io/writev-mixed.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const m = /^received (\d+) (\S+)$/m.exec(r.record.stdout.toString());
    expect(m, describeRun('record', r.record)).not.toBeNull();
    const bytes = Buffer.from(m![2], 'base64');
    expect(bytes.length).toBe(Number(m![1]));
    expect(bytes.length).toBeGreaterThan(30000);
    // One of the server's sockets wrote exactly these bytes: the writev, then the two writes.
    const writes = [...writesByOp(await eventsOf(r.record.dir)).values()];
    expect(writes.some((w) => w.length === 3 && tiles(bytes, w))).toBe(true);
    expectReplayMatches(expect, r);
  });

  it('TCP server and client in one process, with half-close and counters', async ({ expect }) => {
    const r = await recordAndReplay('io/tcp-echo.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const out = r.record.stdout.toString();
    // TCP is a byte stream: how the bytes fall into reads is up to timing (a loaded machine
    // may deliver "hello …" and "last …" in one read), what they add up to is not.
    const reads = (who: string) =>
      [...out.matchAll(new RegExp(`^${who} got (".*")( true)?$`, 'gm'))].map((m) => JSON.parse(m[1]) as string);
    const server = reads('server');
    expect(server.join(''), out).toMatch(/^hello 0\.\d+(e-\d+)?last 0\.\d+(e-\d+)?$/);
    // The server echoes each read it got, then says bye.
    expect(reads('client').join(''), out).toBe(`${server.map((d) => `echo:${d}`).join('')}bye from server`);
    expect(out).toMatch(/^client closed \d+ \d+$/m);
    expectReplayMatches(expect, r);
  });

  it('connection refused, address in use, socket timeout, unix sockets', async ({ expect }) => {
    const r = await recordAndReplay('io/net-errors.mjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const out = r.record.stdout.toString();
    expect(out).toMatch(/^connect error ECONNREFUSED -111 connect 127\.0\.0\.1 true true$/m);
    expect(out).toMatch(/^listen error EADDRINUSE listen true$/m);
    expect(out).toMatch(/^socket timeout fired 30$/m);
    expect(out).toMatch(/^unix client got true true$/m);
    expectReplayMatches(expect, r);
  });

  it("sockets closed before they connected (lookup failed): each 'close' in its recorded turn, among racing immediates", async ({
    expect,
  }) => {
    const r = await recordAndReplay('io/socket-never-connected.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const lines = r.record.stdout.toString().trim().split('\n');
    expect(lines.filter((l) => /^error\d ENOTFOUND$/.test(l))).toHaveLength(4);
    expect(lines.filter((l) => /^close\d$/.test(l))).toHaveLength(4);
    expect(lines.filter((l) => /^after-close\d$/.test(l))).toHaveLength(4);
    expect(lines.filter((l) => /^tick\d$/.test(l))).toHaveLength(8);
    // Before, the replay ran the closes when Node closed the handles, not in their turns (3 of 3 runs).
    expectReplayMatches(expect, r);
  });

  it('exec("ls"), execSync, spawn and piped stdin replay where they would now give something else', async ({
    expect,
  }) => {
    const dir = tempDir('rewind-ls-');
    fs.writeFileSync(path.join(dir, 'a'), '');
    fs.writeFileSync(path.join(dir, 'b'), '');
    const rec = await record('io/child-stdin.cjs', [dir], { input: 'typed by the user\n' });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const out = rec.stdout.toString();
    expect(out).toContain('execSync "a\\nb\\n"\n');
    expect(out).toContain('exec ls null "a\\nb\\n"\n');
    expect(out).toMatch(/^child exit 3 null true$/m);
    expect(out).toContain('stdin "typed by the user\\n"\n');
    fs.writeFileSync(path.join(dir, 'c'), '');
    const rep = await replay(rec.dir, { input: 'something else\n' });
    expectReplayMatches(expect, { record: rec, replay: rep });
  });

  it('zlib and crypto work on the thread pool finishes in the recorded order', async ({ expect }) => {
    const r = await recordAndReplay('io/threadpool.mjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const lines = r.record.stdout.toString().trim().split('\n').sort();
    expect(lines.map((l) => l.split(' ')[0])).toEqual([
      'brotli',
      'deflate',
      'fetch',
      'gzip',
      'inflate',
      'pbkdf2',
      'scrypt',
      'timer',
      'timer',
    ]);
    expectReplayMatches(expect, r);
  });

  it("crypto's thread-pool jobs (WebCrypto, pbkdf2, scrypt, hkdf, random bytes) are turns, and callbacks are entered from plain Node's frames", async ({
    expect,
  }) => {
    const plain = await runPlain('io/crypto-jobs.mjs');
    const r = await recordAndReplay('io/crypto-jobs.mjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const framesOf = (out: Buffer) =>
      out
        .toString()
        .split('\n')
        .filter((l) => l.includes(' entered from '))
        .sort();
    // The recorded run's callbacks saw the stack plain Node gives them (fs, then crypto's job).
    expect(framesOf(r.record.stdout)).toEqual(framesOf(plain.stdout));
    expect(framesOf(r.record.stdout)).toHaveLength(4);
    expectReplayMatches(expect, r);
    // One turn per job: digest, sign, verify, deriveBits, pbkdf2, scrypt, hkdf, randomBytes, randomFill.
    const events = await eventsOf(r.record.dir);
    expect(events.filter((e) => e.kind === 'turn' && e.api === 'crypto.done')).toHaveLength(9);
    // The bytes the callbacks saw came from the log: the replay printed the same ones.
    expect(r.replay.stdout.toString()).toMatch(/^drawn [0-9a-f]{16}$/m);
  });

  it('every kind of callback is entered from the frames plain Node gives it, in the recording and the replay', async ({
    expect,
  }) => {
    const plain = await runPlain('stacks.cjs', [], { cwd: tempDir() });
    const r = await recordAndReplay('stacks.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expectReplayMatches(expect, r);
    // What rewind changes in both runs (src/session/stack.ts, README "How it works"): Node's
    // timer lists, tick queue and message ports' emitMessage are dropped, a timer's callback is not found on its handle,
    // and a UDP socket's onmessage is entered from rewind's function.
    const normal = (out: Buffer) =>
      out
        .toString()
        .split('\n')
        .map((line) =>
          line
            .split(' | ')
            .filter(
              (frame) =>
                !/\((?:node:internal\/)?(?:process\/|per_context\/)?(?:timers|task_queues|messageport):|^at node:internal\/process\/task_queues:/.test(
                  frame,
                ),
            )
            .join(' | ')
            .replace(/\b(Timeout|Immediate)\._on(Timeout|Immediate)\b/, '$1.<anonymous>')
            .replace(' [as onmessage]', '')
            .replace(/^randomFill [\d,]+/, 'randomFill'),
        )
        .join('\n');
    expect(normal(r.record.stdout)).toBe(normal(plain.stdout));
    expect(plain.stdout.toString().split('\n').length).toBeGreaterThan(40);
  });

  it('io/als.cjs: every kind of callback runs with the AsyncLocalStorage store its operation was started in', async ({
    expect,
  }) => {
    const plain = await runPlain('io/als.cjs', [], { cwd: tempDir() });
    const r = await recordAndReplay('io/als.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    // The replay ran every callback from rewind's dispatcher: it lost the stores (express's own
    // test suite diverged) until each op kept its context.
    expectReplayMatches(expect, r);
    const stores = (out: Buffer) =>
      out
        .toString()
        .split('\n')
        .map((line) => line.split(' at ')[0]);
    expect(stores(r.record.stdout)).toEqual(stores(plain.stdout));
    // Accepted connections are made outside any context, in plain Node as here.
    expect(r.record.stdout.toString()).toMatch(/^server data undefined /m);
    expect(r.record.stdout.toString()).toMatch(/^http request \{"step":14\} /m);
    expect(stores(r.record.stdout)).toHaveLength(26);
  });

  it('https server and clients (https.get, an Agent): the replay speaks no TLS', async ({ expect }) => {
    const r = await recordAndReplay('io/https.mjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const out = r.record.stdout.toString();
    expect(out).toMatch(/^authorized true peer localhost cipher string alpn false$/m);
    expect(out).toMatch(/^https\.get 200 \{"url":"\/get","protocol":"TLSv1\.3","r":0\.\d+\}$/m);
    expect(out).toMatch(/^again 200 \{"url":"\/again",/m);
    expect(out).toMatch(/^closed$/m);
    expectReplayMatches(expect, r);
  });

  it('signals the program handles arrive at the same turn', async ({ expect }) => {
    const r = await recordAndReplay('io/signals.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(r.record.stdout.toString()).toMatch(/^SIGUSR2 1 true\nSIGUSR2 2 true\nSIGINT after 2 SIGUSR2\n$/);
    expectReplayMatches(expect, r);
    const signals = (await eventsOf(r.record.dir)).filter((e) => e.kind === 'signal').map((e) => e.signal);
    expect(signals).toEqual(['SIGUSR2', 'SIGUSR2', 'SIGINT']);
  });

  it('record --audit reports each worker thread as the thread it is, and no gap for the ports Node closes', async ({
    expect,
  }) => {
    const cwd = tempDir();
    fs.writeFileSync(
      path.join(cwd, 'w.cjs'),
      "const { Worker } = require('node:worker_threads');\nnew Worker('setTimeout(() => {}, 1)', { eval: true }).on('exit', () => console.log('exit'));\n",
    );
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec = await rewind(['record', '--audit', '--out', dir, '--', NODE, 'w.cjs'], { cwd });
    expect(rec.status, describeRun('record --audit', rec)).toBe(0);
    expect(rec.stderr.toString()).toMatch(
      /^rewind audit: every callback the event loop ran in worker thread 1 of process \d+ was recorded\.$/m,
    );
    // The ports Node made for the worker close unheard: no callback of the program's, no gap.
    expect(rec.stderr.toString()).toMatch(
      /^rewind audit: every callback the event loop ran in process \d+ was recorded\.$/m,
    );
    const thread = fs.readdirSync(dir).find((f) => f.endsWith('-t1.audit.json'))!;
    expect(JSON.parse(fs.readFileSync(path.join(dir, thread), 'utf8'))).toMatchObject({ threadId: 1, gaps: [] });
  });

  it('record --audit names the callbacks rewind did not record, with where they were created', async ({ expect }) => {
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec = await rewind(['record', '--audit', '--out', dir, '--', NODE, fixture('io/gaps.mjs')], {
      cwd: tempDir(),
    });
    expect(rec.status, describeRun('record --audit', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('timer\nblob blob text\n');
    const err = rec.stderr.toString();
    expect(err).toMatch(/^rewind audit: in process \d+, 1 kind of callback ran without being recorded/m);
    expect(err).toMatch(/^ {2}BLOBREADER created at file:\/\/.*gaps\.mjs:8:\d+, ran \d+ times?$/m);
    const report = JSON.parse(
      fs.readFileSync(
        path.join(
          dir,
          fs.readdirSync(dir).find((f) => f.endsWith('.audit.json'))!,
        ),
        'utf8',
      ),
    );
    expect(report.gaps.map((g: { type: string }) => g.type)).toEqual(['BLOBREADER']);
  });

  it('a log that cannot be written (file size limit) ends the recording with a warning; the program goes on', async ({
    expect,
  }) => {
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const cmd = `ulimit -f 100; exec "${NODE}" "${BIN}" record --out "${dir}" -- "${NODE}" "${fixture('io/big-log.cjs')}"`;
    const rec = await run('sh', ['-c', cmd], { cwd: tempDir() });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('start\nfirst half true\ndone true\n');
    expect(rec.stderr.toString()).toMatch(
      /^rewind: cannot write the recording .*\(EFBIG\); recording stopped here, the program continues unrecorded\./m,
    );
    const rep = await replay(dir);
    // The replay reproduces what the log holds, a prefix of the run (at least its first line,
    // flushed before the limit was reached), and says where it ends.
    const out = rep.stdout.toString();
    expect(out, describeRun('replay', rep)).toMatch(/^start\n/);
    expect(rec.stdout.toString().startsWith(out), describeRun('replay', rep)).toBe(true);
    expect(rep.stderr.toString()).toMatch(/^rewind: the recording ends at event \d+ .*could not be written/m);
  });

  it('a timer, a file read and a socket race: 20 recordings, each replay prints its own winner', async ({ expect }) => {
    const file = path.join(tempDir('rewind-race-'), 'data.txt');
    fs.writeFileSync(file, 'x'.repeat(1000));
    // Each contestant gets the head start in turn, so the recordings have different winners.
    const favored = Array.from({ length: 20 }, (_, i) => ['timer', 'file', 'socket'][i % 3]);
    const recs = await Promise.all(favored.map((f) => record('io/race.mjs', [file, f])));
    const winners = recs.map((r) => {
      expect(r.status, describeRun('record', r)).toBe(0);
      return /^winner (\w+)$/m.exec(r.stdout.toString())![1];
    });
    expect(new Set(winners)).toEqual(new Set(['timer', 'file', 'socket']));
    fs.rmSync(file);
    const replays = await Promise.all(recs.map((rec) => replay(rec.dir)));
    recs.forEach((rec, i) => expectReplayMatches(expect, { record: rec, replay: replays[i] }));
  });
});
