import { createRequire } from 'node:module';
import { PACKAGE_JSON_URL } from './paths.js';

/** rewind's own version, from package.json. */
export const REWIND_VERSION: string = (createRequire(PACKAGE_JSON_URL)('./package.json') as { version: string })
  .version;
