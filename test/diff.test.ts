// `rewind diff A B`: two recordings of one program, their turns matched by operation: where
// the schedules part, which values differ, the first differing output line, how each ended;
// --json; whole multi-process recordings matched by program and place in the tree.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NODE,
  READ_FILE_FIRST_API,
  READ_FILE_TURNS,
  cleanupTempDirs,
  describeRun,
  eventsOf,
  fixture,
  record,
  rewind,
  tempDir,
  type Recorded,
} from './helpers.js';

afterAll(cleanupTempDirs);

async function forced(name: string, args: string[], turns: [number, number][], cwd: string): Promise<Recorded> {
  const file = path.join(tempDir('rewind-schedule-'), 'order.json');
  fs.writeFileSync(file, JSON.stringify({ turns }));
  const dir = path.join(tempDir('rewind-race-'), 'rec');
  const r = await rewind(['record', '--schedule', file, '--out', dir, '--', NODE, fixture(name), ...args], { cwd });
  return { ...r, dir };
}

interface DiffJson {
  processes: {
    place: string;
    diff: {
      schedule: {
        same: boolean;
        first?: {
          index: number;
          a: { kind: string; op: number; site?: string } | null;
          b: { kind: string; op: number; site?: string } | null;
          aInB: number | null;
          bInA: number | null;
        };
      };
      values: {
        counts: Record<string, number>;
        first: { class: string; a: { value: string } | null; b: { value: string } | null; diff?: string }[];
      };
      output: { stream: string; line: number; a: string | null; b: string | null }[];
      ended: { a: string; b: string; same: boolean };
      failed: { a: string | null; b: string | null };
    };
  }[];
}

describe('rewind diff', () => {
  it('a passing and a failing order of a timer and a file read: turns that changed places, output, ends', async () => {
    const cwd = tempDir();
    const plain = await record('race/timer-file.cjs', ['2000'], { cwd });
    const turns = (await eventsOf(plain.dir)).filter((e) => e.kind === 'turn');
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    const reads = turns.filter((t) => t !== timer).map((t) => [t.op as number, 0] as [number, number]);
    const [pass, fail] = await Promise.all([
      forced('race/timer-file.cjs', ['30'], [...reads, [timer.op as number, 0]], cwd),
      forced('race/timer-file.cjs', ['30'], [[timer.op as number, 0], ...reads], cwd),
    ]);
    expect([pass.status, fail.status], describeRun('fail', fail)).toEqual([0, 1]);

    const text = await rewind(['diff', pass.dir, fail.dir, '--sites'], { cwd });
    expect(text.status, describeRun('diff', text)).toBe(1);
    const out = text.stdout.toString();
    const n = READ_FILE_TURNS;
    expect(out).toContain(`\nschedule: the runs part at turn 1 (A ${n + 1} turns, B 1; ${n} only in A)\n`);
    expect(out).toMatch(
      new RegExp(`^ {2}A ran turn 1: ${READ_FILE_FIRST_API} callback .*scheduled at .*timer-file\\.cjs:10:\\d+$`, 'm'),
    );
    expect(out).toMatch(/^ {6}B never ran it$/m);
    expect(out).toMatch(/^ {2}B ran turn 1: setTimeout callback .*scheduled at .*timer-file\.cjs:6:\d+$/m);
    expect(out).toContain(`\n      A ran it at turn ${n + 1}\n`);
    expect(out).toContain(
      `output: stdout parts at line 1\n  A: ${JSON.stringify(pass.stdout.toString().trimEnd())}\n  B: (ends)`,
    );
    expect(out).toMatch(
      new RegExp(
        '^ended: A exit code 0 \\(event loop empty\\)\n {7}B exit code 1 \\(uncaught exception\\) ' +
          '\\(Error: deadline passed before the config was loaded\\)$',
        'm',
      ),
    );

    const json = await rewind(['diff', pass.dir, fail.dir, '--json'], { cwd });
    const d = (JSON.parse(json.stdout.toString()) as DiffJson).processes[0].diff;
    expect(d.schedule.same).toBe(false);
    expect(d.schedule.first).toMatchObject({
      index: 0,
      a: { kind: `${READ_FILE_FIRST_API} callback` },
      b: { kind: 'setTimeout callback', op: timer.op },
      aInB: null,
      bInA: READ_FILE_TURNS,
    });
    expect(d.output).toEqual([{ stream: 'stdout', line: 1, a: pass.stdout.toString().trimEnd(), b: null }]);
    expect(d.failed).toEqual({ a: null, b: 'Error: deadline passed before the config was loaded' });
  });

  it('a recording against itself: nothing differs, exit 0', async () => {
    const rec = await record('race/dice.cjs', [], { cwd: tempDir() });
    const r = await rewind(['diff', rec.dir, rec.dir]);
    expect(r.status, describeRun('diff', r)).toBe(0);
    expect(r.stdout.toString()).toMatch(
      /^schedule: the same 1 turns in the same order\nvalues: the same\noutput: the same\nended: both exit code 0/m,
    );
  });

  it('random values that differ are listed with both values and where they part', async () => {
    const cwd = tempDir();
    const [a, b] = [await record('race/dice.cjs', [], { cwd }), await record('race/dice.cjs', [], { cwd })];
    const printed = (r: Recorded, what: string) => new RegExp(`^${what} (\\S+)$`, 'm').exec(r.stdout.toString())![1];
    expect(printed(a, 'bytes')).not.toBe(printed(b, 'bytes'));
    const r = await rewind(['diff', a.dir, b.dir, '--json']);
    const d = (JSON.parse(r.stdout.toString()) as DiffJson).processes[0].diff;
    expect(d.schedule.same).toBe(true);
    const bytes = d.values.first.find((v) => v.class === 'random' && v.a!.value.length === 16)!;
    expect([bytes.a!.value, bytes.b!.value]).toEqual([printed(a, 'bytes'), printed(b, 'bytes')]);
    expect(bytes.diff).toMatch(/\[.* → .*\]/);
    expect(d.output[0]).toMatchObject({ stream: 'stdout', line: printed(a, 'int') === printed(b, 'int') ? 2 : 1 });
    const text = (await rewind(['diff', a.dir, b.dir])).stdout.toString();
    expect(text).toMatch(/^values: \d+ random(, \d+ [a-z/ ]+)* differ/m);
  });

  it('whole recordings of several processes: each compared with its counterpart by program and place', async () => {
    const cwd = tempDir();
    const [a, b] = [await record('race/child-exit.cjs', [], { cwd }), await record('race/child-exit.cjs', [], { cwd })];
    const r = await rewind(['diff', a.dir, b.dir, '--json']);
    const procs = (JSON.parse(r.stdout.toString()) as DiffJson).processes;
    expect(procs.map((p) => p.place).sort()).toEqual(['child-exit#0', 'child-exit#0/node#0']);
    const text = (await rewind(['diff', a.dir, b.dir])).stdout.toString();
    expect(text).toMatch(/^process child-exit#0\/node#0 \(A: pid \d+, B: pid \d+\)$/m);
    // -p: one process each.
    const one = await rewind(['diff', a.dir, b.dir, '-p', 'child-exit', '--json']);
    expect((JSON.parse(one.stdout.toString()) as DiffJson).processes.map((p) => p.place)).toEqual(['child-exit']);
  });
});
