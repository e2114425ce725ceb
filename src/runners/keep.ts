// After a test run: the recordings of test processes that failed are kept, the others
// dropped, and each failure is listed with the command that replays it.
import { original } from '../node/originals.js';
import { TraceReader } from '../trace/reader.js';
import { setLatest } from '../trace/store.js';
import { summarizeProcess, type RecordedProcess } from '../trace/store.js';
import { shellWord, shownPath as shown } from '../shell.js';

/** What the summary says of a kept process. */
export type FailedProcess = Pick<RecordedProcess, 'pid' | 'name' | 'failures' | 'failed'>;

export interface Settled {
  dir: string;
  kept: FailedProcess[];
  dropped: number;
}

/**
 * Judges `logs` (of `dir`): a log whose process `failed` is kept, any other deleted, and a
 * directory left empty removed; one that keeps a failure becomes the latest recording. A
 * log that cannot be read is left in place: it may be the interesting one. Reads go through
 * node:fs: a process that records itself judges itself otherwise (node-test.ts).
 */
export function settleRecordings(dir: string, logs: string[], failed: (p: RecordedProcess) => boolean): Settled {
  const kept: RecordedProcess[] = [];
  let dropped = 0;
  for (const log of logs) {
    let p: RecordedProcess;
    try {
      p = summarizeProcess(log, TraceReader.open(log));
    } catch {
      continue;
    }
    if (failed(p)) kept.push(p);
    else {
      original.fs.rmSync(log, { force: true });
      original.fs.rmSync(`${log}.sig`, { force: true });
      dropped++;
    }
  }
  if (kept.length) setLatest(dir);
  else if (dropped) removeIfEmpty(dir);
  return { dir, kept, dropped };
}

export function removeIfEmpty(dir: string): void {
  try {
    if (original.fs.readdirSync(dir).length === 0) original.fs.rmdirSync(dir);
  } catch {
    // already gone
  }
}

/** What to tell the user about a settled run: nothing when no test failed. */
export function describeSettled({ dir, kept, dropped }: Settled): string {
  if (!kept.length) return '';
  const tests = kept.flatMap((p) => p.failures.filter((f) => f.origin === 'test'));
  const what = tests.length
    ? `${tests.length} failing test${tests.length === 1 ? '' : 's'}`
    : `${kept.length} failed test process${kept.length === 1 ? '' : 'es'}`;
  const passed = dropped
    ? ` (the recordings of ${dropped} passing test process${dropped === 1 ? '' : 'es'} were dropped)`
    : '';
  const lines = [`rewind: ${what} recorded in ${shown(dir)}${passed}`];
  for (const p of kept) {
    const replay = `npx rewind replay ${shellWord(shown(dir))} -p ${p.pid}`;
    if (!p.failures.length) {
      // Failed without a failure event (a non-zero exit): replayable, with nothing to break before.
      lines.push(`  ✗ ${p.name} (pid ${p.pid}): ${p.failed}`, `    replay: ${replay}`);
      continue;
    }
    for (const f of p.failures) {
      const test = f.origin === 'test' ? ` --test ${shellWord(f.test ?? '')}` : '';
      const what =
        f.origin === 'test'
          ? f.test
          : `${p.name} (pid ${p.pid}), ${f.origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'}`;
      lines.push(`  ✗ ${what}: ${f.name}: ${f.message.split('\n')[0]}`);
      lines.push(`    replay: ${replay}`);
      lines.push(`    debug:  ${replay} --break-before-failure${test} --inspect`);
      lines.push(
        `    why:    npx rewind analyze ${shellWord(shown(dir))} -p ${p.pid}${test} -- ${process.argv.map((a, i) => shellWord(i === 0 ? 'node' : shown(a))).join(' ')}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
