import { createRequire } from 'node:module';

/** rewind's own version, from package.json. */
export const REWIND_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
