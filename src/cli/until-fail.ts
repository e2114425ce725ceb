// `rewind record --until-fail [--runs N] [--chaos [--seed S]] -- <command>`: runs the
// command again and again, each run recorded into a directory of its own, until one fails;
// keeps that recording and says how to replay it. With --chaos each run gets the next seed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { STORE_DIR, programName, recordingName, setLatest, type RecordingIndex } from '../trace/store.js';
import { EXIT } from '../exit-codes.js';
import { shellWord, shownPath } from '../shell.js';
import { CliError, defaultProcess, logsIn, processesOf, type RecordedProcess } from './recordings.js';
import {
  discardRun,
  exitLike,
  needsCommand,
  nothingRecorded,
  outDir,
  outputError,
  randomSeed,
  runRecording,
  type ExitStatus,
  type RecordOptions,
} from './record.js';

export { DEFAULT_RUNS } from './defaults.js';

export interface UntilFailOptions extends RecordOptions {
  runs: number;
  /** Perturb each run's schedule: run k uses seed + k - 1 (seed: --seed, or a random one). */
  chaos: boolean;
}

/** A run in progress is recorded under a hidden name, renamed when it is kept. */
const TRY_PREFIX = '.try-';
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Why a run failed, or null: the command exited non-zero or was killed, or a recorded
 * process has a failure event (an uncaught exception, an unhandled rejection, a failed
 * test) even though the command exited 0.
 */
function failureOf(status: ExitStatus, processes: RecordedProcess[]): string | null {
  const how = status.signal ? `killed by ${status.signal}` : status.code ? `exit code ${status.code}` : null;
  if (!how && !processes.some((p) => p.failures.length > 0)) return null;
  // The process `rewind replay` picks: the one that failed first.
  const culprit = defaultProcess(processes);
  const which =
    culprit.failed && (culprit.failed !== how || processes.length > 1)
      ? `; process ${culprit.pid} (${culprit.name}): ${culprit.failed}`
      : '';
  return `${how ?? 'exit code 0'}${which}`;
}

/** Moves a kept run to where the user reads it; across file systems by copying. */
function keep(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  try {
    fs.rmdirSync(to); // an empty --out directory the user made
  } catch {
    // absent
  }
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    fs.cpSync(from, to, { recursive: true });
    fs.rmSync(from, { recursive: true, force: true });
  }
}

/** A directory as the user types it: relative to here when inside, quoted for the shell when it must be. */
const shown = (dir: string): string => shellWord(shownPath(dir));

export async function recordUntilFail(command: string[], opts: UntilFailOptions): Promise<never> {
  needsCommand(command, 'rewind record --until-fail');
  const cwd = process.cwd();
  const outGiven = opts.out ? outDir(opts.out) : null;
  const out = outGiven?.dir ?? null;
  if (out && fs.readdirSync(out).length > 0) {
    throw new CliError(
      `rewind: ${out} is not empty. --until-fail moves the recording of the failing run there: choose a new or empty --out directory.`,
      EXIT.USAGE,
    );
  }
  const program = programName(command);
  const firstSeed = opts.chaos ? (opts.seed ?? randomSeed()) : undefined;
  const seedOf = (run: number) => (firstSeed === undefined ? undefined : (firstSeed + run - 1) >>> 0);
  const progress = process.stderr.isTTY;
  let stop: NodeJS.Signals | null = null;
  const onStop = (sig: NodeJS.Signals) => {
    stop ??= sig;
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onStop);
  const say = (text: string) => process.stderr.write(`rewind: ${text}\n`);

  let run = 0;
  while (run < opts.runs && stop === null) {
    run++;
    const seed = seedOf(run);
    const name = recordingName(program);
    const dir = path.join(cwd, STORE_DIR, `${TRY_PREFIX}${name}`);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw outputError(e as NodeJS.ErrnoException, `create a recording directory under ${path.join(cwd, STORE_DIR)}`);
    }
    const index: RecordingIndex = { command, cwd, started: new Date().toISOString(), run };
    if (seed !== undefined) index.chaos = { seed };
    const status = await runRecording(command, { dir, created: dir }, { ...opts, seed }, index);
    if (status.lost) {
      say(status.lost.replace(/^rewind: /, ''));
      for (const sig of STOP_SIGNALS) process.off(sig, onStop);
      return exitLike(status);
    }
    if (stop !== null && (status.signal === stop || status.code === 128 + os.constants.signals[stop])) {
      // The signal that stops rewind (Ctrl-C reaches the whole process group) cut this run short.
      fs.rmSync(dir, { recursive: true, force: true });
      run--;
      break;
    }
    if (logsIn(dir).length === 0) nothingRecorded(command, status, { dir, created: dir });
    const failed = failureOf(status, processesOf(dir));
    const withSeed = seed === undefined ? '' : ` (chaos seed ${seed})`;
    if (failed === null) {
      fs.rmSync(dir, { recursive: true, force: true });
      if (progress) say(`run ${run} of ${opts.runs} passed${withSeed}`);
      continue;
    }
    const kept = out ?? path.join(cwd, STORE_DIR, name);
    keep(dir, kept);
    if (!out) setLatest(kept);
    // `rewind replay` replays the failing process by default (defaultProcess): no -p needed.
    say(
      [
        `run ${run} of ${opts.runs} failed: ${failed}`,
        `  runs tried:  ${run}`,
        `  failing run: ${run}`,
        `  chaos seed:  ${seed ?? 'none (plain runs; add --chaos to perturb the schedule)'}`,
        `  recording:   ${shown(kept)}`,
        `  replay it:   rewind replay ${shown(kept)}`,
        `  debug it:    rewind replay ${shown(kept)} --break-before-failure --inspect`,
        `  why:         rewind analyze ${shown(kept)}`,
      ].join('\n'),
    );
    for (const sig of STOP_SIGNALS) process.off(sig, onStop);
    return exitLike(status.code || status.signal ? status : { code: 1, signal: null });
  }

  const seeds =
    firstSeed === undefined || run === 0
      ? ''
      : run === 1
        ? ` (chaos seed ${firstSeed})`
        : ` (chaos seeds ${firstSeed} to ${seedOf(run)})`;
  const runs = run === 1 ? '1 run' : `${run} runs`;
  for (const sig of STOP_SIGNALS) process.off(sig, onStop);
  if (outGiven) discardRun(outGiven); // nothing kept: a --out directory rewind made goes again
  if (stop !== null) {
    say(
      run === 0
        ? `stopped by ${stop} during the first run; no recording kept.`
        : `stopped by ${stop}: no failure in ${runs}${seeds}; no recording kept.`,
    );
    return exitLike({ code: null, signal: stop });
  }
  say(`no failure in ${runs}${seeds}; no recording kept.`);
  return process.exit(0);
}
