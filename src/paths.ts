// Where rewind's own files are. Resolved from this module, which sits directly in dist/ —
// as does the bundled preload (dist/preload.cjs) that inlines it: both resolve alike.

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** file: URL of rewind's dist/ directory: frames under it are rewind's own. */
export const DIST_URL = new URL('.', import.meta.url).href;
const DIST_PATH = fileURLToPath(DIST_URL);

/**
 * Whether a script name (an ESM module's file: URL, a CommonJS file's path — the bundled
 * preload's) or a stack line mentions one of rewind's own files.
 */
export const isRewindFile = (fileOrLine: string): boolean =>
  fileOrLine.includes(DIST_URL) || fileOrLine.includes(DIST_PATH);

/** The CLI (bin/rewind.js), for a replay bin/rewind started that has to go through the CLI after all. */
export const CLI_BIN = path.join(DIST_PATH, '..', 'bin', 'rewind.js');

/** rewind's package.json. */
export const PACKAGE_JSON_URL = new URL('../package.json', import.meta.url);

// ---- the preload, on the command lines rewind starts ---------------------------------------
/** The bundled CommonJS preload (see src/preload.ts). */
export const PRELOAD = path.join(DIST_PATH, 'preload.cjs');
/** The ESM preload, for replays a debugger drives (its controller is ESM). */
export const REGISTER_URL = pathToFileURL(path.join(DIST_PATH, 'register.js')).href;

/**
 * NODE_OPTIONS with rewind's preload — the CommonJS bundle, or with `esm` the ESM one —
 * and without a preload of this or another rewind copy (a recorded environment has one).
 */
export function withPreload(nodeOptions: string | undefined, esm = false): string {
  const flag = esm ? `--import=${REGISTER_URL}` : `--require="${PRELOAD.replace(/(["\\])/g, '\\$1')}"`;
  return [withoutPreload(nodeOptions), flag].filter(Boolean).join(' ');
}

/** NODE_OPTIONS without a preload of this or another rewind copy. */
export function withoutPreload(nodeOptions: string | undefined): string {
  return (nodeOptions ?? '')
    .split(/\s+/)
    .filter((t) => t && !/^--(import|require)="?\S*[\\/](register\.js|preload\.cjs)"?$/.test(t))
    .join(' ');
}
