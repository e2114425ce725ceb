#!/usr/bin/env node
// The rewind command. The CLI is compiled TypeScript in ../dist (built by `npm install`).
import { main } from '../dist/cli/index.js';

await main(process.argv);
