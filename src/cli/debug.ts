// `rewind debug [RECORDING]`: an interactive prompt that stops the replay between turns.
// Going back means replaying again to an earlier event, which is fast: replay never waits.
// Commands come from a terminal or, one per line, from a script on stdin.
import { createInterface } from 'node:readline';
import type { Goal } from '../debug/protocol.js';
import { ENV } from '../session/env.js';
import { describeEnd, formatTime } from '../trace/describe.js';
import type { EventKind } from '../trace/format.js';
import { attachInstructions, parseAddress } from './replay-until.js';
import { resolveRecording } from './recordings.js';
import { ReplayedProcess, describeStop, showSite, summarize } from './replayed.js';

export interface StepOptions {
  force?: boolean;
  trust?: boolean;
  process?: string;
  inspect?: string;
  allowNative?: string[];
}

const KINDS: readonly EventKind[] = ['clock', 'random', 'value', 'turn', 'signal', 'output', 'failure', 'end'];
const LIST_RADIUS = 5;

const HELP = `commands:
  next, n                 run to the next turn (stops before its callback)
  continue, c [TARGET]    run to event N, to the next event of a kind (${KINDS.join(', ')}),
                          or to the next event called or scheduled at FILE:LINE; without TARGET, to the end
  list, l [N]             the events around here (or around event N)
  info, i                 the current event and the virtual time
  inspect                 attach a debugger here (Chrome DevTools, VS Code), then stop at the next turn
  restart, r [N]          replay again from the start, up to event N (default: the first turn)
  quit, q                 end the replay`;

export async function debug(arg: string | undefined, opts: StepOptions): Promise<void> {
  const rec = resolveRecording(arg, process.cwd(), opts.process);
  const events = summarize(rec.trace);
  const total = events.length;
  const inspectAt = parseAddress(opts.inspect ?? true);
  const firstTurn = events.find((e) => e.kind === 'turn')?.n ?? null;
  const sites = new Map<number, string>();
  const say = (text: string): void => void process.stdout.write(`${text}\n`);

  let replayed: ReplayedProcess | null = null;
  /** The event the replay is stopped at; null once the program ended. */
  let at: number | null = null;

  /** Waits until the replay stops again or ends, saying what happened. */
  const settle = async (): Promise<void> => {
    for (;;) {
      const next = await replayed!.next();
      if (next.t === 'stopped') {
        at = next.n;
        return say(describeStop(events[next.n - 1], total, next.site));
      }
      if (next.t === 'inspector') say(attachInstructions(next.url).trimEnd());
      else if (next.t === 'error')
        say(`rewind: ${next.message}; start \`rewind debug\` with --inspect=HOST:PORT to use another.`);
      else {
        at = null;
        const { code, signal } = next.status;
        const end = events.find((e) => e.kind === 'end')?.end;
        const how = signal ? `killed by ${signal}` : end && end.code === code ? describeEnd(end) : `exit code ${code}`;
        return say(`the program ended (${how}); \`restart [N]\` replays it again`);
      }
    }
  };

  const restart = async (until: number | null): Promise<void> => {
    await replayed?.kill();
    const env: Record<string, string> = {
      [ENV.STEP]: '1',
      [ENV.MARK]: '1',
      [ENV.INSPECT]: `${inspectAt.host}:${inspectAt.port}`,
    };
    if (until !== null) env[ENV.UNTIL] = String(until);
    replayed = new ReplayedProcess(rec, {
      force: opts.force,
      trust: opts.trust,
      allowNative: opts.allowNative,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      sites,
    });
    await settle();
  };

  const go = async (goal: Goal): Promise<void> => {
    if (at === null) return say('the program has ended; `restart [N]` replays it again');
    replayed!.send({ goal });
    await settle();
  };

  const eventArg = (word: string | undefined): number | null | 'bad' => {
    if (word === undefined) return null;
    const n = Number(word);
    if (!Number.isInteger(n) || n < 1) return 'bad';
    if (n > total) {
      say(
        `event ${n} is beyond the end of the recording: its last event is ${total} (${events[total - 1].kind} ${events[total - 1].detail})`,
      );
      return 'bad';
    }
    return n;
  };

  const list = (around: number) => {
    const from = Math.max(1, around - LIST_RADIUS);
    const to = Math.min(total, around + LIST_RADIUS);
    for (let n = from; n <= to; n++) {
      const e = events[n - 1];
      const site = sites.get(n);
      say(
        `${n === at ? '=>' : '  '} ${String(n).padStart(String(total).length)}  ${formatTime(e.timeUs).padStart(11)}  ${e.kind.padEnd(7)}  ${e.detail}${site ? `  @ ${showSite(site)}` : ''}`,
      );
    }
  };

  const commands: Record<string, (word: string | undefined) => Promise<void> | void> = {
    next: () => go({ kind: 'turn', after: at ?? 0 }),
    continue: (word) => {
      if (word === undefined) return go({ run: true });
      if (/^\d+$/.test(word)) {
        const n = eventArg(word);
        if (n === 'bad' || n === null) return;
        if (at !== null && n <= at)
          return say(`event ${n} is behind the replay (at event ${at}); \`restart ${n}\` goes back to it`);
        return go({ until: n });
      }
      if ((KINDS as readonly string[]).includes(word)) return go({ kind: word, after: at ?? 0 });
      const fileLine = /^(.+):(\d+)$/.exec(word);
      if (fileLine) return go({ file: fileLine[1], line: Number(fileLine[2]), after: at ?? 0 });
      say(`continue to what? \`${word}\` is not an event number, a kind (${KINDS.join(', ')}) or FILE:LINE`);
    },
    list: (word) => {
      const n = eventArg(word);
      if (n !== 'bad') list(n ?? at ?? total);
    },
    info: () => {
      if (at === null) return say('the program has ended; `restart [N]` replays it again');
      const e = events[at - 1];
      const site = sites.get(at);
      say(
        `event ${at} of ${total}: ${e.kind} ${e.detail}; virtual time ${formatTime(e.timeUs)}${site ? `; ${e.kind === 'turn' ? 'scheduled' : 'called'} at ${showSite(site)}` : ''}`,
      );
    },
    inspect: async () => {
      if (at === null) return say('the program has ended; `restart [N]` replays it again');
      replayed!.send({ inspect: true });
      await settle();
    },
    restart: (word) => {
      const n = eventArg(word);
      return n === 'bad' ? undefined : restart(n ?? firstTurn);
    },
    help: () => say(HELP),
  };
  const aliases: Record<string, string> = {
    n: 'next',
    c: 'continue',
    l: 'list',
    i: 'info',
    r: 'restart',
    q: 'quit',
    h: 'help',
    '?': 'help',
  };

  const interactive = Boolean(process.stdin.isTTY);
  const rl = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    prompt: '(rewind) ',
  });
  const lines = rl[Symbol.asyncIterator](); // from now on, no line typed ahead is lost
  await restart(firstTurn);
  if (interactive) rl.prompt();
  for await (const line of lines) {
    if (!interactive) say(`(rewind) ${line}`);
    const [word, target, ...extra] = line.trim().split(/\s+/);
    const name = aliases[word] ?? word;
    if (name === 'quit') break;
    if (name && (!(name in commands) || extra.length)) say(`unknown command: ${line.trim()} (type help)`);
    else if (name) await commands[name](target);
    if (interactive) rl.prompt();
  }
  rl.close();
  await (replayed as ReplayedProcess | null)?.kill(); // assigned in restart(): TS narrows it to null here
}
