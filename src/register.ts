// The preload: `node --import rewind-replay/register app.js`, or NODE_OPTIONS="--import=…" as the
// CLI sets it. Records into ./.rewind/ unless the CLI says otherwise (see session/start.ts).
// Node waits for this module, top-level await included, before it runs the program.
import { ENV } from './session/env.js';

if (process.env[ENV.MODE] !== 'off') {
  // Read before start(): a replay gives the program the recorded environment.
  const requires = process.env[ENV.REQUIRES];
  const { start, debuggedWorker } = await import('./session/start.js');
  const debug = process.env[ENV.CONTROL] ? await import('./debug/controller.js') : null;
  start(debug?.attach);
  // A worker thread of a replay under a debugger: its pauses say where they are in its log.
  const worker = debuggedWorker();
  if (worker) (await import('./debug/worker-thread.js')).followWorkerThread(worker);
  // A replay under a debugger: the program's --require preloads that ran after rewind's when
  // recorded were taken off the command line (Node runs them before any --import): now.
  if (requires) (await import('./node/fields.js')).preloadModules(JSON.parse(requires) as string[]);
}
