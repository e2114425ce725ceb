// Races built on purpose: a recording's turns, and runs recorded under a forced schedule
// (record --schedule) with the turns in a chosen order. Shared by the analyze tests.
import fs from 'node:fs';
import path from 'node:path';
import {
  NODE,
  READ_FILE_FIRST_API,
  describeRun,
  eventsOf,
  fixture,
  record,
  rewind,
  tempDir,
  type EventJson,
  type Recorded,
} from './helpers.js';

export interface TurnJson extends EventJson {
  op: number;
  k: number;
}

/** The turns of a recording (its root process), each with k: which delivery of its operation it is. */
export async function turnsOf(dir: string): Promise<TurnJson[]> {
  return turnsIn(await eventsOf(dir));
}

function turnsIn(events: EventJson[]): TurnJson[] {
  const seen = new Map<number, number>();
  return events
    .filter((e) => e.kind === 'turn')
    .map((e) => {
      const op = e.op as number;
      const k = seen.get(op) ?? 0;
      seen.set(op, k + 1);
      return { ...e, op, k };
    });
}

/** Records `name` under a forced schedule: these turns in this order, or another recording's. */
export async function forced(name: string, args: string[], order: TurnJson[] | string, cwd: string): Promise<Recorded> {
  let file = order as string;
  if (typeof order !== 'string') {
    file = path.join(tempDir('rewind-schedule-'), 'order.json');
    fs.writeFileSync(file, JSON.stringify({ turns: order.map((t) => [t.op, t.k]) }));
  }
  const dir = path.join(tempDir('rewind-race-'), 'rec');
  const r = await rewind(['record', '--schedule', file, '--out', dir, '--', NODE, fixture(name), ...args], { cwd });
  return { ...r, dir };
}

/** `order` with `moved` taken out and put just before `before`. */
export function moveBefore(order: TurnJson[], moved: TurnJson, before: TurnJson): TurnJson[] {
  const rest = order.filter((t) => t !== moved);
  rest.splice(rest.indexOf(before), 0, moved);
  return rest;
}

/**
 * race/deadline.test.cjs under `node --test`, recorded in both orders of its config read and
 * its deadline timer, forced in the test file's process: the failing run's directory, then
 * the passing one's (the same inputs each time).
 */
export async function deadlineTestBothOrders(cwd: string): Promise<[failing: string, passing: string]> {
  const file = fixture('race/deadline.test.cjs');
  const plain = path.join(tempDir('rewind-race-'), 'rec');
  const p = await rewind(['record', '--out', plain, '--', NODE, '--test', file], { cwd });
  if (p.status !== 0) throw new Error(describeRun('plain', p));
  // The runner and the test file's process are both "deadline.test": the second entry is the test file's.
  const ps = (await rewind(['ps', plain, '--json'])).stdout.toString().trim().split('\n');
  const child = (ps.map((l) => JSON.parse(l)) as { pid: number; ppid: number }[]).find((x) =>
    ps.some((l) => (JSON.parse(l) as { pid: number }).pid === x.ppid),
  )!;
  const turns = turnsIn(await eventsOf(plain, { process: String(child.pid) }));
  const timer = turns.find((t) => t.call === 'setTimeout callback')!;
  const open = turns.find((t) => t.api === READ_FILE_FIRST_API)!;
  const readFirst = turns.indexOf(open) < turns.indexOf(timer) ? turns : moveBefore(turns, open, timer);
  const spec = (order: TurnJson[]) => ({
    rewindSchedule: 1,
    processes: [
      { program: 'deadline.test', thread: false, turns: [] },
      { program: 'deadline.test', thread: false, turns: order.map((t) => [t.op, t.k]) },
    ],
  });
  const dirs: string[] = [];
  for (const order of [moveBefore(readFirst, timer, open), readFirst]) {
    const f = path.join(tempDir('rewind-schedule-'), 'order.json');
    fs.writeFileSync(f, JSON.stringify(spec(order)));
    const dir = path.join(tempDir('rewind-race-'), 'rec');
    const r = await rewind(['record', '--schedule', f, '--out', dir, '--', NODE, '--test', file], { cwd });
    if (r.status !== (dirs.length === 0 ? 1 : 0)) throw new Error(describeRun('forced', r));
    dirs.push(dir);
  }
  return [dirs[0], dirs[1]];
}

/**
 * race/worker-timer.cjs with a 1 ms deadline: failing as recorded (the timer fires before a new
 * thread can answer), and passing when held until the worker's message, in the order of a run
 * with a long deadline.
 */
export async function workerTimerBothOrders(cwd: string): Promise<{ fail: Recorded; pass: Recorded }> {
  const fail = await record('race/worker-timer.cjs', ['1'], { cwd });
  if (fail.status !== 1) throw new Error(describeRun('fail', fail));
  const slow = await record('race/worker-timer.cjs', ['2000'], { cwd });
  const pass = await forced('race/worker-timer.cjs', ['1'], slow.dir, cwd);
  if (pass.status !== 0) throw new Error(describeRun('pass', pass));
  return { fail, pass };
}
