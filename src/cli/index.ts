// The rewind command line (commander). Every failure the user can act on is a CliError:
// printed as one paragraph, never as a stack of rewind's internals.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { EXIT } from '../exit-codes.js';
import { REWIND_VERSION } from '../version.js';
import { DEFAULT_RUNS } from './defaults.js';
import { parseSeed } from '../session/chaos.js';
import type { DebugReplayOptions } from './replay-until.js';
import type { StepOptions } from './debug.js';

// Each command's module is imported when that command runs: importing them all costs more
// than Node's own start (bench 1, `rewind --version`).

const eventNumber = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('an event number is a whole number from 1');
  return n;
};

const seedArg = (v: string): number => {
  const n = parseSeed(v);
  if (n === null) throw new InvalidArgumentError('a chaos seed is a whole number from 0 to 4294967295');
  return n;
};

/** --allow-native NAME, repeatable (or NAME,NAME). */
const collectNames = (v: string, prev: string[] = []): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean),
];
const ALLOW_NATIVE = [
  '--allow-native <name>',
  'let this native addon (package or .node file name) run for real if the recording ran it live (repeatable)',
] as const;

const runsArg = (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1)
    throw new InvalidArgumentError('the number of runs is a whole number from 1, e.g. --runs 50');
  return n;
};

interface RecordFlags {
  out?: string;
  audit?: boolean;
  chaos?: boolean;
  seed?: number;
  untilFail?: boolean;
  runs?: number;
  force?: boolean;
  redact?: string | boolean;
  schedule?: string;
}

async function recordCommand(command: string[], flags: RecordFlags): Promise<never> {
  const { CliError } = await import('./recordings.js');
  const chaos = flags.chaos === true || flags.seed !== undefined;
  if (flags.untilFail && flags.redact)
    throw new CliError(
      'rewind: --redact does not combine with --until-fail yet: redact the kept recording with `rewind redact RECORDING --out COPY`.',
      EXIT.USAGE,
    );
  if (flags.schedule !== undefined) {
    if (chaos || flags.untilFail || flags.redact)
      throw new CliError(
        'rewind: --schedule does not combine with --chaos, --seed, --until-fail or --redact: a forced schedule decides the order itself.',
        EXIT.USAGE,
      );
    return import('./schedule.js').then((m) =>
      m.recordScheduled(command, flags.schedule!, { out: flags.out, force: flags.force, audit: flags.audit }),
    );
  }
  if (flags.untilFail) {
    const { recordUntilFail } = await import('./until-fail.js');
    return recordUntilFail(command, {
      out: flags.out,
      audit: flags.audit,
      chaos,
      seed: flags.seed,
      runs: flags.runs ?? DEFAULT_RUNS,
    });
  }
  if (flags.runs !== undefined) {
    throw new CliError(
      `rewind: --runs ${flags.runs} counts the runs of --until-fail; add --until-fail, or leave --runs out.`,
      EXIT.USAGE,
    );
  }
  const { randomSeed, record } = await import('./record.js');
  return record(command, {
    out: flags.out,
    force: flags.force,
    redact: flags.redact,
    audit: flags.audit,
    seed: chaos ? (flags.seed ?? randomSeed()) : undefined,
  });
}

export function program(): Command {
  const cli = new Command('rewind')
    .description('Record a Node.js program once, replay it exactly, as often as you like.')
    .version(REWIND_VERSION)
    .enablePositionalOptions()
    .showHelpAfterError('(run `rewind --help` for usage)')
    .exitOverride();

  cli
    .command('record')
    .description('run a command with rewind recording every Node.js process it starts')
    .argument('[command...]', 'the command to run, after --: node app.js, npm test, npx vitest run, ...')
    .option('-o, --out <dir>', 'write the recording into this new or empty directory (default: .rewind/<name>/)')
    .option('--force', 'with --out: add this run to a recording of yours already there')
    .option(
      '--redact [rules]',
      'replace secrets (env, argv, credentials headers, .env/.npmrc values, token formats; RULES adds env:WORD, header:NAME, file:NAME, re:REGEX, value:TEXT) by placeholders once the run ends',
    )
    .option('--audit', 'report every callback the event loop ran that rewind did not record (slower)')
    .option(
      '--chaos',
      'perturb the schedule (late timers, shuffled I/O completions, a starved thread-pool job) so that rare orders become common',
    )
    .option(
      '--seed <n>',
      'the chaos seed, to perturb the same way again (implies --chaos; default: a random one)',
      seedArg,
    )
    .option(
      '--until-fail',
      'run the command again until a run fails; keep only that recording (with --chaos: a new seed each run)',
    )
    .option('--runs <n>', `with --until-fail: give up after this many runs (default ${DEFAULT_RUNS})`, runsArg)
    .option(
      '--schedule <file>',
      'deliver turns in the order FILE gives (a recording, `rewind events --json` output, or JSON {"turns": [[op, k], ...]}), as far as the run allows',
    )
    .passThroughOptions()
    .action((command: string[], flags: RecordFlags) => recordCommand(command, flags));

  cli
    .command('replay')
    .description('replay a recording (default: the latest) without the outside world or waiting')
    .argument('[recording]', 'a recording directory or .rwnd log')
    .option(
      '-p, --process <pid|name>',
      'in a recording of several processes, this one (default: the one that failed, else the root; see rewind ps)',
    )
    .option('--force', 'replay even if the program changed since it was recorded')
    .option(
      '--trust',
      'apply what the recording names to run at start-up (code-loading flags, -e source, NODE_PATH, LD_PRELOAD...) even though you did not record it here; rewind lists them first',
    )
    .option('--summary', 'print a summary line when the replay ends (default: on a terminal)')
    .option('--no-summary', 'do not print the summary line')
    .option('--until <n>', 'stop before event n (inside the call that consumes a value)', eventNumber)
    .option('--break-before-failure', 'stop before the turn in which the recorded run failed')
    .option(
      '--test <name>',
      "with --break-before-failure: stop before this failed test's turn (its full name, or a unique part of it); picks its process",
    )
    .option(
      '--inspect [host:port]',
      'at the stop, hand over to a debugger on host:port (default 127.0.0.1:9229; port 0 picks one)',
    )
    .option('--mark', 'prefix each output line with the number of the event that wrote it')
    .option(...ALLOW_NATIVE, collectNames)
    .action(async (rec: string | undefined, opts: DebugReplayOptions) =>
      opts.until !== undefined || opts.breakBeforeFailure || opts.test !== undefined || opts.inspect || opts.mark
        ? (await import('./replay-until.js')).replayTo(rec, opts)
        : (await import('./replay.js')).replay(rec, opts),
    );

  cli
    .command('debug')
    .description('step through a replay, turn by turn, from an interactive prompt (commands also from stdin)')
    .argument('[recording]', 'a recording directory or .rwnd log')
    .option(
      '-p, --process <pid|name>',
      'in a recording of several processes, this one (default: the one that failed, else the root; see rewind ps)',
    )
    .option('--force', 'replay even if the program changed since it was recorded')
    .option(
      '--trust',
      'apply what the recording names to run at start-up (code-loading flags, -e source, NODE_PATH, LD_PRELOAD...) even though you did not record it here; rewind lists them first',
    )
    .option('--inspect <host:port>', 'where `inspect` opens the debugger (default 127.0.0.1:9229)')
    .option(...ALLOW_NATIVE, collectNames)
    .action(async (rec: string | undefined, opts: StepOptions) => (await import('./debug.js')).debug(rec, opts));

  cli
    .command('dap')
    .description(
      'a Debug Adapter Protocol server (stdio, or TCP with --port) for editors: breakpoints, stepping, step back',
    )
    .option('--port <port>', 'listen on 127.0.0.1:PORT (0 picks one) instead of stdio')
    .action(async (opts: { port?: string }) => (await import('./dap.js')).dap(opts));

  cli
    .command('events')
    .description('list the events of a recording: number, virtual time, kind, detail')
    .argument('[recording]', 'a recording directory or .rwnd log')
    .option(
      '-p, --process <pid|name>',
      'in a recording of several processes, this one (default: the one that failed, else the root; see rewind ps)',
    )
    .option('--json', 'one JSON object per line')
    .option('-k, --kind <kinds>', 'only these kinds (comma-separated): clock,random,turn,output,signal,failure,end')
    .option('--from <n>', 'start at event n', eventNumber)
    .option('--to <n>', 'stop after event n', eventNumber)
    .option('--no-sites', 'do not replay the recording to show where each event was called or scheduled')
    .option(...ALLOW_NATIVE, collectNames)
    .option(
      '--trust',
      'apply what the recording names to run at start-up (code-loading flags, -e source, NODE_PATH, LD_PRELOAD...) to find call sites, even though you did not record it here; rewind lists them first',
    )
    .action(async (rec: string | undefined, opts) => (await import('./events.js')).events(rec, opts));

  cli
    .command('info')
    .description('show what a recording holds: program, argv, Node version, events, how it ended')
    .argument('[recording]', 'a recording directory or .rwnd log')
    .option(
      '-p, --process <pid|name>',
      'in a recording of several processes, this one (default: the one that failed, else the root; see rewind ps)',
    )
    .action(async (rec: string | undefined, opts: { process?: string }) => (await import('./info.js')).info(rec, opts));

  cli
    .command('redact')
    .description('write a copy of a recording with its secrets replaced by placeholders, to share it')
    .argument('[recording]', 'a recording directory or .rwnd log (default: the latest)')
    .option('-o, --out <dir>', 'the new or empty directory for the copy')
    .option(
      '--rules <rules>',
      'more rules, comma-separated: env:WORD, header:NAME, file:NAME, re:REGEX, value:TEXT; no-defaults drops the defaults',
    )
    .action(async (rec: string | undefined, opts: { out?: string; rules?: string }) =>
      (await import('./redact.js')).redact(rec, opts),
    );

  cli
    .command('diff')
    .description('compare two recordings of one program: where their schedules part, values, outputs, how each ended')
    .argument('<a>', 'a recording directory or .rwnd log')
    .argument('<b>', 'another recording of the same program')
    .option(
      '-p, --process <pid|name>',
      'compare this process of each (PID_A,PID_B for two pids; default: every process, matched by program and place in the process tree)',
    )
    .option('--json', 'the comparison as one JSON object')
    .option('--sites', 'replay both to show where each differing turn was scheduled')
    .option(...ALLOW_NATIVE, collectNames)
    .action(async (a: string, b: string, opts) => (await import('./diff.js')).diff(a, b, opts));

  cli
    .command('analyze')
    .description('why did this run fail: find the two events whose order decides it (or the value that does)')
    .argument('[recording]', 'a failing recording (default: the latest)')
    .argument(
      '[command...]',
      "after --: the command to re-run (default: the recorded one; a test runner's recording needs it)",
    )
    .option(
      '--passing <recording>',
      'a passing run of the same command (default: found by re-running it, plainly then with chaos)',
    )
    .option('-p, --process <pid|name>', 'analyze this process (default: the one that failed)')
    .option('--test <name>', 'the failed test to explain: a candidate fails when this test fails')
    .option('--json', 'the result as one JSON object')
    .option(
      '--state-budget <seconds>',
      'time allowed to name the state the two events share (default 30; 0: do not look)',
      Number,
    )
    .option(...ALLOW_NATIVE, collectNames)
    .action(async (rec: string | undefined, command: string[], opts) =>
      (await import('./analyze.js')).analyze(rec, { ...opts, command }),
    );

  cli
    .command('ps')
    .description('list the processes and worker threads of a recording: pid, parent, program, how each ended')
    .argument('[recording]', 'a recording directory')
    .option('--json', 'one JSON object per line')
    .action(async (rec: string | undefined, opts: { json?: boolean }) => (await import('./ps.js')).ps(rec, opts));

  return cli;
}

export async function main(argv: string[]): Promise<void> {
  // `rewind events | head`: the reader went away; that is not an error of rewind's.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  try {
    await program().parseAsync(argv);
  } catch (e) {
    // Loaded only now: a command that threw one of these has loaded its module already.
    const [{ CliError }, { TraceError }] = await Promise.all([import('./recordings.js'), import('../trace/reader.js')]);
    if (e instanceof CliError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(e.code);
    }
    if (e instanceof TraceError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(EXIT.BAD_TRACE);
    }
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage mistakes exit 64 (commander already printed why).
      process.exit(e.exitCode === 0 ? 0 : EXIT.USAGE);
    }
    const err = e as Error;
    process.stderr.write(
      `rewind: internal error: ${err.message}\nThis is a bug in rewind; please report it with the command you ran.\n` +
        (process.env.REWIND_DEBUG ? `${err.stack}\n` : ''),
    );
    process.exit(1);
  }
}
