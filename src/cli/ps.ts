// `rewind ps`: the processes and worker threads of a recording.
import { describeEnd } from '../trace/describe.js';
import { WORKER_LOG } from '../trace/format.js';
import { emptyWorkerLogsIn } from '../trace/store.js';
import { boundMemory, defaultProcess, processesOf, resolveRecording } from './recordings.js';
import { printable } from '../shell.js';

/** A worker thread's log that holds no event (or is empty): its thread ran none of the program rewind saw. */
const NOTHING_RECORDED = 'worker thread stopped before it recorded anything (replays as stopped there)';

/** `rewind ps`: the processes and worker threads of a recording; * marks the one replayed by default. */
export function ps(arg: string | undefined, opts: { json?: boolean }): void {
  boundMemory();
  const rec = resolveRecording(arg);
  const list = rec.processes ?? processesOf(rec.dir).filter((p) => p.log === rec.log);
  const chosen = defaultProcess(list);
  if (opts.json) {
    const lines = list.map((p) =>
      JSON.stringify({
        pid: p.pid,
        ppid: p.ppid,
        thread: p.threadId,
        program: p.name,
        argv: p.trace.header.argv,
        log: p.log,
        events: p.trace.eventCount,
        ended: p.end ? describeEnd(p.end) : null,
        failed: p.failed,
        default: p === chosen,
        // A package manager's own process: recorded for its output only, not replayable alone.
        replayable: !p.passThrough,
      }),
    );
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  const rows = [['', 'PID', 'PARENT', 'THREAD', 'PROGRAM', 'EVENTS', 'ENDED']];
  for (const p of list) {
    const ended =
      (p.failed ??
        (p.end
          ? describeEnd(p.end)
          : p.threadId && p.trace.eventCount === 0 && !p.trace.truncated
            ? NOTHING_RECORDED
            : `no end record (${p.trace.truncated ?? 'log stops early'})`)) +
      (p.passThrough ? ' (package manager: its output only, not replayable alone)' : '');
    rows.push([
      p === chosen ? '*' : '',
      String(p.pid),
      String(p.ppid),
      p.threadId ? String(p.threadId) : 'main',
      p.name,
      String(p.trace.eventCount),
      ended,
    ]);
  }
  // A worker thread's empty log (see emptyWorkerLogsIn) is no trace to list: its row is made from its name.
  for (const log of rec.processes ? emptyWorkerLogsIn(rec.dir) : []) {
    const [, pid, thread] = WORKER_LOG.exec(log)!;
    const host = list.find((p) => String(p.pid) === pid && p.threadId === 0);
    rows.push(['', pid, host ? String(host.ppid) : '?', thread, `worker ${thread}`, '0', NOTHING_RECORDED]);
  }
  for (const r of rows) for (let i = 0; i < r.length; i++) r[i] = printable(r[i]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const out = rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
  out.push(`(* is what \`rewind replay\` replays; pick another with -p PID)`);
  process.stdout.write(`${out.join('\n')}\n`);
}
