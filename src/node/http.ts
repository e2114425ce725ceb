import { createRequire } from 'node:module';
import type * as Http from 'node:http';

// node:http for the lookups of its internals. Not an ESM import: building node:http's ESM
// facade reads its lazy exports, and on Node 22 one of them (WebSocket) loads undici, whose
// parser then compiles in the background — an event of rewind's making, which a recording
// through the CommonJS preload would not have.
export const http = createRequire(import.meta.url)('node:http') as typeof Http;
