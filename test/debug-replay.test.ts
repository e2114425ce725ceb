// Acceptance: `rewind replay --until N`, `--break-before-failure`, `--mark`, `rewind events`
// with call sites, and their bad input. One recording of a failing program with 200 turns.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripMarks } from '../src/debug/output.js';
import {
  BIN,
  NODE,
  cleanupTempDirs,
  describeRun,
  eventsOf,
  fixture,
  record,
  replay,
  rewind,
  sleep,
  start,
  tempDir,
  type EventJson,
  type Recorded,
} from './helpers.js';

afterAll(cleanupTempDirs);

const FIXTURE = 'debug-fail.cjs';
const source = fs.readFileSync(fixture(FIXTURE), 'utf8').split('\n');

let rec: Recorded;
let events: EventJson[];
beforeAll(async () => {
  rec = await record(FIXTURE);
  expect(rec.status, describeRun('record', rec)).toBe(1);
  events = await eventsOf(rec.dir, { sites: true });
});

/** What the recorded run had printed on stdout before event n. */
const stdoutBefore = (n: number) =>
  events
    .filter((e) => e.kind === 'output' && e.fd === 1 && e.n < n)
    .map((e) => e.text)
    .join('');

/** A message is one paragraph for the user: no stack frames of rewind's own code. */
function expectUserMessage(stderr: string, pattern: RegExp): void {
  expect(stderr).toMatch(pattern);
  expect(stderr).not.toMatch(/^\s+at .*(dist|src)\//m);
}

describe('rewind replay --until N', () => {
  it('stops anywhere in a CommonJS program whose top level queues nextTicks and microtasks, in their recorded order', async () => {
    // A debugger's replay loads rewind as the recording did (the CommonJS preload). As an
    // --import it made Node run the entry from its ESM loader, inside a promise job: the
    // microtasks ran before the nextTicks, and the replay diverged (archiver's queue).
    const rec = await record('debug-tick-order.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('tick true, tick2, micro true, then\ndone true\n');
    const last = (await eventsOf(rec.dir, { sites: false })).at(-1)!.n;
    for (const n of [1, 2, Math.ceil(last / 2), last]) {
      const r = await replay(rec.dir, { flags: ['--until', String(n)] });
      expect(r.status, describeRun(`replay --until ${n}`, r)).toBe(0);
      expect(r.stderr.toString()).toMatch(new RegExp(`rewind: stopped (inside|before) event ${n} of ${last}`));
    }
  });

  it('stops anywhere in a program that looks for a module itself before importing it', async () => {
    // Node's ESM resolver resolves with rewind's realpathSync (its calls the loader's), or with
    // Node's own when rewind loaded after it (an --import, as under a debugger once): its lstat
    // of a path the program had lstat'ed itself was taken for the program's (mocha's spec files).
    const found = await record('debug-esm/main.cjs');
    expect(found.status, describeRun('record', found)).toBe(0);
    expect(found.stdout.toString()).toBe('found true\nimported spec true\n');
    const last = (await eventsOf(found.dir, { sites: false })).at(-1)!.n;
    for (const n of [Math.ceil(last / 2), last]) {
      const r = await replay(found.dir, { flags: ['--until', String(n)] });
      expect(r.status, describeRun(`replay --until ${n}`, r)).toBe(0);
    }
  });

  it('stops anywhere in a program whose module.register() hooks load built-ins rewind imports too', async () => {
    // Recorded with rewind's CommonJS preload, its hooks were asked to load node:async_hooks,
    // node:util and node:zlib; a replay under a debugger that ran rewind as ES modules had
    // imported them: Node's loader never asked again, and the replay diverged at the first
    // (tsx, tap: their hooks see every load). It loads the CommonJS preload, as recorded.
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const args = ['--import', fixture('hooks-builtins/register.mjs'), fixture('hooks-builtins/main.mjs')];
    const hooked: Recorded = {
      ...(await rewind(['record', '--out', dir, '--', NODE, ...args], { cwd: tempDir() })),
      dir,
    };
    expect(hooked.status, describeRun('record', hooked)).toBe(0);
    expect(hooked.stdout.toString()).toBe('main function true\nin a timer { store: true } 2363233923\n');
    const all = await eventsOf(dir, { sites: false });
    const builtinLoads = all.filter(
      (e) => e.kind === 'call' && /^loader\.answer \["node:(async_hooks|util|zlib)"/.test(e.detail),
    );
    // Node 24's loader asks its hooks synchronously, where rewind logs no answers: nothing to pass over there.
    if (Number(process.versions.node.split('.')[0]) < 24)
      expect(builtinLoads.length, 'the hooks were asked about the built-ins').toBeGreaterThanOrEqual(3);
    const picks = [...builtinLoads.slice(-1), all.at(-1)!].map((e) => e.n);
    for (const n of picks) {
      const r = await replay(dir, { flags: ['--until', String(n)] });
      expect(r.status, describeRun(`replay --until ${n}`, r)).toBe(0);
      expect(r.stderr.toString()).toMatch(new RegExp(`^rewind: stopped (before|inside) event ${n} of`, 'm'));
    }
  });

  it('stops at any event with the program in the state it had there in the recorded run', async () => {
    const turns = events.filter((e) => e.kind === 'turn');
    const picks = [
      turns[0],
      events.find((e) => e.kind === 'clock' && e.n > turns[50].n)!,
      events.find((e) => e.kind === 'output' && e.n > turns[120].n)!,
      turns[150],
      turns.at(-1)!,
    ];
    const runs = await Promise.all(picks.map((e) => replay(rec.dir, { flags: ['--until', String(e.n)] })));
    for (const [i, r] of runs.entries()) {
      const e = picks[i];
      const ctx = describeRun(`--until ${e.n}`, r);
      expect(r.status, ctx).toBe(0);
      // The counter the program printed last is the one it had printed by event N when recorded.
      expect(r.stdout.toString(), ctx).toBe(stdoutBefore(e.n));
      const where = e.kind === 'turn' ? 'before' : 'inside';
      const site = e.kind === 'turn' ? 'scheduled' : 'called';
      expect(r.stderr.toString(), ctx).toMatch(
        new RegExp(
          `^rewind: stopped ${where} event ${e.n} of ${events.length} \\(\\+[\\d.]+m?s\\): ${e.kind} .*, ${site} at .*debug-fail\\.cjs:\\d+:\\d+\\n$`,
        ),
      );
    }
    // A clock reading stops inside Date.now(), whose caller is the program's line 12.
    expect(runs[1].stderr.toString()).toContain(`clock ${picks[1].detail}, called at ${fixture(FIXTURE)}:12:`);
  });

  it('a stop loses no output, even when the reader has fallen behind', async () => {
    // A stop ends the replay without running the event loop again: output a slow reader had
    // not taken yet (more than the pipe holds) must already be out, not queued and lost.
    const big = await record('many-lines.cjs');
    expect(big.status, describeRun('record', big)).toBe(0);
    const last = (await eventsOf(big.dir)).find((e) => e.kind === 'turn' && e.detail.startsWith('setTimeout'))!;
    const run = start(NODE, [BIN, 'replay', big.dir, '--until', String(last.n)], { cwd: big.dir });
    run.child.stdout!.pause();
    await sleep(1000);
    run.child.stdout!.resume();
    const r = await run.done;
    expect(r.status, describeRun(`--until ${last.n}`, r)).toBe(0);
    expect(r.stderr.toString()).toMatch(new RegExp(`^rewind: stopped before event ${last.n} `));
    // Everything but the last line, which the stopped turn would have printed.
    expect(r.stdout.length).toBe(947_200);
    expect(r.stdout.equals(big.stdout.subarray(0, big.stdout.length - 'last\n'.length))).toBe(true);
  });

  it('beyond the last event says so and names the last event', async () => {
    const r = await replay(rec.dir, { flags: ['--until', String(events.length + 1)] });
    expect(r.status).toBe(64);
    expectUserMessage(
      r.stderr.toString(),
      new RegExp(
        `--until ${events.length + 1} is beyond the end of the recording: its last event is ${events.length} \\(end exit code 1 \\(uncaught exception\\)\\)`,
      ),
    );
  });

  it('a port that is taken is named in a clear error', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await replay(rec.dir, { flags: ['--until', '10', `--inspect=127.0.0.1:${port}`] });
      expect(r.status).toBe(64);
      expectUserMessage(
        r.stderr.toString(),
        new RegExp(`rewind: cannot open the debugger on 127\\.0\\.0\\.1:${port}: the port is taken\\. Choose another`),
      );
    } finally {
      server.close();
    }
  });
});

describe('rewind replay --break-before-failure', () => {
  it('stops before the turn that failed and names it, its kind and where it was scheduled', async () => {
    const failure = events.find((e) => e.kind === 'failure')!;
    const turn = events.filter((e) => e.kind === 'turn' && e.n < failure.n).at(-1)!;
    const r = await replay(rec.dir, { flags: ['--break-before-failure'] });
    expect(r.status, describeRun('replay', r)).toBe(0);
    expect(r.stdout.toString()).toBe(stdoutBefore(turn.n));
    const setTimeoutFail = source.findIndex((l) => l.includes('setTimeout(fail')) + 1;
    expect(r.stderr.toString()).toBe(
      `rewind: stopped before event ${turn.n} of ${events.length} (${/\((\+[^)]+)\)/.exec(r.stderr.toString())![1]}): turn ${turn.detail}, ` +
        `scheduled at ${fixture(FIXTURE)}:${setTimeoutFail}:${source[setTimeoutFail - 1].indexOf('setTimeout') + 1}\n` +
        `rewind: the recorded run failed in this turn: ${failure.detail} (event ${failure.n}).\n`,
    );
  });

  it.each([
    ['exit-3.cjs', /^process\.exit\(3\)$/, /setTimeout\(/],
    ['unhandled-rejection.mjs', /^unhandled rejection: Error: rejected [0-9a-f-]{36}$/, /sleep\(10\)/],
  ])('%s: the turn of process.exit(non-zero) or of an unhandled rejection', async (name, what, scheduledBy) => {
    const failed = await record(name);
    const evs = await eventsOf(failed.dir, { sites: true });
    const r = await replay(failed.dir, { flags: ['--break-before-failure'] });
    expect(r.status, describeRun('replay', r)).toBe(0);
    const [, n, site, failure] =
      /^rewind: stopped before event (\d+) .*, scheduled at (.*)\nrewind: the recorded run failed in this turn: (.*) \(event \d+\)\.\n$/.exec(
        r.stderr.toString(),
      )!;
    expect(failure).toMatch(what);
    const turn = evs[Number(n) - 1];
    expect(turn.kind).toBe('turn');
    expect(turn.site).toBe(site);
    const [, line, column] = /:(\d+):(\d+)$/.exec(site)!;
    const source = fs.readFileSync(fixture(name), 'utf8').split('\n');
    expect(source[Number(line) - 1].slice(Number(column) - 1)).toMatch(scheduledBy);
  });

  it('a recording that ended normally: no failure, and how it ended', async () => {
    const ok = await record('timers-basic.cjs');
    expect(ok.status).toBe(0);
    const r = await replay(ok.dir, { flags: ['--break-before-failure'] });
    expect(r.status).toBe(64);
    expectUserMessage(r.stderr.toString(), /the recorded run did not fail \(exit code 0 \(event loop empty\)\)/);
  });
});

describe('rewind replay --mark', () => {
  it('prefixes each line with the output event that wrote it; without the marks it is the recorded output', async () => {
    const r = await replay(rec.dir, { flags: ['--mark'] });
    expect(r.status).toBe(1);
    const out = r.stdout.toString();
    expect(stripMarks(out)).toBe(rec.stdout.toString());
    const lines = out.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(200);
    for (const line of lines) {
      const [, n, text] = /^\[#(\d+)\] (.*)$/.exec(line)!;
      const ev = events[Number(n) - 1];
      expect(ev.kind).toBe('output');
      expect(ev.text).toBe(`${text}\n`);
    }
  });
});

describe('rewind events', () => {
  it('shows where each turn was scheduled, computed by replaying', async () => {
    const turns = events.filter((e) => e.kind === 'turn');
    expect(turns.length).toBeGreaterThanOrEqual(200);
    for (const t of turns) {
      const [, line, column] = /debug-fail\.cjs:(\d+):(\d+)$/.exec(String(t.site))!;
      const api = t.call.replace(' callback', ''); // setTimeout, setInterval, setImmediate
      expect(source[Number(line) - 1].slice(Number(column) - 1)).toMatch(new RegExp(`^${api}\\(`));
    }
    const text = await rewind([
      'events',
      rec.dir,
      '--kind',
      'turn',
      '--from',
      String(turns[10].n),
      '--to',
      String(turns[12].n),
    ]);
    expect(text.stdout.toString().trim().split('\n')).toEqual(
      turns
        .slice(10, 13)
        .map((t) =>
          expect.stringMatching(
            new RegExp(
              `^\\s*${t.n}\\s.*turn\\s+${t.detail.replace(/[()#]/g, '\\$&')}  @ .*debug-fail\\.cjs:\\d+:\\d+$`,
            ),
          ),
        ),
    );
    const plain = await rewind(['events', rec.dir, '--no-sites']);
    expect(plain.stdout.toString()).not.toContain(' @ ');
  });
});
