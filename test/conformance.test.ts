// Record→replay conformance, one fixture per source of nondeterminism (randomness, clocks,
// timers, outputs). Each fixture prints the values it received; the suite records it with
// `rewind record`, replays it with `rewind replay`, and requires the replay to print the
// same bytes and end the same way. Fixtures whose output depends on the run are also run
// without rewind, to prove their output really changes from run to run (so an identical
// replay means rewind restored the values, not that there was nothing to restore).
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  recordAndReplay,
  replay,
  record,
  runPlain,
  type Expect,
} from './helpers.js';

afterAll(cleanupTempDirs);

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const num = (text: string, re: RegExp): number => {
  const m = re.exec(text);
  if (!m) throw new Error(`no match for ${re} in:\n${text}`);
  return Number(m[1]);
};

interface Case {
  fixture: string;
  args?: string[];
  /** How the recorded run ends (default: exit status 0). */
  status?: number | null;
  signal?: NodeJS.Signals | null;
  /** Plain runs of the fixture print something else on this stream. */
  varies?: 'stdout' | 'stderr';
  /** Checks on the recorded output: the program did what it should, also under rewind. */
  check?: (out: string, err: string, expect: Expect) => void;
}

const CASES: Case[] = [
  // ---- randomness -----------------------------------------------------------------------
  {
    fixture: 'random.cjs',
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(/^Math\.random \S+ \S+ \S+$/m);
      expect(out).toMatch(/^randomBytes sync [0-9a-f]{32}$/m);
      expect(out).toMatch(/^pseudoRandomBytes ([0-9a-f]{8}|n\/a)$/m);
      expect(out).toMatch(/^randomBytes cb [0-9a-f]{24}$/m);
      expect(out).toMatch(/^randomFillSync buffer\(4,8\) 00000000[0-9a-f]{16}00000000$/m);
      expect(out).toMatch(/^randomFillSync whole [0-9a-f]{12}$/m);
      expect(out).toMatch(/^randomFillSync u32\(1,3\) 0,\d+,\d+,\d+,0$/m);
      expect(out).toMatch(/^randomFill buffer true [0-9a-f]{20}$/m);
      expect(out).toMatch(/^randomFill buffer\(3,5\) true 000000[0-9a-f]{10}00000000$/m);
      expect(out).toMatch(/^randomFill u32\(2,3\) 0,0,\d+,\d+,\d+,0$/m);
      expect(out).toMatch(/^randomFill buffer\(5\) 0000000000[0-9a-f]{6}$/m);
      expect(out).toMatch(new RegExp(`^randomUUID (${UUID}) (?!\\1)${UUID}$`, 'm'));
      expect(out).toMatch(new RegExp(`^randomUUID opts ${UUID}$`, 'm'));
      expect(out).toMatch(/^randomInt\(1e9\) \d+$/m);
      expect(out).toMatch(/^randomInt\(10,20\) x8 (1\d,){7}1\d$/m);
      expect(out).toMatch(/^randomInt\(-1e6, 1e6\) -?\d+$/m);
      expect(out).toMatch(/^randomInt cb \d+$/m);
      expect(out).toMatch(/^randomInt\(5,1e9\) cb \d+$/m);
      expect(out).toMatch(/^crypto\.getRandomValues [0-9a-f]{16}$/m);
      expect(out).toMatch(/^webcrypto\.getRandomValues \d+,\d+,\d+,\d+$/m);
      expect(out).toMatch(/^globalThis\.crypto\.getRandomValues \d+,\d+,\d+$/m);
      expect(out).toMatch(/^getRandomValues returns its argument true -?\d+,-?\d+,-?\d+,-?\d+$/m);
      expect(out).toMatch(new RegExp(`^globalThis\\.crypto\\.randomUUID ${UUID}$`, 'm'));
      expect(out).toMatch(/^done \S+$/m);
      expect(out).not.toMatch(/error/);
    },
  },
  {
    fixture: 'random.mjs',
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(new RegExp(`^named randomUUID ${UUID}$`, 'm'));
      expect(out).toMatch(new RegExp(`^default randomUUID ${UUID}$`, 'm'));
      expect(out).toMatch(/^named randomBytes [0-9a-f]{16}$/m);
      expect(out).toMatch(/^named randomBytes cb [0-9a-f]{16}$/m);
      expect(out).toMatch(/^named randomFillSync 0000[0-9a-f]{12}00000000$/m);
      expect(out).toMatch(/^named randomFill u32 0,\d+,\d+,0$/m);
      expect(out).toMatch(/^named randomInt \d+ 5\d$/m);
      expect(out).toMatch(/^named randomInt cb \d+$/m);
      expect(out).toMatch(/^named getRandomValues (\d+,){5}\d+$/m);
      expect(out).toMatch(new RegExp(`^globalThis\\.crypto\\.randomUUID ${UUID}$`, 'm'));
      expect(out).toMatch(/^done$/m);
    },
  },
  // ---- clocks ---------------------------------------------------------------------------
  {
    fixture: 'clocks.cjs',
    varies: 'stdout',
    check(out, _err, expect) {
      const now = num(out, /^Date\.now (\d+)$/m);
      const made = num(out, /^new Date \S+ (\d+)$/m);
      expect(made - now).toBeGreaterThanOrEqual(0);
      expect(out).toMatch(/^Date\(\) \w{3} \w{3} \d\d \d{4} \d\d:\d\d:\d\d GMT/m);
      expect(out).toMatch(/^typeof Date\(\) string$/m);
      expect(out).toMatch(/^new Date\(2020,1,1\) 2020 1 1 12 30$/m);
      expect(out).toMatch(/^new Date\(0\) 1970-01-01T00:00:00\.000Z$/m);
      expect(out).toMatch(/^new Date\(string\) 1614834367000$/m);
      expect(out).toMatch(/^instanceof true true \[object Date\]$/m);
      expect(out).toMatch(/^constructor true true$/m);
      expect(out).toMatch(/^Date\.UTC 1577836800000 Date\.parse 1577836800000$/m);
      expect(out).toMatch(/^Date\.name\/length Date 7$/m);
      expect(out).toMatch(/^subclass my:\d{13} true true my:5$/m);
      expect(out).toMatch(/^JSON \{"at":"\d{4}-\d\d-\d\dT[\d:.]+Z"\}$/m);
      expect(out).toMatch(/^performance\.now \d+(\.\d+)? \d+(\.\d+)?$/m);
      expect(out).toMatch(/^performance\.timeOrigin \d+(\.\d+)? true$/m);
      expect(out).toMatch(/^hrtime \d+,\d+$/m);
      expect(out).toMatch(/^hrtime\(prev\) \d+,\d+ true$/m);
      expect(out).toMatch(/^hrtime\.bigint bigint \d+$/m);
      expect(out).toMatch(/^uptime \d+(\.\d+)?$/m);
      const later = num(out, /^later Date\.now (\d+)/m);
      expect(later - now).toBeGreaterThanOrEqual(25);
      expect(out).toMatch(/^elapsed monotonic true uptime \S+$/m);
      expect(out).toMatch(/^done \w{3} \w{3} \d\d \d{4}/m);
    },
  },
  {
    fixture: 'clocks.mjs',
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(/^Date\.now \d{13} new Date \d{4}-\d\d-\d\dT[\d:.]+Z$/m);
      expect(out).toMatch(/^performance\.now \d+(\.\d+)?$/m);
      expect(out).toMatch(/^performance\.timeOrigin \d+(\.\d+)?$/m);
      expect(out).toMatch(/^named hrtime \d+,\d+$/m);
      expect(out).toMatch(/^named hrtime\.bigint \d+$/m);
      expect(out).toMatch(/^named uptime \d+(\.\d+)?$/m);
      const [s, ns] = /^named hrtime\(prev\) (\d+),(\d+)$/m.exec(out)!.slice(1).map(Number);
      expect(s * 1e9 + ns).toBeGreaterThanOrEqual(20e6);
      expect(out).toMatch(/^done \w{3} \w{3} \d\d \d{4}/m);
    },
  },
  // ---- timers ---------------------------------------------------------------------------
  {
    fixture: 'timers-basic.cjs',
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).not.toMatch(/NEVER/);
      expect(out).toMatch(/^global setTimeout args a b this===handle true @\d+$/m);
      expect(out).toMatch(/^timers\.setTimeout arg 42 @\d+$/m);
      expect(out).toMatch(/^global setImmediate args x y this===handle true @\d+$/m);
      expect(out).toMatch(/^timers\.setImmediate args \[1,2,3\] @\d+$/m);
      expect(out.match(/^setInterval iv \d /gm)).toHaveLength(4);
      expect(out.match(/^timers\.setInterval \d /gm)).toHaveLength(2);
      for (const line of [
        'outer timeout',
        'nested immediate',
        'nested timeout 0',
        'nested immediate 2',
        'nextTick in immediate',
        'microtask in immediate',
        'no delay argument',
        'string delay "6"',
        'negative delay',
        'NaN delay',
        'util.promisify(setTimeout) promisified',
        'util.promisify(setImmediate) pi',
      ]) {
        expect(
          out.split('\n').some((l) => l.startsWith(`${line} @`)),
          line,
        ).toBe(true);
      }
      // Node's order within one immediate: nextTick, then microtasks.
      expect(out.indexOf('nextTick in immediate')).toBeLessThan(out.indexOf('microtask in immediate'));
      expect(out).toMatch(/^done \S+ @\d+$/m);
    },
  },
  {
    fixture: 'timers-overflow.cjs',
    check(out, err, expect) {
      expect(err).toMatch(
        /^\(node:\d+\) TimeoutOverflowWarning: 2147483648 does not fit into a 32-bit signed integer\./m,
      );
      expect(out).toMatch(/^overflowed timer fired \d+$/m);
      expect(out).toMatch(/^done \d+$/m);
    },
  },
  {
    fixture: 'timers-race.cjs',
    check(out, _err, expect) {
      const order = /^order (.*)$/m.exec(out)![1].split(' ');
      const expected = ['timeout0', 'immediate'];
      for (let i = 0; i < 6; i++) expected.push(`pool${i}`, `t${i}`);
      for (let i = 0; i < 4; i++) expected.push(`late${i}`, `early${i}`);
      expect([...order].sort()).toEqual(expected.sort());
      expect(out).toMatch(/^done$/m);
    },
  },
  {
    fixture: 'timers-many.cjs',
    varies: 'stdout',
    check(out, _err, expect) {
      const fired = out.split('\n').filter((l) => /^ *\d+ \w/.test(l));
      const total = num(out, /^done (\d+)$/m);
      expect(fired).toHaveLength(total);
      expect(fired.filter((l) => / timeout \d+ /.test(l))).toHaveLength(120);
      expect(fired.filter((l) => / immediate from /.test(l))).toHaveLength(12);
      expect(fired.filter((l) => / nested from /.test(l))).toHaveLength(8);
      // Virtual time never goes backwards.
      const times = fired.map((l) => Number(/@(\d+)/.exec(l)![1]));
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]);
    },
  },
  {
    fixture: 'timers-refresh-fired.cjs',
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).not.toMatch(/NEVER/);
      // The 1 ms timer's line may come anywhere: a stall between creating the timers (a
      // loaded machine) makes it due after the 5 ms one, as in a plain run.
      const lines = out.split('\n');
      expect(lines.filter((l) => l === 'refresh a cleared timeout true')).toHaveLength(1);
      const rest = lines.filter((l) => !l.startsWith('refresh a cleared timeout')).join('\n');
      expect(rest).toMatch(/^fired 1 \S+\nrefresh returns handle true\nfired 2 \S+\n$/);
    },
  },
  {
    fixture: 'timers-ref.cjs',
    check(out, _err, expect) {
      expect(out).not.toMatch(/NEVER/);
      expect(out).toMatch(/^hasRef initially true$/m);
      expect(out).toMatch(/^unref returns handle true hasRef false$/m);
      expect(out).toMatch(/^ref returns handle true hasRef true$/m);
      expect(out).toMatch(/^immediate hasRef true unref true false ref true true$/m);
      expect(out).toMatch(/^interval hasRef false$/m);
      expect(out).toMatch(/^typeof primitive number function$/m);
      expect(out).toMatch(/^immediate fired \d+$/m);
      expect(out).toMatch(/^refresh returns handle true \d+$/m);
      expect(out).toMatch(/^unref interval tick 1 \d+$/m);
      // refresh() in the 10 ms timer restarts the 20 ms one: it fires 20 ms (of the loop's
      // clock) after the refresh. A loaded machine can stall the program until both are due
      // and the 20 ms one fires first: then the refresh re-arms it, and it fires again.
      const fires = [...out.matchAll(/^refreshed timeout fired (\d+) ticks \d+ done$/gm)].map((m) => Number(m[1]));
      const refreshed = num(out, /^refresh returns handle true (\d+)$/m);
      const refreshedFirst = out.indexOf('refresh returns handle') < out.indexOf('refreshed timeout fired');
      expect(fires, out).toHaveLength(refreshedFirst ? 1 : 2);
      expect(fires.at(-1)! - refreshed, out).toBeGreaterThanOrEqual(15);
    },
  },
  {
    fixture: 'timers-promises.mjs',
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).not.toMatch(/NEVER|NOT aborted/);
      expect(out).toMatch(/^sleep value v1 \d+$/m);
      expect(num(out, /^sleep value v1 (\d+)$/m)).toBeGreaterThanOrEqual(14);
      expect(out).toMatch(/^immediate value v2 \d+$/m);
      expect(out.match(/^interval tick [123] \d+ \S+$/gm)).toHaveLength(3);
      expect(out).toMatch(/^scheduler\.wait \d+$/m);
      expect(out).toMatch(/^aborted sleep AbortError ABORT_ERR true The operation was aborted \d+$/m);
      expect(out).toMatch(/^pre-aborted sleep AbortError ABORT_ERR$/m);
      // Aborted synchronously, in the same turn as the abort (rewind borrows Node's class then).
      expect(out).toMatch(/^abort error is Node's own class true$/m);
      expect(out).toMatch(/^aborted immediate AbortError true$/m);
      expect(out).toMatch(/^aborted interval AbortError ABORT_ERR 2 \d+$/m);
      expect(out).toMatch(/^util\.promisify\(setTimeout\) pv \d+$/m);
      expect(out).toMatch(/^race fast \d+$/m);
      expect(out).toMatch(/^done \d+ \S+$/m);
    },
  },
  {
    fixture: 'abort-signal-timeout.mjs',
    check(out, _err, expect) {
      expect(out).toMatch(/^created false \S+$/m);
      expect(num(out, /^abort event true TimeoutError 23 (\d+)$/m)).toBeGreaterThanOrEqual(19);
      expect(out).toMatch(/^done true \d+$/m);
      expect(out.indexOf('abort event')).toBeLessThan(out.indexOf('done'));
    },
  },
  {
    fixture: 'crypto-keys.mjs',
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(/^ec [0-9a-f]{16} ec$/m);
      expect(out).toMatch(/^ecdsa [0-9a-f]{16} true$/m);
      expect(out).toMatch(/^rsa \S+ [0-9a-f]{16} secret$/m);
      expect(out).toMatch(/^aes [0-9a-f]{32}$/m);
      expect(out).toMatch(/^prime \d+n [0-9a-f]{10}$/m);
      expect(out).toMatch(/^ecdh [0-9a-f]{16} [0-9a-f]{16}$/m);
      expect(out).toMatch(/^dh [0-9a-f]{16} [0-9a-f]{16}$/m);
    },
  },
  {
    fixture: 'webcrypto-keys.mjs',
    varies: 'stdout',
    check(out, err, expect) {
      expect(out).toMatch(/^aes secret true encrypt,decrypt [0-9a-f]{32}$/m);
      expect(out).toMatch(/^aes-gcm [0-9a-f]{16}$/m);
      expect(out).toMatch(/^hidden false [0-9a-f]{16}$/m);
      expect(out).toMatch(/^hmac 512 [0-9a-f]{16}$/m);
      expect(out).toMatch(/^ecdsa sign [0-9a-f]{16}$/m);
      expect(out).toMatch(/^ed25519 false [0-9a-f]{16}$/m);
      expect(out).toMatch(/^rsa-pss 1024 [0-9a-f]{16}$/m);
      expect(out).toMatch(/^x25519 [0-9a-f]{16}$/m);
      expect(out).toMatch(/^error OperationError /m);
      // Recorded, not named as unrecorded.
      expect(err).not.toMatch(/not recorded|DEP0204/);
    },
  },
  // ---- outputs --------------------------------------------------------------------------
  {
    fixture: 'stack-own-prepare.mjs',
    check(out, _err, expect) {
      expect(out.match(/^resumed \d at \d+$/gm)).toHaveLength(3);
      expect(out).not.toMatch(/node:internal\/(timers|process\/task_queues)/);
      expect(out).toMatch(/^restored$/m);
    },
  },
  {
    fixture: 'stack-limit.cjs',
    varies: 'stdout',
    check(out, _err, expect) {
      // Every stack has the program's limit in visible frames, async ones to a9 included.
      const stacks = out.split(/^(?=Error: )/m).slice(1);
      expect(stacks).toHaveLength(11);
      for (const s of stacks) expect(s.trimEnd().split('\n').slice(1), s).toHaveLength(10);
      expect(out.match(/^ {4}at async a9 /gm)).toHaveLength(7);
      expect(out).not.toMatch(/node:internal\/(timers|process\/task_queues)/);
    },
  },
  {
    fixture: 'outputs.cjs',
    varies: 'stdout',
    check(out, err, expect) {
      expect(out.match(/^line \d+ \S+$/gm)).toHaveLength(400);
      expect(out).toMatch(/^BIG:[0-9a-f]{12000}$/m);
      expect(out).toMatch(/^write callback ran \S+$/m);
      expect(out).toMatch(/^buffer write \d+$/m);
      expect(out).toContain('\nhello\n€\nunicode ✓ 🎉\n€\n');
      expect(out).toMatch(/^done \d+$/m);
      expect(err).toMatch(new RegExp(`^to stderr ${UUID}$`, 'm'));
      expect(err).toMatch(/^BIG STDERR:[A-Za-z0-9+/]{4000}$/m);
      expect(err).toMatch(/^console\.error \d+$/m);
      expect(err).toMatch(/^stderr with callback$/m);
    },
  },
  {
    fixture: 'exit-listener.cjs',
    check(out, _err, expect) {
      expect(out).toMatch(/^last timer \d+\nexit listener 0 \d+ \S+\n$/);
    },
  },
  {
    fixture: 'before-exit.cjs',
    check(out, _err, expect) {
      expect(out).toMatch(/^first timer \d+$/m);
      expect(out.match(/^beforeExit 0 \d \d+$/gm)).toHaveLength(3);
      expect(out.match(/^timer from beforeExit \d \d+$/gm)).toHaveLength(2);
    },
  },
];

describe.concurrent('record → replay reproduces the run', () => {
  for (const c of CASES) {
    it(c.fixture, async ({ expect }) => {
      const args = c.args ?? [];
      const plain = c.varies ? runPlain(c.fixture, args) : null;
      const r = await recordAndReplay(c.fixture, args);
      const ctx = describeRun('record', r.record);
      expect({ status: r.record.status, signal: r.record.signal }, ctx).toEqual({
        status: c.status === undefined ? 0 : c.status,
        signal: c.signal ?? null,
      });
      c.check?.(r.record.stdout.toString('utf8'), r.record.stderr.toString('utf8'), expect);
      expectReplayMatches(expect, r);
      if (plain) {
        const p = await plain;
        expect(p.status, describeRun('plain run', p)).toBe(r.record.status);
        // The run really depends on nondeterministic inputs: without rewind it prints other values.
        expect(p[c.varies!].equals(r.record[c.varies!]), `a plain run printed the same ${c.varies}`).toBe(false);
      }
    });
  }

  it('plain runs without rewind differ from each other (the fixtures are nondeterministic)', async ({ expect }) => {
    for (const f of ['random.cjs', 'clocks.mjs', 'timers-many.cjs']) {
      const [a, b] = await Promise.all([runPlain(f), runPlain(f)]);
      expect(a.status).toBe(0);
      expect(b.status).toBe(0);
      expect(a.stdout.equals(b.stdout), `${f} printed the same twice`).toBe(false);
    }
  });

  it('replays 5 s of timers on virtual time (without waiting them out)', async ({ expect }) => {
    const r = await recordAndReplay('sleep-5s.mjs');
    const out = r.record.stdout.toString('utf8');
    expect(r.record.ms, 'the recording really slept').toBeGreaterThanOrEqual(4900);
    expect(num(out, /^after 1500 (\d+)$/m)).toBeGreaterThanOrEqual(1490);
    expect(num(out, /^after 2000 more (\d+)$/m)).toBeGreaterThanOrEqual(3490);
    expect(out.match(/^interval [123] \d+$/gm)).toHaveLength(3);
    expect(num(out, /^done (\d+) /m)).toBeGreaterThanOrEqual(4980);
    expectReplayMatches(expect, r);
    // Not a speed target (that is `npm run bench`): a replay that waited would take as long
    // as the recording did (>= 5 s); one that does not takes a fraction of it, on the same machine.
    expect(r.replay.ms, 'the replay waited in real time').toBeLessThan(r.record.ms / 2);
  });

  it('the same recording replays identically more than once', async ({ expect }) => {
    const rec = await record('timers-race.cjs');
    expect(rec.status).toBe(0);
    const [a, b] = await Promise.all([replay(rec.dir), replay(rec.dir)]);
    expectReplayMatches(expect, { record: rec, replay: a });
    expectReplayMatches(expect, { record: rec, replay: b });
  });

  it('--summary adds one line after the program output; --no-summary does not', async ({ expect }) => {
    const rec = await record('clocks.cjs');
    expect(rec.status).toBe(0);
    const [withSummary, without] = await Promise.all([
      replay(rec.dir, { flags: ['--summary'] }),
      replay(rec.dir, { flags: ['--no-summary'] }),
    ]);
    expectReplayMatches(expect, { record: rec, replay: without });
    expect(withSummary.status).toBe(0);
    expect(withSummary.stdout.equals(rec.stdout)).toBe(true);
    const err = withSummary.stderr.toString('utf8');
    expect(err.startsWith(rec.stderr.toString('utf8'))).toBe(true);
    expect(err.slice(rec.stderr.length)).toMatch(/^rewind: replay complete[^\n]*\n$/);
  });
});
