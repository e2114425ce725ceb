// Acceptance: `rewind debug` driven through stdin, as a script would; and the progress bar
// that `rewind replay --until N` shows on a terminal.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTime } from '../src/trace/describe.js';
import {
  BIN,
  NODE,
  baseEnv,
  cleanupTempDirs,
  describeRun,
  eventsOf,
  record,
  tempDir,
  type EventJson,
  type Recorded,
} from './helpers.js';

afterAll(cleanupTempDirs);

let rec: Recorded;
let events: EventJson[];
beforeAll(async () => {
  rec = await record('debug-fail.cjs');
  events = await eventsOf(rec.dir, { sites: true });
});

function debugSession(script: string) {
  const r = spawnSync(NODE, [BIN, 'debug', rec.dir], {
    input: script,
    cwd: tempDir(),
    env: baseEnv(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { ...r, ctx: `status ${r.status}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}` };
}

const stopLine = (e: EventJson) => {
  const turn = e.kind === 'turn';
  return `stopped ${turn ? 'before' : 'inside'} event ${e.n} of ${events.length} (${formatTime(e.time_us)}): ${e.kind} ${e.detail}, ${turn ? 'scheduled' : 'called'} at ${e.site}`;
};

describe('rewind debug', () => {
  it('next ×3, continue to N, info, quit: the transcript follows the recording', () => {
    const turns = events.filter((e) => e.kind === 'turn');
    const target = events.find((e) => e.kind === 'clock' && e.n > turns[20].n)!;
    const r = debugSession(`next\nnext\nnext\ncontinue ${target.n}\ninfo\nquit\n`);
    expect(r.status, r.ctx).toBe(0);
    // The program's own output is marked with its event numbers; the rest is the transcript.
    const transcript = r.stdout.split('\n').filter((l) => l && !l.startsWith('[#'));
    expect(transcript, r.ctx).toEqual([
      stopLine(turns[0]),
      '(rewind) next',
      stopLine(turns[1]),
      '(rewind) next',
      stopLine(turns[2]),
      '(rewind) next',
      stopLine(turns[3]),
      `(rewind) continue ${target.n}`,
      stopLine(target),
      '(rewind) info',
      `event ${target.n} of ${events.length}: clock ${target.detail}; virtual time ${formatTime(target.time_us)}; called at ${target.site}`,
      '(rewind) quit',
    ]);
    // Up to the stop, the program printed what it printed by then in the recorded run, each line marked.
    const printed = r.stdout.split('\n').filter((l) => l.startsWith('[#'));
    const recorded = events.filter((e) => e.kind === 'output' && e.n < target.n);
    expect(printed).toEqual(recorded.map((e) => `[#${e.n}] ${String(e.text).trimEnd()}`));
  });

  it('restart goes back; continue to a kind, to FILE:LINE, and to the end', () => {
    const turns = events.filter((e) => e.kind === 'turn');
    const failTurn = turns.at(-1)!;
    const r = debugSession(
      `continue ${turns[30].n}\nrestart ${turns[5].n}\ncontinue output\ncontinue debug-fail.cjs:14\ncontinue\nnext\nquit\n`,
    );
    expect(r.status, r.ctx).toBe(0);
    const transcript = r.stdout.split('\n').filter((l) => l && !l.startsWith('[#') && !l.startsWith('(rewind)'));
    expect(transcript.slice(0, 5), r.ctx).toEqual([
      stopLine(turns[0]),
      stopLine(turns[30]),
      stopLine(turns[5]),
      stopLine(events.find((e) => e.kind === 'output' && e.n > turns[5].n)!),
      stopLine(failTurn), // scheduled by setTimeout(fail, 3) on line 14
    ]);
    expect(transcript[5]).toBe('the program ended (exit code 1 (uncaught exception)); `restart [N]` replays it again');
    expect(transcript[6]).toBe('the program has ended; `restart [N]` replays it again');
  });
});

describe('rewind replay --until N on a terminal', () => {
  it('shows a progress bar while it runs to the stop, and clears it', () => {
    const n = events.filter((e) => e.kind === 'turn')[150].n;
    // script(1) gives the replay a terminal.
    const r = spawnSync('script', ['-qec', `${NODE} ${BIN} replay ${rec.dir} --until ${n}`, '/dev/null'], {
      cwd: tempDir(),
      env: baseEnv(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    const ctx = describeRun('script', {
      stdout: Buffer.from(r.stdout),
      stderr: Buffer.from(r.stderr),
      status: r.status,
      signal: r.signal,
      ms: 0,
      timedOut: false,
    });
    expect(r.status, ctx).toBe(0);
    expect(r.stdout, ctx).toContain(`rewind: replaying to event ${n} [`);
    expect(r.stdout, ctx).toContain(`rewind: stopped before event ${n} of ${events.length}`);
    // The program's output passed through above the bar, complete and in order, before the stop line.
    const recorded = events.filter((e) => e.kind === 'output' && e.n < n).map((e) => String(e.text).trimEnd());
    const shown = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\n').split(/[\r\n]+/);
    expect(
      shown.filter((l) => /^turn \d+ chain/.test(l)),
      ctx,
    ).toEqual(recorded);
    expect(shown.findIndex((l) => l.startsWith('rewind: stopped'))).toBeGreaterThan(shown.indexOf(recorded.at(-1)!));
  });
});
