// dist/preload.cjs, what `--require` loads: it runs rewind's preload bundle
// (dist/preload-bundle.cjs, see preload.ts) from V8's code cache when there is one.
// Compiling the 300 KB bundle is the largest part of what the preload costs each process at
// start (about 7 of 30 ms on Node 20); with the cache most of it is gone. The cache is
// written on first use (after the start, and again as that process ends: againAtExit), per
// Node version and build, into dist/.compile-cache/ (next to the code it caches: whoever can
// write there can change rewind anyway; `npm run build` clears it), one per set of
// command-line options (see flagsTag). If it cannot be read or written, the bundle is
// compiled as usual; if V8 rejects it, compiled and the cache made again.
import { isAscii } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

declare const __dirname: string;
// This file's own require and module (dist/preload.cjs is CommonJS). The require: the bundle
// requires only Node's built-ins, which it resolves as one made for the bundle's path would
// (Module.createRequire: ~0.15 ms a start). The module: its class is the CommonJS loader's
// Module, which the bundle takes from it rather than loading node:module (node/fields.ts).
declare const require: NodeJS.Require;
declare const module: NodeJS.Module;

// Taken before the bundle runs: rewind patches fs's exports, and these calls are its own.
const { openSync, writeSync, closeSync, renameSync, mkdirSync, readFileSync, statSync } = fs;
// So is the cache it makes (rewind records the program's createCachedData: sources/code-cache.ts).
const { createCachedData } = vm.Script.prototype;
/** How much larger than the start's the cache made at exit may be (see againAtExit). */
const MAX_GROWTH_AT_EXIT = 1.25;

const bundle = path.join(__dirname, 'preload-bundle.cjs');
const bytes = readFileSync(bundle);
// ASCII, as the build leaves it (scripts/lean-bundles.mjs): a one-byte string, without
// decoding UTF-8 into a two-byte one (about 1 ms less).
const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
const built = statSync(bundle);
const cacheDir = path.join(__dirname, '.compile-cache');
// One cache per mode: each holds the functions its start compiles (a replay's reader and
// dispatcher, a recording's writer), which a cache the other mode made would lack (about
// 10 M instructions more per start, measured with callgrind).
const mode = process.env.REWIND_MODE === 'replay' ? 'replay' : 'record';
const cacheFile = path.join(
  cacheDir,
  `preload-${mode}-${process.version}-${process.arch}-${built.size}-${Math.floor(built.mtimeMs)}${flagsTag()}.bin`,
);

let cached: Buffer | undefined;
try {
  cached = readFileSync(cacheFile);
} catch {
  // none yet
}
// The build stores the bundle as the function Module.wrap would make of it (scripts/lean-bundles.mjs).
const script = new vm.Script(source, { filename: bundle, cachedData: cached });
script.runInThisContext()(module.exports, require, module, bundle, path.dirname(bundle));
// After running: the cache then holds the functions the start compiled too. One V8 rejected
// (made under flags the name does not tell apart, or damaged) is made again.
if (cached === undefined || script.cachedDataRejected === true) {
  const atStart = createCachedData.call(script);
  save(atStart);
  againAtExit(atStart.length);
}

/**
 * Makes the cache again as this process ends, after rewind ended its log: it then also holds
 * what every run compiles after the start (the checks Node's load of the entry module runs
 * through, the log's end and its last chunk's compression: 22 functions, 2.5 M instructions
 * of a recorded empty program's start-up, measured with callgrind). Kept only if not much
 * larger than the start's: every later start deserializes the whole cache (~28 k
 * instructions a KB), and a large first program (an HTTP server's: +17%) compiled paths of
 * its own. Where the process ends without 'exit' (a signal; process.exit() inside an 'exit'
 * listener), the start's stays.
 */
function againAtExit(startBytes: number): void {
  const emit = process.emit as (...a: unknown[]) => boolean;
  let made = false;
  // Left in place after: the program may have wrapped process.emit around it since.
  process.emit = function (this: NodeJS.Process, event: string | symbol) {
    try {
      return emit.apply(this, arguments as unknown as unknown[]);
    } finally {
      if (event === 'exit' && !made) {
        made = true;
        const atExit = createCachedData.call(script);
        if (atExit.length <= startBytes * MAX_GROWTH_AT_EXIT) save(atExit);
      }
    }
  } as typeof process.emit;
}

/**
 * '' or '-' and a digest of the command line's options: V8 rejects a code cache made under
 * other flags, and one the first recorded run after a build made with, say, `--expose-gc` or
 * `--max-old-space-size` was rejected by every run without them, each compiling the bundle
 * again (~15 ms a start). Preloads and module loaders (Node's options, not V8's, and the same
 * in every run rewind starts) are left out, and so are options' values given apart.
 */
function flagsTag(): string {
  const tokens = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  let kept = '';
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (/^(-r|--require|--import|--loader|--experimental-loader)$/.test(t)) i++;
    else if (t.startsWith('-') && !/^--(require|import|loader|experimental-loader)=/.test(t)) kept += ` ${t}`;
  }
  if (kept === '') return '';
  let h = 0x811c9dc5; // FNV-1a: no node:crypto at start
  for (let i = 0; i < kept.length; i++) h = Math.imul(h ^ kept.charCodeAt(i), 0x01000193);
  return `-${(h >>> 0).toString(16)}`;
}

function save(data: Buffer): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  // rewind records the fs binding these call: marked as its own I/O (see node/originals.ts).
  const ownIo = ((globalThis as Record<symbol, unknown>)[Symbol.for('rewind.ownIo')] ??= { depth: 0 }) as {
    depth: number;
  };
  ownIo.depth++;
  try {
    mkdirSync(cacheDir, { recursive: true });
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, cacheFile); // whole or not at all, whoever else writes it at once
  } catch {
    // read-only install: no cache
  } finally {
    ownIo.depth--;
  }
}
