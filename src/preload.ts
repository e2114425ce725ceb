// The preload the rewind CLI gives every Node process it records or replays (NODE_OPTIONS
// --require), bundled into one CommonJS file, dist/preload-bundle.cjs (npm run build), which dist/preload.cjs
// runs from V8's code cache (preload-loader.ts). Being
// CommonJS it runs synchronously during Node's startup, before the event loop first
// turns, so nothing can happen unrecorded before it (a forked child's first IPC message);
// being one file it loads in one read. `rewind-replay/register` (ESM, for --import) is the same
// start for programs run without the CLI. A replay a debugger drives loads this too, as the
// recording did (where the program's --require preloads run, and how its entry's first
// nextTicks and microtasks interleave, depend on it): the debug controller is in the bundle.
// In the bundle, import.meta.url is the bundle's file URL, made by the build's banner:
// `'file://' + __filename` for a path of URL-safe characters (what pathToFileURL returns for
// it, without its ~0.2 ms at start), pathToFileURL for any other.
import { ENV } from './session/env.js';
import { debuggedWorker, start } from './session/start.js';
import { attach } from './debug/controller.js';
import { followWorkerThread } from './debug/worker-thread.js';

if (process.env[ENV.MODE] !== 'off') {
  start(process.env[ENV.CONTROL] ? attach : undefined);
  // A worker thread of a replay under a debugger: its pauses say where they are in its log.
  const worker = debuggedWorker();
  if (worker) followWorkerThread(worker);
}
