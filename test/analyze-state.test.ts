// `rewind analyze` names the shared state of the racing pair: the variable or property one
// turn writes and the other reads. Races built on purpose (each order forced with
// --schedule), then analyzed; the static pass is also checked on its own, on code whose
// coverage is given.
import http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accessesIn, fitsSource, parseScript, type Access } from '../src/analyze/accesses.js';
import type { CoveredFunction } from '../src/debug/coverage.js';
import { cleanupTempDirs, describeRun, record, replay, rewind, tempDir } from './helpers.js';
import {
  deadlineTestBothOrders,
  forced,
  workerTimerBothOrders,
  moveBefore,
  turnsOf,
  type TurnJson,
} from './schedules.js';

afterAll(cleanupTempDirs);

interface Place {
  site: string;
  turn: 'A' | 'B';
}
interface Analysis {
  kind: string;
  failure?: string;
  passingRun?: string;
  sharedState?: { name: string; write: Place; read: Place; reach: string }[];
  sharedStateNote?: string;
  sharedStateMs?: number;
}

async function analyze(fail: string, pass: string, cwd: string, json = true, more: string[] = []) {
  const r = await rewind(['analyze', fail, '--passing', pass, ...(json ? ['--json'] : []), ...more], {
    cwd,
    timeoutMs: 120_000,
  });
  expect(r.status, describeRun('analyze', r)).toBe(0);
  return r;
}

const where = (p: Place | undefined) => p && `${p.turn} ${path.basename(p.site.replace(/:\d+$/, ''))}`;

/** A failing and a passing run of a timer (the last turn in the failing order) racing the rest. */
async function timerRace(name: string, args: (ms: string) => string[], cwd: string) {
  const plain = await record(name, args('2000'), { cwd });
  expect(plain.status, describeRun('plain', plain)).toBe(0);
  const turns = await turnsOf(plain.dir);
  const timer = turns.find((t) => t.call === 'setTimeout callback')!;
  const rest = turns.filter((t) => t !== timer);
  const [fail, pass] = await Promise.all([
    forced(name, args('200'), [timer, ...rest], cwd),
    forced(name, args('200'), [...rest, timer], cwd),
  ]);
  expect(fail.status, describeRun('fail', fail)).toBe(1);
  expect(pass.status, describeRun('pass', pass)).toBe(0);
  return { fail, pass };
}

describe('rewind analyze names the shared state', () => {
  it('a module-level variable written by the file read and read by the timer; human output too', async () => {
    const cwd = tempDir();
    const { fail, pass } = await timerRace('race/timer-file.cjs', (ms) => [ms], cwd);
    const r = await analyze(fail.dir, pass.dir, cwd);
    const a = JSON.parse(r.stdout.toString()) as Analysis;
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    const first = a.sharedState?.[0];
    expect(first, JSON.stringify(a)).toMatchObject({ name: 'config', reach: 'module' });
    expect(where(first!.write)).toBe('A timer-file.cjs:12');
    expect(where(first!.read)).toBe('B timer-file.cjs:7');
    expect(a.sharedStateNote).toBeUndefined();
    expect(a.sharedStateMs).toBeGreaterThan(0);
    // The measured replay changed nothing: the kept passing run still replays as recorded.
    const rep = await replay(a.passingRun!);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(rep.stdout.toString()).toMatch(/^config loaded in time/);
    const human = (await analyze(fail.dir, pass.dir, cwd, false)).stdout.toString();
    expect(human).toMatch(
      /^ {2}shared state: `config` written by A \(\S*timer-file\.cjs:12\) and read by B \(\S*timer-file\.cjs:7\)$/m,
    );
  });

  it('a property of `this` in an ES module: the one the failing read checks comes first', async () => {
    const cwd = tempDir();
    const { fail, pass } = await timerRace('race/loader-class.mjs', (ms) => [ms], cwd);
    const a = JSON.parse((await analyze(fail.dir, pass.dir, cwd)).stdout.toString()) as Analysis;
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    const names = (a.sharedState ?? []).map((x) => `${x.name} ${where(x.write)} ${where(x.read)}`);
    expect(names.slice(0, 2)).toEqual([
      'this.ready A loader-class.mjs:13 B loader-class.mjs:17',
      'this.text A loader-class.mjs:12 B loader-class.mjs:18',
    ]);
  });

  it('two HTTP responses: a variable, then a property (`cache.entries`) set in one handler, read in the other', async () => {
    const server = http.createServer((req, res) =>
      res.end(
        req.url === '/login' ? 'session-7' : req.url === '/list' ? 'a,b,c' : req.url === '/show' ? 'b' : 'the data',
      ),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((server.address() as { port: number }).port);
      for (const [name, first, second, expected] of [
        ['race/two-responses.cjs', 'session-7', 'the data', 'session A two-responses.cjs:17 B two-responses.cjs:20'],
        ['race/cache-responses.cjs', 'a,b,c', 'b', 'cache.entries A cache-responses.cjs:16 B cache-responses.cjs:19'],
      ]) {
        const cwd = tempDir();
        const plain = await record(name, [port, 'lenient'], { cwd });
        const turns = await turnsOf(plain.dir);
        const body = (t: TurnJson) => String(t.text ?? '');
        const one = turns.find((t) => body(t).endsWith(`\r\n\r\n${first}`))!;
        const two = turns.find((t) => body(t).endsWith(`\r\n\r\n${second}`))!;
        expect(one && two, JSON.stringify(turns)).toBeTruthy();
        const oneFirst = turns.indexOf(one) < turns.indexOf(two) ? turns : moveBefore(turns, one, two);
        const [fail, pass] = await Promise.all([
          forced(name, [port], moveBefore(oneFirst, two, one), cwd),
          forced(name, [port], oneFirst, cwd),
        ]);
        expect([fail.status, pass.status], describeRun('fail', fail)).toEqual([1, 0]);
        const a = JSON.parse((await analyze(fail.dir, pass.dir, cwd)).stdout.toString()) as Analysis;
        expect(a.kind, JSON.stringify(a)).toBe('pair');
        const top = a.sharedState?.[0];
        expect(top && `${top.name} ${where(top.write)} ${where(top.read)}`, JSON.stringify(a)).toBe(expected);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a worker's message: what B overtook from A on (the message port's turn), not only A's own", async () => {
    const cwd = tempDir();
    const { fail, pass } = await workerTimerBothOrders(cwd);
    const a = JSON.parse((await analyze(fail.dir, pass.dir, cwd)).stdout.toString()) as Analysis;
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    const top = a.sharedState?.[0];
    expect(top && `${top.name} ${where(top.write)} ${where(top.read)}`, JSON.stringify(a)).toBe(
      'answer A worker-timer.cjs:7 B worker-timer.cjs:10',
    );
  });

  it('a variable of a function called before both turns (after twenty turns that do not matter)', async () => {
    const cwd = tempDir();
    const plain = await record('race/warm-up.cjs', ['2000'], { cwd });
    const turns = await turnsOf(plain.dir);
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    const read = turns.find((t) => t.api === 'fs.open' && turns.indexOf(t) >= 20)!;
    const readFirst = turns.indexOf(read) < turns.indexOf(timer) ? turns : moveBefore(turns, read, timer);
    const [fail, pass] = await Promise.all([
      forced('race/warm-up.cjs', ['200'], moveBefore(readFirst, timer, read), cwd),
      forced('race/warm-up.cjs', ['200'], readFirst, cwd),
    ]);
    expect([fail.status, pass.status], describeRun('fail', fail)).toEqual([1, 0]);
    const a = JSON.parse((await analyze(fail.dir, pass.dir, cwd)).stdout.toString()) as Analysis;
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect(a.sharedState?.[0], JSON.stringify(a)).toMatchObject({ name: 'config', reach: 'closure' });
    expect(where(a.sharedState![0].write)).toBe('A warm-up.cjs:20');
    expect(where(a.sharedState![0].read)).toBe('B warm-up.cjs:15');
  });

  it('a test of `node --test` (--test NAME): the variable the async test reads after its await', async () => {
    const cwd = tempDir();
    const dirs = await deadlineTestBothOrders(cwd);
    const r = await rewind(['analyze', dirs[0], '--passing', dirs[1], '--test', 'config before deadline', '--json'], {
      cwd,
      timeoutMs: 120_000,
    });
    expect(r.status, describeRun('analyze', r)).toBe(0);
    const a = JSON.parse(r.stdout.toString()) as Analysis;
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    // The test function was called before both turns; B's side is its code after the await.
    const top = a.sharedState?.[0];
    expect(top && `${top.name} ${top.reach} ${where(top.write)} ${where(top.read)}`, JSON.stringify(a)).toBe(
      'config closure A deadline.test.cjs:9 B deadline.test.cjs:12',
    );
  });

  it('says it could not tell when the two share no JavaScript state (a file on disk), or when out of time', async () => {
    const cwd = tempDir();
    const { fail, pass } = await timerRace('race/through-disk.cjs', (ms) => [ms, tempDir()], cwd);
    const a = JSON.parse((await analyze(fail.dir, pass.dir, cwd)).stdout.toString()) as Analysis;
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect(a.sharedState).toEqual([]);
    expect(a.sharedStateNote).toMatch(
      /^no variable or property is written by one of the two turns and read by the other/,
    );
    const human = (await analyze(fail.dir, pass.dir, cwd, false)).stdout.toString();
    expect(human).toMatch(/^ {2}shared state: could not tell \(no variable or property .*outside JavaScript/m);
    // A budget too short for any replay: said, not waited for.
    const late = JSON.parse(
      (await analyze(fail.dir, pass.dir, cwd, true, ['--state-budget', '0.001'])).stdout.toString(),
    ) as Analysis;
    expect(late.kind).toBe('pair');
    expect(late.sharedState).toEqual([]);
    expect(late.sharedStateNote).toMatch(
      /replay took longer than the 0\.001 s budget \(--state-budget\) and was stopped/,
    );
  });
});

describe('the static pass', () => {
  /** Coverage saying that the functions starting at these markers ran, with the blocks at `skipped` not run. */
  function ran(src: string, starts: string[], skipped: string[] = []): CoveredFunction[] {
    const ast = parseScript(src) as unknown as { body: { start: number; end: number }[] };
    /** The end of the first function whose node starts at `at` or after (a method's node starts at its parameters). */
    const fnEnd = (at: number) => {
      let best: { start: number; end: number } | null = null;
      const walk = (n: unknown) => {
        if (!n || typeof n !== 'object') return;
        const node = n as { type?: string; start?: number; end?: number };
        if (/Function/.test(node.type ?? '') && node.start! >= at && (!best || node.start! < best.start))
          best = { start: node.start!, end: node.end! };
        for (const v of Object.values(n)) if (typeof v === 'object') walk(v);
      };
      walk(ast);
      expect(best, `a function at ${at}`).not.toBeNull();
      return best!.end;
    };
    return starts.map((m) => {
      const at = src.indexOf(m);
      const ranges: [number, number, number][] = [[at, fnEnd(at), 1]];
      for (const s of skipped) {
        const b = src.indexOf(s);
        if (b > at && b < ranges[0][1]) ranges.push([b, b + s.length, 0]);
      }
      return ranges;
    });
  }
  const show = (xs: Access[]) => xs.map((x) => `${x.write ? 'w' : 'r'} ${x.name} ${x.reach}`);

  const src = [
    'let config = null;',
    'const cache = { entries: [] };',
    'class Loader { load(t) { this.ready = true; } use() { return this.ready; } }',
    'class Other { use() { return this.ready; } }',
    'function load(text) { const local = text.trim(); config = local; cache.entries.push(local); }',
    'function check() { if (config === null) { throw new Error("late"); } return cache.entries.length; }',
    'function counter() { let n = 0; return function bump() { n++; }; }',
  ].join('\n');
  const ast = parseScript(src)!;

  it('a called function: module-level writes (a mutating method counts), not its own locals', () => {
    const got = show(accessesIn(ast, 'x', ran(src, ['function load'])));
    expect(got).toContain('w config module');
    expect(got).toContain('w cache.entries module');
    expect(got).toContain('r cache.entries module');
    expect(got.some((g) => g.includes('local') || g.includes('text'))).toBe(false);
  });

  it('property names are not variables, whatever the object', () => {
    const code = 'let name = 1;\nfunction f() { return make().name + g.name; }\nfunction w() { name = 2; }';
    const reads = accessesIn(parseScript(code)!, 'x', ran(code, ['function f']));
    expect(show(reads)).toEqual(['r make module', 'r g module', 'r g.name module']);
    expect(show(accessesIn(parseScript(code)!, 'x', ran(code, ['function w'])))).toEqual(['w name module']);
  });

  it('a property through an alias (`var self = this`, `const c = cache`) is the original one', () => {
    const code = [
      'const cache = { entries: null };',
      'function Loader() {}',
      'Loader.prototype.load = function () { var self = this; const c = cache; self.ready = true; c.entries = []; };',
      'Loader.prototype.use = function () { return this.ready && cache.entries; };',
    ].join('\n');
    const tree = parseScript(code)!;
    const load = accessesIn(tree, 'x', ran(code, ['function () { var self']));
    const use = accessesIn(tree, 'x', ran(code, ['function () { return']));
    const shared = load.filter((w) => w.write && use.some((r) => !r.write && r.key === w.key));
    expect(shared.map((w) => `${w.name} ${w.reach}`)).toEqual(['self.ready this', 'c.entries module']);
    // Rebinding the alias itself writes no property.
    expect(load.some((w) => w.write && w.name === 'self')).toBe(false);
  });

  it('coverage of other text than the file (transformed when loaded) is recognized, not misread', () => {
    const cov = ran(src, ['function load', 'function check']);
    expect(fitsSource(ast, cov)).toBe(true);
    expect(fitsSource(parseScript(`/* a header a loader added */\n${src}`)!, cov)).toBe(false);
  });

  it('an async function resumed after an await: its code after the await ran, its variables are not new', () => {
    const code = 'async function t(p) {\n  let config = null;\n  await p;\n  return config;\n}';
    const after = code.indexOf('\n  return');
    const cov: CoveredFunction[] = [
      [
        [0, code.length, 0],
        [after, code.length - 1, 1],
      ],
    ];
    expect(show(accessesIn(parseScript(code)!, 'x', cov))).toEqual(['r config closure']);
  });

  it('blocks that did not run are left out', () => {
    const all = show(accessesIn(ast, 'x', ran(src, ['function check'])));
    expect(all).toContain('r Error module');
    const skipped = show(accessesIn(ast, 'x', ran(src, ['function check'], ['{ throw new Error("late"); }'])));
    expect(skipped).not.toContain('r Error module');
    expect(skipped).toContain('r config module');
  });

  it('`this` is one instance per class; a closure variable of a call that ran earlier reaches both', () => {
    const key = (m: string) => accessesIn(ast, 'x', ran(src, [m])).find((a) => a.name === 'this.ready')?.key ?? 'none';
    expect(key('load(t)')).toBe(key('use() { return this.ready; } }\nclass'));
    expect(key('use() { return this.ready; } }\nfunction')).not.toBe(key('load(t)'));
    const bump = accessesIn(ast, 'x', ran(src, ['function bump']));
    expect(show(bump)).toEqual(['w n closure', 'r n closure']);
    // Called in the same turn, its variable is new to that turn: not shared.
    expect(show(accessesIn(ast, 'x', ran(src, ['function counter', 'function bump'])))).not.toContain('w n closure');
  });
});
