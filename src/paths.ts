// Where rewind's own files are. Resolved from this module, which sits directly in dist/ —
// as does the bundled preload (dist/preload.cjs) that inlines it: both resolve alike.

import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Made with string operations where they give what `new URL`, fileURLToPath and pathToFileURL
// would (~0.5 ms of every recorded process's start, in its preload bundle, for URL's first
// uses): import.meta.url is canonical (Node's, or the bundle banner's for a path of URL-safe
// characters), so its directory is itself up to its last '/', and a name of URL-safe
// characters appended to it is that file's URL.

/** file: URL of rewind's dist/ directory: frames under it are rewind's own. */
export const DIST_URL = import.meta.url.slice(0, import.meta.url.lastIndexOf('/') + 1);
/** dist/'s path, with its trailing separator. Nothing to decode in a POSIX URL without '%'. */
const DIST_PATH =
  process.platform !== 'win32' && DIST_URL.startsWith('file:///') && !DIST_URL.includes('%')
    ? DIST_URL.slice('file://'.length)
    : fileURLToPath(DIST_URL);

/**
 * Whether a script name (an ESM module's file: URL, a CommonJS file's path — the bundled
 * preload's) or a stack line mentions one of rewind's own files.
 */
export const isRewindFile = (fileOrLine: string): boolean =>
  fileOrLine.includes(DIST_URL) || fileOrLine.includes(DIST_PATH);

/** The CLI (bin/rewind.js), for a replay bin/rewind started that has to go through the CLI after all. */
export const CLI_BIN = path.join(DIST_PATH, '..', 'bin', 'rewind.js');

/** rewind's package.json. */
export const PACKAGE_JSON = path.join(DIST_PATH, '..', 'package.json');

// ---- the preload, on the command lines rewind starts ---------------------------------------
/** The bundled CommonJS preload (see src/preload.ts). */
export const PRELOAD = path.join(DIST_PATH, 'preload.cjs');
/** The ESM preload, for replays of what it recorded (`node --import rewind-replay/register`). */
export const REGISTER_URL = `${DIST_URL}register.js`;

/** The NODE_OPTIONS token that loads rewind's preload: the CommonJS bundle, or with `esm` the ESM one. */
const preloadFlag = (esm: boolean): string =>
  esm ? `--import=${REGISTER_URL}` : `--require="${PRELOAD.replace(/(["\\])/g, '\\$1')}"`;

/**
 * NODE_OPTIONS with rewind's preload first, and without a preload of this or another rewind
 * copy (a recorded environment has one). First: Node runs `--require` preloads in order, and
 * what the program's own preloads do at start-up (an instrumentation's timers and ids, nyc's
 * set-up) must run recorded.
 */
export function withPreload(nodeOptions: string | undefined): string {
  return [preloadFlag(false), withoutPreload(nodeOptions)].filter(Boolean).join(' ');
}

/**
 * A replay's NODE_OPTIONS: rewind's preload where the recorded process had it, so that the
 * program's own `--require` preloads run on the same side of it as when recorded (recordings
 * made before it went first have it last). First if the recording names none.
 */
export function withPreloadAsRecorded(recorded: string | undefined): string {
  const tokens = (recorded ?? '').split(/\s+/).filter(Boolean);
  const rest: string[] = [];
  let at = -1;
  let imported = false;
  for (let i = 0; i < tokens.length; i++) {
    const n = rewindPreloadAt(tokens, i);
    if (n === 0) {
      rest.push(tokens[i]);
      continue;
    }
    if (at < 0) {
      at = rest.length;
      imported = tokens[i].startsWith('--import');
    }
    i += n - 1;
  }
  // In its recorded form too: an --import starts later than a --require (after every one of
  // them, once Node's ESM loader is up), and what the program's start-up queued runs around it.
  rest.splice(Math.max(at, 0), 0, preloadFlag(imported));
  return rest.join(' ');
}

/** A path or URL of a preload file of rewind's (this copy's or another's). */
const PRELOAD_FILE = /[\\/](register\.js|preload\.cjs)"?$/;

/** A preload of rewind's as named after --import/--require: a path or URL of it, or the package's. */
const isRewindPreload = (v: string): boolean => PRELOAD_FILE.test(v) || /^"?rewind-replay\/register"?$/.test(v);

/** NODE_OPTIONS without a preload of this or another rewind copy. */
export function withoutPreload(nodeOptions: string | undefined): string {
  return (nodeOptions ?? '')
    .split(/\s+/)
    .filter((t) => t && !isPreloadToken(t))
    .join(' ');
}

/**
 * A NODE_OPTIONS token loading a preload file of this or another rewind copy. Not a package
 * name: stripping `rewind-replay/register` would hide from the trust review (session/trust.ts)
 * a specifier that resolves to whatever the recorded directory holds.
 */
const isPreloadToken = (t: string): boolean => /^--(import|require)=/.test(t) && PRELOAD_FILE.test(t);
/**
 * How many of `tokens` from `i` name a preload of rewind's (0, 1 or 2: `--import X`), by its
 * path, URL or package name: where rewind's preload was on a recorded command line.
 */
function rewindPreloadAt(tokens: readonly string[], i: number): number {
  const t = tokens[i];
  if (/^--(import|require)$/.test(t)) return isRewindPreload(tokens[i + 1] ?? '') ? 2 : 0;
  return /^--(import|require)=/.test(t) && isRewindPreload(t.slice(t.indexOf('=') + 1)) ? 1 : 0;
}
