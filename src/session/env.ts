/** Environment variables through which the CLI steers the preload in each process. */
export const ENV = {
  MODE: 'REWIND_MODE', // record (default) | replay | off
  DIR: 'REWIND_DIR', // record: the recording directory every process writes its log into
  TRACE: 'REWIND_TRACE', // replay: the log to replay
  STATUS: 'REWIND_RECORDED_STATUS', // replay: how the recorded run ended ("code:N" | "signal:NAME")
  SUMMARY: 'REWIND_SUMMARY', // replay: "1" prints a summary line at the end
  AUDIT: 'REWIND_AUDIT', // record: "1" reports callbacks rewind did not record (rewind record --audit)
  NATIVE_LIVE: 'REWIND_NATIVE_LIVE', // record: native addons (names, comma-separated) to run live, outside the membrane
  ALLOW_NATIVE: 'REWIND_ALLOW_NATIVE', // replay: native addons (names, comma-separated) allowed to run for real
  CHAOS: 'REWIND_CHAOS', // record: the chaos seed (rewind record --chaos): perturb the schedule
  SCHEDULE: 'REWIND_SCHEDULE', // record: a file with the order to deliver turns in (rewind record --schedule)
  // bin/rewind starts `record -- node SCRIPT` and `replay` itself (session/launch.ts): "record"
  // or "replay" makes this process the one that does the CLI's part; "0" in the user's
  // environment keeps the CLI's path.
  LAUNCH: 'REWIND_LAUNCH',
  LAUNCH_OUT: 'REWIND_LAUNCH_OUT', // with LAUNCH=record: the --out the user gave; =replay: the recording
  LAUNCH_CWD: 'REWIND_LAUNCH_CWD', // with LAUNCH=replay: where the user ran `rewind replay`
  LAUNCH_DEBUG: 'REWIND_LAUNCH_DEBUG', // "1": say whether bin/rewind's replay ran in its process or through the CLI
  LAUNCH_NODE: 'REWIND_LAUNCH_NODE', // with LAUNCH: the node word of the command (for index.json)
  // Debugging (src/debug); CONTROL switches the replay's debug controller on.
  CONTROL: 'REWIND_CONTROL', // replay: fd of the channel to the CLI's debug front end
  UNTIL: 'REWIND_UNTIL', // replay: stop before this event number
  INSPECT: 'REWIND_INSPECT', // replay: "host:port" to open the inspector on at the stop
  STEP: 'REWIND_STEP', // replay: "1" waits for the front end's commands at each stop (rewind debug)
  MARK: 'REWIND_MARK', // replay: "1" prefixes each output line with its event number
  HOLD_WORKERS: 'REWIND_HOLD_WORKERS', // replay under rewind dap: "1" makes each worker started once the client attached wait for it
  WORKER_UNTIL: 'REWIND_WORKER_UNTIL', // replay under rewind dap: "T:N", worker thread T (Node's thread id) pauses before its own event N
  SITES: 'REWIND_SITES', // replay: "1" reports every event's call site (rewind events)
  PROGRESS: 'REWIND_PROGRESS', // replay: "1" reports progress towards the stop
  KEEP_BYTES: 'REWIND_KEEP_BYTES', // replay: bytes of a log's events held in memory (default 64 MiB); the rest is read as the replay goes
  STATE: 'REWIND_STATE', // replay: "A,B", event numbers of two racing turns: the code each side ran is reported (rewind analyze)
} as const;

/** The replay's memory budget for its log (REWIND_KEEP_BYTES); undefined: the reader's default. */
export function keepBytesOf(env: NodeJS.ProcessEnv): number | undefined {
  const v = env[ENV.KEEP_BYTES];
  const n = v === undefined || v === '' ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Steering variables a worker thread's parent handed it in workerData, where the program gave
 * the thread an environment of its own (new Worker(f, { env }), see sources/workers.ts).
 */
const handed = new Map<string, string>();

/** A steering variable of this thread: its environment's, or the one its parent handed it. */
export const steering = (name: string): string | undefined => process.env[name] ?? handed.get(name);

/** This thread's steering variables (REWIND_*), as a new worker thread of it is to get them. */
export function steeringVariables(): Record<string, string> {
  const vars: Record<string, string> = Object.fromEntries(handed);
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('REWIND_') && v !== undefined) vars[k] = v;
  return vars;
}

/**
 * In a worker thread, first thing: the environment back as the program gave it (each name to
 * its value, or away: null), and the steering variables its parent handed it.
 */
export function takeHanded(restore: Record<string, string | null>, vars: Record<string, string>): void {
  for (const [k, v] of Object.entries(restore)) {
    if (v === null) delete process.env[k];
    else process.env[k] = v;
  }
  for (const [k, v] of Object.entries(vars)) handed.set(k, v);
}

/**
 * Replaying: the environment this thread started with (the replay's, not the recorded one the
 * program then reads), without rewind's steering variables. Node starts a replayed worker thread
 * in it: what Node itself reads from a thread's environment (NODE_OPTIONS' preloads, warnings
 * redirected to a file) is never the recording's, which could name code to run or files to write.
 */
let replayStart: Record<string, string> | null = null;
export function keepReplayStart(): void {
  replayStart = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REWIND_') && v !== undefined) replayStart[k] = v;
}
export const replayStartEnv = (): Record<string, string> | null => replayStart;
