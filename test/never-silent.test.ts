// "Never silent" at the edges of a replay: a log that ends early never replays to the
// recorded success status; Node internals rewind cannot reach are named when recording and
// refused at replay; a divergence report shows where two long values first differ.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { ByteCursor } from '../src/trace/codec.js';
import { CHUNK_HEADER_BYTES, MAGIC } from '../src/trace/format.js';
import { firstDifference } from '../src/session/divergence.js';
import {
  cleanupTempDirs,
  describeRun,
  logsOf,
  NODE,
  record,
  recordAndReplay,
  replay,
  rewind,
  tempDir,
  expectReplayMatches,
  type Expect,
} from './helpers.js';

afterAll(cleanupTempDirs);

/** Byte offsets where each chunk of a log starts (after the preamble), and the file's end. */
function chunkStarts(file: Buffer): number[] {
  const c = new ByteCursor(file, MAGIC.length + 1, file.length);
  const headerLength = c.varint();
  let at = c.pos + headerLength;
  const starts: number[] = [];
  while (at < file.length) {
    starts.push(at);
    at += CHUNK_HEADER_BYTES + file.readUInt32LE(at);
  }
  return starts;
}

describe.concurrent('a log that ends early', () => {
  it('replays every event it holds, says what is missing, and exits 70 instead of the recorded 0', async ({
    expect,
  }) => {
    const rec = await record('loop/ticks.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const [log] = logsOf(rec.dir);
    const bytes = fs.readFileSync(log);
    const starts = chunkStarts(bytes);
    expect(starts.length, 'one chunk per tick').toBeGreaterThanOrEqual(3);
    // Only its first chunk (the first tick), as a process killed then leaves it. Not "all but
    // the last": on a loaded machine the last chunk may hold the end record alone. The first
    // cannot hold a later tick: the 100 ms flush is due before the 150 ms tick timer, and
    // Node runs due timers in order.
    fs.writeFileSync(log, bytes.subarray(0, starts[1]));
    const rep = await replay(rec.dir);
    const ctx = `\n${describeRun('record', rec)}\n${describeRun('replay', rep)}`;
    expect(rep.status, ctx).toBe(70);
    expect(rep.stderr.toString(), ctx).toMatch(
      /^rewind: the recording ends at event \d+ \(the log has no end record\).*is missing from the recording.*exit status 70\.$/m,
    );
    const out = rep.stdout.toString();
    expect(out.length, ctx).toBeGreaterThan(0);
    expect(rec.stdout.toString().startsWith(out), ctx).toBe(true);
    expect(out.length, ctx).toBeLessThan(rec.stdout.length);
  });
});

describe.concurrent('a worker thread whose replay cannot go on', () => {
  // reallyExit in a worker thread ends the thread only: its process's replay, waiting for the
  // thread's messages or its exit, hung or went on to the recorded status.
  const MAIN = `const { Worker } = require('node:worker_threads');
const w = new Worker(require('node:path').join(__dirname, 'work.cjs'));
const busy = setInterval(() => {}, 1000); // the main thread has more to wait for than the worker
w.on('message', (m) => {
  console.log('worker says', m);
  if (m === 'bye') {
    clearInterval(busy);
    w.terminate();
  }
});
`;
  const work = (later = '') => `const { parentPort } = require('node:worker_threads');
parentPort.postMessage('hello ' + Math.random().toFixed(6));
setTimeout(() => {
  ${later}parentPort.postMessage('bye');
}, 20);
`;
  async function recorded(expect: Expect): Promise<{ dir: string; rec: string; out: string }> {
    const dir = tempDir('rewind-worker-stop-');
    fs.writeFileSync(path.join(dir, 'main.cjs'), MAIN);
    fs.writeFileSync(path.join(dir, 'work.cjs'), work());
    const rec = path.join(dir, 'rec');
    const r = await rewind(['record', '--out', rec, '--', NODE, 'main.cjs'], { cwd: dir });
    expect(r.status, describeRun('record', r)).toBe(0);
    expect(r.stdout.toString()).toMatch(/^worker says hello 0\.\d+\nworker says bye\n$/);
    return { dir, rec, out: r.stdout.toString() };
  }

  it('a divergence in the worker ends the whole replay with 70 and says which thread', async ({ expect }) => {
    const { dir, rec } = await recorded(expect);
    // The worker's module changed since: after its first message it makes a call its log does
    // not hold, while the main thread waits for its second.
    fs.writeFileSync(path.join(dir, 'work.cjs'), work(`require('node:fs').statSync(__filename);\n  `));
    const rep = await replay(rec, { timeoutMs: 20_000 });
    const ctx = describeRun('replay', rep);
    expect(rep.status, ctx).toBe(70);
    expect(rep.stderr.toString(), ctx).toMatch(/^rewind: divergence at event \d+ \(of \d+\) of worker thread 1$/m);
    expect(rep.stderr.toString(), ctx).toMatch(/the program did: {3}called fs\.stat /);
    expect(rep.stdout.toString(), ctx).toMatch(/^worker says hello 0\.\d+\n$/);
  });

  it("a worker's log that ends early ends the whole replay with 70 where the main thread waits for that worker", async ({
    expect,
  }) => {
    const dir = tempDir('rewind-worker-stop-');
    fs.writeFileSync(path.join(dir, 'main.cjs'), MAIN);
    // A tick every 150 ms: the worker's log is flushed every 100 ms, so it has a chunk per tick.
    fs.writeFileSync(
      path.join(dir, 'work.cjs'),
      `const { parentPort } = require('node:worker_threads');
let n = 0;
const t = setInterval(() => {
  parentPort.postMessage(++n < 4 ? 'tick ' + n : 'bye');
  if (n === 4) clearInterval(t);
}, 150);
`,
    );
    const rec = path.join(dir, 'rec');
    const r = await rewind(['record', '--out', rec, '--', NODE, 'main.cjs'], { cwd: dir });
    expect(r.stdout.toString(), describeRun('record', r)).toBe(
      'worker says tick 1\nworker says tick 2\nworker says tick 3\nworker says bye\n',
    );
    const log = logsOf(rec).find((f) => /-t1\.rwnd$/.test(f))!;
    const bytes = fs.readFileSync(log);
    const starts = chunkStarts(bytes);
    expect(starts.length, 'one chunk per tick').toBeGreaterThanOrEqual(3);
    fs.writeFileSync(log, bytes.subarray(0, starts[1])); // as a killed process leaves it
    const rep = await replay(rec, { timeoutMs: 20_000 });
    const ctx = describeRun('replay', rep);
    expect(rep.status, ctx).toBe(70);
    expect(rep.stderr.toString(), ctx).toMatch(
      /^rewind: the recording of worker thread 1 ends at event \d+ \(the log has no end record\).*exit status 70\.$/m,
    );
    expect(r.stdout.toString().startsWith(rep.stdout.toString()), ctx).toBe(true);
    expect(rep.stdout.length, ctx).toBeLessThan(r.stdout.length);
  });

  it("a worker's log that cannot be read ends the whole replay with 65", async ({ expect }) => {
    const { rec } = await recorded(expect);
    const log = logsOf(rec).find((f) => /-t1\.rwnd$/.test(f))!;
    const bytes = fs.readFileSync(log);
    bytes[bytes.length - 3] ^= 0xff; // in its last chunk: its check fails
    fs.writeFileSync(log, bytes);
    const rep = await replay(rec, { timeoutMs: 20_000 });
    const ctx = describeRun('replay', rep);
    expect(rep.status, ctx).toBe(65);
    expect(rep.stderr.toString(), ctx).toMatch(/-t1\.rwnd/);
  });
});

describe.concurrent('Node internals rewind cannot reach', () => {
  const permission = Number(process.versions.node.split('.')[0]) >= 22 ? '--permission' : '--experimental-permission';
  // Node 25+ checks network access too.
  const allowNet = process.allowedNodeEnvironmentFlags.has('--allow-net') ? ['--allow-net'] : [];

  it(`under node ${permission}, recording names what is not recorded and the replay refuses (65) without running`, async ({
    expect,
  }) => {
    const server = path.join(tempDir('rewind-perm-'), 'tcp.cjs');
    fs.copyFileSync(path.join(__dirname, 'fixtures', 'loop', 'tcp-local.cjs'), server);
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const { rewind } = await import('./helpers.js');
    const rec = await rewind(
      [
        'record',
        '--out',
        dir,
        '--',
        process.execPath,
        permission,
        '--allow-fs-read=*',
        '--allow-fs-write=*',
        ...allowNet,
        server,
      ],
      { cwd: tempDir() },
    );
    const ctx = describeRun('record', rec);
    expect(rec.status, ctx).toBe(0);
    expect(rec.stdout.toString(), ctx).toMatch(/^got hello \d+\n$/);
    const err = rec.stderr.toString();
    expect(err, ctx).toMatch(/^rewind: warning: Node does not let rewind reach internals it records through/m);
    expect(err, ctx).toMatch(/process\.binding\('tcp_wrap'\).*: ERR_ACCESS_DENIED/);
    expect(err, ctx).toMatch(/not recorded: TCP sockets and servers/);

    const rep = await replay(dir);
    const rctx = describeRun('replay', rep);
    expect(rep.status, rctx).toBe(65);
    expect(rep.stdout.length, `the program must not run${rctx}`).toBe(0);
    expect(rep.stderr.toString(), rctx).toMatch(/^rewind: this recording is incomplete and cannot be replayed/);
    expect(rep.stderr.toString(), rctx).toMatch(/process\.binding\('tcp_wrap'\)/);
  });

  it('control: the same program recorded without it replays exactly', async ({ expect }) => {
    const r = await recordAndReplay('loop/tcp-local.cjs');
    expect(r.record.stderr.toString()).toBe('');
    expectReplayMatches(expect, r);
  });
});

describe.concurrent('a divergence report on long values', () => {
  it('shows the first differing character with context from both sides', async ({ expect }) => {
    const data = path.join(tempDir('rewind-long-'), 'text.json');
    const head = 'abcdefghij'.repeat(20);
    fs.writeFileSync(data, JSON.stringify(`${head}-recorded-tail`));
    const rec = await record('loop/long-line.cjs', [data]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    fs.writeFileSync(data, JSON.stringify(`${head}-replayed-tail`));
    const rep = await replay(rec.dir);
    const ctx = `\n${describeRun('record', rec)}\n${describeRun('replay', rep)}`;
    expect(rep.status, ctx).toBe(70);
    const err = rep.stderr.toString();
    // The one-line summaries are cut before the difference: alone they look identical.
    // "-re" is common to both: 'c' and 'p' differ, one character further for the JSON quote, 1-based.
    const position = rec.stdout.toString().indexOf('-recorded') + 3 + 1 + 1;
    expect(err, ctx).toContain(`first difference at character ${position}:`);
    expect(err, ctx).toMatch(/^ {4}recording: …[a-j]+-recorded-tail\\n"$/m);
    expect(err, ctx).toMatch(/^ {4}program: {3}…[a-j]+-replayed-tail\\n"$/m);
    const lines = err.split('\n');
    const at = lines.findIndex((l) => l.startsWith('    program:'));
    // The caret stands under the first differing character.
    expect(lines[at + 1].indexOf('^'), ctx).toBe(lines[at].indexOf('-replayed') + 3);
  });

  it('an uncaught exception printed with another stack than recorded is a divergence, not a silent difference', async ({
    expect,
  }) => {
    // Node prints an uncaught error's stack itself, past process.stderr: the program is
    // edited (a line added on top) and replayed with --force, so only the stack changes.
    const dir = tempDir('rewind-stack-');
    const program = path.join(dir, 'throws.cjs');
    fs.writeFileSync(program, "setTimeout(() => { throw new Error('boom ' + Math.random()); }, 1);\n");
    const rec = await record(program);
    expect(rec.status, describeRun('record', rec)).toBe(1);
    expect(rec.stderr.toString()).toContain('throws.cjs:1:');
    // The same program, so the replay follows it to the end.
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    fs.writeFileSync(program, `// a comment\n${fs.readFileSync(program, 'utf8')}`);
    const rep = await replay(rec.dir, { flags: ['--force'] });
    const err = rep.stderr.toString();
    expect(rep.status, describeRun('replay', rep)).toBe(70);
    expect(err).toMatch(/the program did: +threw an uncaught exception: Error: boom 0\.\d+, with another stack/);
    expect(err).toMatch(/recording: .*throws\.cjs:1:/);
    expect(err).toMatch(/program: +.*throws\.cjs:2:/);
  });

  it('firstDifference: nothing when the cut lines already show it; the end of the shorter side is named', ({
    expect,
  }) => {
    expect(firstDifference('abc', 'abd')).toBe('');
    expect(firstDifference('same', 'same')).toBe('');
    const long = 'x'.repeat(100);
    expect(firstDifference(long, `${long}y`)).toMatch(/recording: …x+ \(ends here\)\n {4}program: {3}…x+y\n/);
  });
});

describe.concurrent('rewind record --audit', () => {
  it('fs/promises and FileHandle use: no gap named, the audit file is not part of the log, the replay is exact', async ({
    expect,
  }) => {
    const data = tempDir('rewind-audit-data-');
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const { rewind, fixture } = await import('./helpers.js');
    const rec = await rewind(
      ['record', '--audit', '--out', dir, '--', process.execPath, fixture('loop/fs-promises-audit.mjs'), data],
      { cwd: tempDir() },
    );
    const ctx = describeRun('record --audit', rec);
    expect(rec.status, ctx).toBe(0);
    expect(rec.stdout.toString(), ctx).toMatch(/^handle read written \d+\nreadFile written \d+\nstat size \d+\n$/);
    expect(rec.stderr.toString(), ctx).toMatch(
      /^rewind audit: every callback the event loop ran in process \d+ was recorded\.\n$/,
    );
    const audit = fs.readdirSync(dir).find((f) => f.endsWith('.audit.json'));
    expect(JSON.parse(fs.readFileSync(path.join(dir, audit!), 'utf8')).gaps).toEqual([]);
    // The replay reads nothing from the disk: the data file is gone, and stays gone.
    expect(fs.readdirSync(data)).toEqual([]);
    const rep = await replay(dir);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(rep.stdout.toString()).toBe(rec.stdout.toString());
    expect(rep.stderr.toString()).toBe('');
    expect(fs.readdirSync(data)).toEqual([]);
  });
});
