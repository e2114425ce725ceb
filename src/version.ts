import { readFileSync } from 'node:fs';
import { PACKAGE_JSON } from './paths.js';

/** The version the build wrote into the CommonJS bundles (scripts/lean-bundles.mjs); absent elsewhere. */
declare const __REWIND_VERSION__: string | undefined;

/**
 * rewind's own version, from package.json. Read as data, not required: no module resolution at
 * every start, and no entry of rewind's in the program's require.cache. The preload bundle
 * has it written in by the build, without reading the file (~0.15 ms of every start).
 */
export const REWIND_VERSION: string =
  typeof __REWIND_VERSION__ === 'string'
    ? __REWIND_VERSION__
    : (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
