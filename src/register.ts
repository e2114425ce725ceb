// The preload: `node --import rewind/register app.js`, or NODE_OPTIONS="--import=…" as the
// CLI sets it. Records into ./.rewind/ unless the CLI says otherwise (see session/start.ts).
import { start } from './session/start.js';

start();
