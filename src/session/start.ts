// Starts the session for this process: decides the mode from the environment the CLI set,
// builds the header (record) or opens the log (replay), and installs every Source.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { builtinModule, cjsLoader, evalCode, nodeLoaded, thread, whenLoaded } from '../node/fields.js';
import { readOnlyWorld } from './read-only.js';
import { Api, FORMAT_VERSION, type TraceHeader } from '../trace/format.js';
import { TraceError, TraceReader, type TraceFile } from '../trace/reader.js';
import { LOG_EXT, createRecordingDir, logPath, programName, setLatest } from '../trace/store.js';
import {
  isNodesOwnThread,
  replayedThreadDone,
  stopReplay,
  unwrapWorkerData,
  workerLog,
  workerReplayOf,
  workersSource,
} from '../sources/workers.js';
import { sharedMemorySource } from '../sources/shared-memory.js';
import { unsupportedSource } from '../sources/unsupported.js';
import { clockSource } from '../sources/clock.js';
import { processSource } from '../sources/process.js';
import { cryptoKeysSource } from '../sources/crypto-keys.js';
import { cryptoJobsSource } from '../sources/crypto-jobs.js';
import { randomSource } from '../sources/random.js';
import { realmsSource } from '../sources/realms.js';
import { capturedClocksSource } from '../sources/captured-clocks.js';
import { readingsSource } from '../sources/readings.js';
import { coverageSource } from '../sources/coverage.js';
import { stdioInfo, stdioSource } from '../sources/stdio.js';
import { fdKind } from '../node/stdio-streams.js';
import { timersSource } from '../sources/timers.js';
import { streamsSource } from '../sources/streams.js';
import { netSource } from '../sources/net.js';
import { httpSource } from '../sources/http.js';
import { httpConnectionsSource } from '../sources/http-connections.js';
import { tlsSource } from '../sources/tls.js';
import { childProcessSource } from '../sources/child-process.js';
import { backgroundSource } from '../sources/background.js';
import { dnsSource } from '../sources/dns.js';
import { memorySource } from '../sources/memory.js';
import { compileCacheSource } from '../sources/compile-cache.js';
import { codeCacheSource } from '../sources/code-cache.js';
import { watchAsyncContexts } from './async-context.js';
import { osSource, registerOsValueClasses } from '../sources/os.js';
import { fsSource } from '../sources/fs/index.js';
import { registerFsValueClasses } from '../sources/fs/values.js';
import { addonsSource } from '../sources/addons.js';
import { sqliteSource } from '../sources/sqlite.js';
import { dgramSource } from '../sources/dgram.js';
import { http2Source } from '../sources/http2.js';
import { original, writeStderr } from '../node/originals.js';
import { RecordSession } from './record.js';
import { ReplaySession } from './replay.js';
import { debuggerMayHold } from './replay-dispatcher.js';
import { SESSION_KEY, type Session, type Source } from './session.js';
import { installStackFilter } from './stack.js';
import { installNodeTestHooks } from '../sources/node-test.js';
import { ipcChannel } from '../node/symbols.js';
import { startAudit } from './audit.js';
import { ENV, keepBytesOf, keepReplayStart, steering } from './env.js';
import { finishLaunch, takeLaunch, takeReplayLaunch, type Launch } from './launch.js';
import { parseSeed, startChaos, type Chaos } from './chaos.js';
import { readSchedule, ScheduleChaos } from './schedule.js';
import { REWIND_VERSION } from '../version.js';
import { nodeFlags } from './trust.js';
import { checkInternals, checkNet } from '../node/check.js';
import { checkMessagePort } from '../node/symbols.js';
import { isatty } from '../node/bindings.js';
import { describeMissing, httpParserReachable, type MissingInternal } from '../node/internals.js';
import { sha256Hex } from './digest.js';

/**
 * Order matters: process restores inputs before anything reads them; stdio claims the
 * program's stdout and stderr before streams manages every other stream handle; net
 * moves socket timeouts onto the timers source's timers.
 */
export const SOURCES: readonly Source[] = [
  processSource,
  clockSource,
  randomSource,
  cryptoKeysSource,
  realmsSource,
  capturedClocksSource,
  readingsSource,
  coverageSource,
  timersSource,
  stdioSource,
  streamsSource,
  netSource,
  dgramSource,
  tlsSource,
  httpSource,
  httpConnectionsSource,
  http2Source,
  childProcessSource,
  fsSource,
  backgroundSource,
  cryptoJobsSource,
  dnsSource,
  osSource,
  memorySource,
  compileCacheSource,
  codeCacheSource,
  workersSource,
  sharedMemorySource,
  addonsSource,
  sqliteSource,
  unsupportedSource,
];

/** Package managers' own processes just pass NODE_OPTIONS on to the program they start. */
const PASS_THROUGH = /[\\/](npm-cli|npx-cli|yarn|pnpm|corepack)\.c?js$|[\\/]corepack[\\/]/;

function isPassThrough(main: string | undefined): boolean {
  if (!main) return false;
  if (PASS_THROUGH.test(main)) return true;
  // Their bin links (npm, npx, yarn, pnpm...) have no extension: a script named *.js is no
  // link to one, and needs no realpath (~0.15 ms of every start).
  if (/\.[cm]?[jt]sx?$/.test(main)) return false;
  try {
    return PASS_THROUGH.test(fs.realpathSync.native(main)); // bin links: /usr/bin/npm -> npm-cli.js
  } catch {
    return false;
  }
}

/**
 * `attach` sees a replay session before any source is installed: the debugger hooks in
 * there (src/debug), so its output wrappers sit beneath the sources' checks.
 */
export function start(attach?: (session: ReplaySession) => void): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[SESSION_KEY]) return;
  // Before anything else: the program's workerData is the program's, recorded or not.
  if (!thread.isMain) unwrapWorkerData();
  // Node's module-hooks thread at replay runs unrecorded (see sources/workers.ts), in a
  // world it cannot change.
  if (isNodesOwnThread()) return readOnlyWorld();
  // A replayed thread is told so by its parent in workerData: its environment is the recorded one.
  const mode = workerReplayOf() ? 'replay' : (steering(ENV.MODE) ?? 'record');
  if (mode === 'off') return;
  // A replay a debugger drives is started by rewind's preload, which attaches the debug
  // controller: another copy of rewind's start on the recorded command line (rewind-replay/
  // node-test's bundle, rewind-replay/vitest) that runs first must leave it to that one.
  if (steering(ENV.CONTROL) && !attach) return;
  // How the sources' values (os's SystemError, fs's Stats...) are stored: known before any
  // is written or read. os first: a later class is asked first, fs's before SystemError.
  registerOsValueClasses();
  registerFsValueClasses();
  let session: Session;
  if (mode === 'replay') {
    session = openReplay();
    keepReplayStart(); // before the process source gives the program its recorded environment
    watchAsyncContexts();
  } else {
    // Started by bin/rewind: this process does the CLI's part of the run too.
    const launch = thread.isMain ? takeLaunch() : null;
    if (thread.isMain && isPassThrough(process.argv[1])) return recordPassThrough(launch);
    const s = openRecord();
    if (!s) return;
    if (launch) finishLaunch(s, launch);
    session = s;
    if (s.chaos instanceof ScheduleChaos) s.chaos.follow(s);
  }
  g[SESSION_KEY] = session;
  if (attach && session instanceof ReplaySession) attach(session);
  installStackFilter();
  // Before any source's install for node:net or MessagePort: said in the log when missing
  // (see checkNet, checkMessagePort).
  const said = (missing: readonly MissingInternal[]) => {
    for (const affects of new Set(missing.map((m) => m.affects))) {
      const ms = missing.filter((m) => m.affects === affects);
      session.unsupported(affects, `Node does not let rewind reach ${ms.map((m) => `${m.name}: ${m.why}`).join('; ')}`);
    }
  };
  whenLoaded('net', () => said(checkNet()));
  whenLoaded('worker_threads', () => said(checkMessagePort()));
  for (const source of SOURCES) source.install(session);
  if (session instanceof RecordSession && steering(ENV.AUDIT) === '1') startAudit(session, session.writer.path);
  // ESM named imports of built-ins (import { randomUUID } from 'node:crypto') see the patches.
  cjsLoader.syncBuiltinESMExports();
  // A file `node --test` runs in a child of its own, or the runner itself with
  // --test-isolation=none: its failing tests are failure events.
  if (process.env.NODE_TEST_CONTEXT || runsTestFilesItself()) installNodeTestHooks();
  // The replay dispatcher starts with the first registered callback: before that the main
  // module is still being loaded, and only it can ask for the log's first events.
}

/** `node --test --test-isolation=none` (Node 22.8+): the runner runs the test files in its own process. */
function runsTestFilesItself(): boolean {
  const flags = nodeFlags(process.execArgv, process.env);
  return flags.includes('--test') && flags.some((a) => /^--(experimental-)?test-isolation=none$/.test(a));
}

/** This thread's replay session, when it is a worker thread of a replay under a debugger (see debug/worker-thread.ts). */
export function debuggedWorker(): ReplaySession | null {
  const s = (globalThis as Record<symbol, unknown>)[SESSION_KEY];
  return !thread.isMain && debuggerMayHold() && s instanceof ReplaySession ? s : null;
}

/**
 * A package manager's process (npm test) only starts the program, but what it prints (the
 * "> pkg@1.0.0 test" lines) is part of what the user saw: it records its outputs, its end,
 * and when each process it starts begins and ends, nothing else (see TraceHeader.passThrough).
 */
function recordPassThrough(launch: Launch | null): void {
  if (process.env[ENV.MODE] !== 'record' || !process.env[ENV.DIR]) return; // only under `rewind record`
  const dir = process.env[ENV.DIR]!;
  const header = buildHeader(null);
  header.passThrough = true;
  let s: RecordSession;
  try {
    s = new RecordSession(logPath(dir, programName(process.argv), process.pid), header);
  } catch {
    return; // its output is not part of the recording; the program's own log still is
  }
  if (launch) finishLaunch(s, launch);
  processSource.install(s);
  stdioSource.install(s);
  type Child = import('node:child_process').ChildProcess;
  const { ChildProcess } = builtinModule<typeof import('node:child_process')>('node:child_process');
  const proto = ChildProcess.prototype as unknown as { spawn: (this: Child, ...a: unknown[]) => unknown };
  const spawn = proto.spawn;
  proto.spawn = function (this: Child, ...args: unknown[]) {
    const r = spawn.apply(this, args);
    const pid = this.pid;
    if (pid) {
      s.writer.value(Api['passThrough.spawn'], pid);
      this.once('exit', () => s.writer.value(Api['passThrough.exit'], pid));
    }
    return r;
  };
}

function openReplay(): ReplaySession {
  const env = process.env;
  // A worker thread replays its own log, next to its process's (see sources/workers.ts).
  // Started by bin/rewind: checked here to be the replay the CLI would start (or the CLI replays it).
  const launched = thread.isMain ? takeReplayLaunch(fdKind(0)) : null;
  const given = workerReplayOf() ?? env[ENV.TRACE];
  const tracePath = given && (thread.isMain ? given : workerLog(given, thread.id));
  if (!tracePath) {
    writeStderr(`rewind: ${ENV.MODE}=replay needs ${ENV.TRACE}; use \`rewind replay\` to replay a recording.\n`);
    return stopReplay(EXIT.USAGE);
  }
  // The recorded process ended, or stopped this thread, before the thread's preload ran (no
  // log), or before its log held more than a header (an empty log, or one of no events): no
  // code of the program ran in it that rewind saw. None does at replay: it waits to be stopped.
  if (!thread.isMain && original.fs.existsSync(given!)) {
    const st = original.fs.lstatSync(tracePath, { throwIfNoEntry: false });
    if (!st || (st.isFile() && st.size === 0)) return recordedNothing();
  }
  let file: TraceFile;
  try {
    file = launched ?? TraceReader.open(tracePath, { keepBytes: keepBytesOf(env) });
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    writeStderr(`${e.message}\n`);
    return stopReplay(EXIT.BAD_TRACE);
  }
  if (!thread.isMain && file.eventCount === 0) return recordedNothing();
  refuseIncomplete(file.header);
  return new ReplaySession(file, { recordedStatus: env[ENV.STATUS], summary: env[ENV.SUMMARY] === '1' });
}

/** A replayed worker thread whose recorded thread ran none of the program: it waits to be stopped. */
function recordedNothing(): never {
  replayedThreadDone();
  const forever = new Int32Array(new SharedArrayBuffer(4));
  for (;;) original.Atomics.wait(forever, 0, 0);
}

/**
 * A replay needs every internal rewind serves the program's I/O through: without one, the
 * program would reach the outside world for real. And a recording made without one lacks
 * that I/O. Either way the replay is refused before the program runs.
 */
function refuseIncomplete(h: TraceHeader): void {
  const recorded = h.missingInternals ?? [];
  if (recorded.length > 0) {
    writeStderr(
      `rewind: this recording is incomplete and cannot be replayed: when it was recorded, Node did not let rewind reach ` +
        `${recorded.length === 1 ? 'an internal' : 'internals'} it records through, so part of what the program did was not recorded:\n` +
        describeMissing(recorded) +
        `Record it again where Node lets rewind reach ${recorded.length === 1 ? 'it' : 'them'} (for example without \`--permission\`).\n`,
    );
    stopReplay(EXIT.BAD_TRACE);
  }
  const now = checkInternals({ chaos: false });
  if (now.length > 0) {
    writeStderr(
      `rewind: cannot replay here: this Node (${process.version}${process.execArgv.length ? `, ${process.execArgv.join(' ')}` : ''}) does not let rewind reach ` +
        `what it serves the program's I/O through, so the program would reach the outside world for real:\n` +
        describeMissing(now) +
        `Replay it with a Node that allows it (for example without \`--permission\`).\n`,
    );
    stopReplay(EXIT.BAD_TRACE);
  }
}

function openRecord(): RecordSession | null {
  const env = process.env;
  const program = programName(process.argv);
  let dir = steering(ENV.DIR);
  if (!dir) {
    // Used directly (node --import rewind-replay/register app.js): record into ./.rewind/, and let
    // child processes find the same directory.
    dir = createRecordingDir(original.processCwd(), program);
    env[ENV.DIR] = dir;
    setLatest(dir);
  } else {
    try {
      original.fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
      // reported below, when the log cannot be created
    }
  }
  const chaos = chaosOf(steering(ENV.CHAOS), dir);
  const header = buildHeader(chaos);
  // Looked up before anything is recorded, so the header says what cannot be.
  const missing = checkInternals({ chaos: chaos !== null });
  if (missing.length > 0) {
    header.missingInternals = missing.map((m) => ({ ...m }));
    writeStderr(
      `rewind: warning: Node does not let rewind reach ${missing.length === 1 ? 'an internal' : 'internals'} it records through` +
        `${process.execArgv.length ? ` (node ${process.execArgv.join(' ')})` : ''}, so this part of what the program does is not recorded, ` +
        `and the recording of ${thread.isMain ? `process ${process.pid}` : `worker thread ${thread.id}`} will refuse to replay:\n` +
        describeMissing(missing),
    );
  }
  if (!thread.isMain) return openWorkerRecord(dir, header, chaos);
  for (let attempt = 0; attempt < 5; attempt++) {
    const file = logPath(dir, attempt === 0 ? program : `${program}.${attempt}`, process.pid);
    try {
      return new RecordSession(file, header, chaos);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST') continue;
      writeStderr(
        `rewind: cannot create the recording ${file} (${err.code ?? err.message}); the program runs unrecorded.\n`,
      );
      return null;
    }
  }
  return null;
}

/** Chaos mode, when the CLI passed a seed (`rewind record --chaos`). */
function chaosOf(value: string | undefined, dir: string): Chaos | null {
  const schedule = steering(ENV.SCHEDULE);
  if (schedule) {
    const forced = readSchedule(schedule, dir, process.argv);
    return forced;
  }
  if (value === undefined) return null;
  const seed = parseSeed(value);
  if (seed === null) {
    writeStderr(
      `rewind: ignoring ${ENV.CHAOS}=${JSON.stringify(value)}: a chaos seed is a whole number from 0 to 4294967295; recording without chaos.\n`,
    );
    return null;
  }
  return startChaos(seed, dir, process.argv);
}

/** A worker thread's log: next to its process's main log, named after it. */
function openWorkerRecord(dir: string, header: TraceHeader, chaos: Chaos | null): RecordSession | null {
  const main = original.fs.readdirSync(dir).find((f) => f.endsWith(`-${process.pid}${LOG_EXT}`));
  const file = workerLog(path.join(dir, main ?? `${programName(process.argv)}-${process.pid}${LOG_EXT}`), thread.id);
  try {
    return new RecordSession(file, header, chaos);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    writeStderr(
      `rewind: cannot create the recording ${file} (${err.code ?? err.message}); worker thread ${thread.id} runs unrecorded.\n`,
    );
    return null;
  }
}

/** The entry module and its hash: replay refuses to run a different program. */
function entryOf(): TraceHeader['entry'] {
  // Under -e/-p, argv[1] is the program's first argument, not a script.
  const main = typeof evalCode() === 'string' ? undefined : process.argv[1];
  if (main) {
    try {
      const real = original.fs.readFileSync(main);
      return { path: path.resolve(main), sha256: sha256Hex(real) };
    } catch {
      // e.g. a directory with package.json "main": hash its name only
    }
  }
  // node -e / -p / --test / the REPL: the command line is the program.
  return {
    path: main ? path.resolve(main) : null,
    sha256: sha256Hex(process.execArgv.join('\0')),
  };
}

/** { discarded: true } when fd `fd` is /dev/null (stdio 'ignore'): what the process printed there went nowhere. */
function discarded(fd: number): { discarded?: true } {
  try {
    const st = original.fs.fstatSync(fd);
    if (!st.isCharacterDevice()) return {};
    const nul = original.fs.lstatSync('/dev/null');
    return st.rdev === nul.rdev && st.ino === nul.ino ? { discarded: true } : {};
  } catch {
    return {}; // closed, or no /dev/null (Windows): not known
  }
}

/** A cluster worker's id: Node set up the worker (loading cluster) before the preload ran. */
function clusterWorkerId(): number | null {
  if (!thread.isMain || !nodeLoaded('cluster')) return null;
  const cluster = process.getBuiltinModule?.('node:cluster') as
    { isWorker?: boolean; worker?: { id: number } } | undefined;
  return cluster?.isWorker && cluster.worker ? cluster.worker.id : null;
}

/**
 * Setting process.title keeps as much as fits where the OS holds the process's arguments,
 * so what the program reads back depends on how it was started: measured once (a title too
 * long to fit, read back, then the title restored), for replay to cut titles the same way.
 * 4 KiB first, longer than most command lines (~35 µs; 64 KiB took ~110), then 64 KiB if
 * that fit whole: the same answer as one 64 KiB probe.
 */
function titleCapacity(): number {
  const title = process.title;
  let capacity = 0;
  for (const probe of [1 << 12, 1 << 16]) {
    process.title = 'x'.repeat(probe);
    capacity = Buffer.byteLength(process.title);
    if (capacity < probe) break;
  }
  process.title = title;
  return capacity;
}

function buildHeader(chaos: Chaos | null): TraceHeader {
  const ipc = ipcChannel();
  // V8's own Math.random (seeded from the system's entropy, or by --random-seed) seeds the
  // program's: node:crypto is not loaded for it.
  const seed = Uint32Array.from({ length: 4 }, () => Math.floor(original.mathRandom() * 0x100000000));
  const header: TraceHeader = {
    formatVersion: FORMAT_VERSION,
    rewindVersion: REWIND_VERSION,
    nodeVersion: process.version,
    platform: process.platform,
    arch: process.arch,
    pid: process.pid,
    ppid: process.ppid,
    threadId: thread.id,
    argv: [...process.argv],
    execArgv: [...process.execArgv],
    cwd: original.processCwd(),
    env: { ...process.env } as Record<string, string>,
    title: process.title,
    entry: entryOf(),
    startWall: original.dateNow(),
    monoBase: original.hrtime(),
    // perfNowBase and timeOrigin: the perf.origin reading, as the program first reads the perf clock (clock.ts).
    uptimeBase: original.uptime(),
    randomSeed: [seed[0], seed[1], seed[2], seed[3]],
    stdio: {
      stdin: { isTTY: isatty(0), kind: fdKind(0) },
      // Not made for this (see whenStdio): a terminal's shape needs the stream, anything else is no terminal.
      stdout: isatty(1)
        ? { ...stdioInfo(process.stdout), kind: 'tty' as const }
        : { isTTY: false, kind: fdKind(1), ...discarded(1) },
      stderr: isatty(2)
        ? { ...stdioInfo(process.stderr), kind: 'tty' as const }
        : { isTTY: false, kind: fdKind(2), ...discarded(2) },
    },
    ...(ipc ? { ipc: { serialization: ipc.serialization } } : {}),
  };
  if (thread.isMain) header.titleCapacity = titleCapacity();
  const worker = clusterWorkerId();
  if (worker !== null) header.clusterWorker = worker;
  if (httpParserReachable()) header.httpConsume = header.httpConnections = true;
  header.cryptoJobs = true;
  header.loaderAnswers = true;
  header.hooksMessages = true;
  header.answerKinds = true;
  header.workerEnvPort = true;
  if (chaos) {
    // The program's own random choices repeat with the chaos seed, as the perturbations do.
    header.randomSeed = chaos.randomSeed;
    if (chaos instanceof ScheduleChaos) header.schedule = chaos.schedule;
    else header.chaos = { seed: chaos.seed };
  }
  return header;
}
