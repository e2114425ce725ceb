import { readFileSync } from 'node:fs';
import { PACKAGE_JSON_URL } from './paths.js';

/**
 * rewind's own version, from package.json. Read as data, not required: no module resolution at
 * every start, and no entry of rewind's in the program's require.cache.
 */
export const REWIND_VERSION: string = (JSON.parse(readFileSync(PACKAGE_JSON_URL, 'utf8')) as { version: string })
  .version;
