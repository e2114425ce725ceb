#!/usr/bin/env node
// The rewind command. The CLI is compiled TypeScript in ../dist (built by `npm install`).
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node 22.1+: V8's code cache for the CLI's modules, in dist/.compile-cache (as the preload's,
// see src/preload-loader.ts; `npm run build` clears it). Not passed on to the command rewind runs.
try {
  module.enableCompileCache?.(fileURLToPath(new URL('../dist/.compile-cache', import.meta.url)));
} catch {
  // a read-only install: no cache
}
const { main } = await import('../dist/cli/index.js');

await main(process.argv);
