// `rewind record --audit`: the completeness guard. Every callback the event loop enters
// should be a turn in the log; one that is not is something rewind does not interpose on
// (a module it does not know, a Node internal), and its timing is not recorded. This
// watches every top-level callback with async_hooks (too slow to leave on: an audit mode)
// and, at exit, names each kind of callback that ran without a turn being logged: its
// resource type, where it was created, and how often it ran.
import { builtinModule, thread } from '../node/fields.js';
import type * as AsyncHooks from 'node:async_hooks';
import { isRewindFile } from '../paths.js';
import { original, writeStderr } from '../node/originals.js';
import type { RecordSession } from './record.js';
import { atProcessEnd } from './process-end.js';

/** Microtask-level resources: they follow deterministically from the turns. */
const IGNORED = new Set(['PROMISE', 'TickObject', 'Microtask', 'TIMERWRAP', 'SIGNALWRAP']);

export interface AuditGap {
  type: string;
  /** The first frame outside Node's internals and rewind where the resource was created. */
  site: string;
  count: number;
}

/**
 * Where a resource was created: the first frame of the program's own code; for one that
 * only Node's internals created, the innermost internal frame; null for rewind's own
 * (its flush timer) and the module loader's.
 */
function creationSite(): string | null {
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 30;
  Error.captureStackTrace(holder, creationSite);
  Error.stackTraceLimit = limit;
  const frames = (holder.stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ''));
  const isNode = (f: string) => f.startsWith('node:') || f.includes('(node:');
  const isRewind = isRewindFile;
  const located = (f: string) => /\(?([^()\s]+:\d+:\d+)\)?$/.exec(f)?.[1] ?? f;
  const user = frames.find((f) => !isNode(f) && !isRewind(f));
  if (user) return located(user);
  // Module loading reads files through callbacks of its own; the code is not an input.
  if (frames.some((f) => f.includes('node:internal/modules/'))) return null;
  if (frames.some(isRewind)) return null;
  const internal = frames.find((f) => !f.includes('async_hooks'));
  return internal ? located(internal) : 'unknown';
}

export function startAudit(s: RecordSession, logPath: string): void {
  // Loaded here: only an audit needs it, and every recorded program starts with this module.
  const { createHook, AsyncLocalStorage } = builtinModule<typeof AsyncHooks>('node:async_hooks');
  // Resources created by a recorded operation's real work are its own steps, not gaps.
  const inOp = new AsyncLocalStorage<boolean>();
  s.audit = {
    inside: (fn) => inOp.run(true, fn),
    outside: (fn) => inOp.exit(fn),
    // A callback a source knows runs none of the program's code (a port's close no one listens to).
    notATurn: () => {
      current = undefined;
    },
  };
  const sites = new Map<number, { type: string; site: string }>();
  /** Macrotask resources (not IGNORED), also those without a site: their callbacks start a turn. */
  const macro = new Set<number>();
  const gaps = new Map<string, AuditGap>();
  let depth = 0;
  let turnsBefore = 0;
  let current: { type: string; site: string } | undefined;
  // A callback's turn may be logged by a microtask it queued (an fs/promises completion
  // resolves a promise; the recorded continuation runs after the callback returns), so a
  // callback is judged when the next macrotask callback starts, or at exit.
  let judged: { type: string; site: string } | undefined;
  const judge = () => {
    if (judged && s.writer.turns === turnsBefore) {
      const key = `${judged.type} ${judged.site}`;
      const gap = gaps.get(key) ?? { type: judged.type, site: judged.site, count: 0 };
      gap.count++;
      gaps.set(key, gap);
    }
    judged = undefined;
  };
  createHook({
    init(asyncId, type) {
      if (IGNORED.has(type) || inOp.getStore() === true) return;
      macro.add(asyncId);
      const site = creationSite();
      if (site) sites.set(asyncId, { type, site });
    },
    before(asyncId) {
      if (depth++ > 0 || !macro.has(asyncId)) return;
      judge();
      current = sites.get(asyncId);
      turnsBefore = s.writer.turns;
    },
    after() {
      if (--depth > 0 || !current) return;
      judged = current;
      current = undefined;
    },
    destroy(asyncId) {
      sites.delete(asyncId);
      macro.delete(asyncId);
    },
  }).enable();

  atProcessEnd(() => {
    judge();
    const list = [...gaps.values()].sort((a, b) => b.count - a.count);
    const file = logPath.replace(/\.rwnd$/, '.audit.json');
    // rewind's own write, as the log's (writeFileSync would go through the program's recorded fs.openSync).
    try {
      const fd = original.fs.openSync(file, 'w', 0o600);
      try {
        const which = thread.isMain ? {} : { threadId: thread.id };
        original.fs.writeSync(fd, `${JSON.stringify({ pid: process.pid, ...which, gaps: list }, null, 2)}\n`);
      } finally {
        original.fs.closeSync(fd);
      }
    } catch {
      // the report on stderr still says it
    }
    // A worker thread has a log and an audit of its own: say which thread.
    const where = thread.isMain ? `process ${process.pid}` : `worker thread ${thread.id} of process ${process.pid}`;
    if (list.length === 0) {
      writeStderr(`rewind audit: every callback the event loop ran in ${where} was recorded.\n`);
      return;
    }
    writeStderr(
      `rewind audit: in ${where}, ${list.length} kind${list.length === 1 ? '' : 's'} of callback ran without being recorded; ` +
        `a replay may diverge where the program depends on when they ran:\n` +
        list.map((g) => `  ${g.type} created at ${g.site}, ran ${g.count} time${g.count === 1 ? '' : 's'}\n`).join(''),
    );
  });
}
