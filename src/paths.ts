// Where rewind's own files are. Resolved from this module, which sits directly in dist/ —
// as does the bundled preload (dist/preload.cjs) that inlines it: both resolve alike.

import { fileURLToPath } from 'node:url';

/** file: URL of rewind's dist/ directory: frames under it are rewind's own. */
export const DIST_URL = new URL('.', import.meta.url).href;
const DIST_PATH = fileURLToPath(DIST_URL);

/**
 * Whether a script name (an ESM module's file: URL, a CommonJS file's path — the bundled
 * preload's) or a stack line mentions one of rewind's own files.
 */
export const isRewindFile = (fileOrLine: string): boolean =>
  fileOrLine.includes(DIST_URL) || fileOrLine.includes(DIST_PATH);

/** rewind's package.json. */
export const PACKAGE_JSON_URL = new URL('../package.json', import.meta.url);
