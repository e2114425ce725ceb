// The preload for programs run without the CLI: `node --import rewind-replay/register app.js`
// (and NODE_OPTIONS="--import=…" as the CLI sets it to replay what was recorded so). Records
// into ./.rewind/ unless the CLI says otherwise (see session/start.ts).
// Node waits for this module, top-level await included, before it runs the program.
import { ENV } from './session/env.js';

if (process.env[ENV.MODE] !== 'off') {
  const { start, debuggedWorker } = await import('./session/start.js');
  const debug = process.env[ENV.CONTROL] ? await import('./debug/controller.js') : null;
  start(debug?.attach);
  // A worker thread of a replay under a debugger: its pauses say where they are in its log.
  const worker = debuggedWorker();
  if (worker) (await import('./debug/worker-thread.js')).followWorkerThread(worker);
}
