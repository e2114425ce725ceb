// Post-build, for the CommonJS bundles every recorded or replayed process loads (the
// preload, its loader, the node:test runner):
// - A cheaper esbuild `__toESM`. Every `import x from 'node:fs'` there becomes
//   __toESM(require(...)), which copied each export of the module onto a new object as a
//   getter: 46 imports of Node built-ins, ~3 ms of CPU in every process's start. An object
//   whose prototype is the module reads the same live exports (rewind's patches included),
//   with `default` the module itself, as esbuild's node-mode interop has it; the bundles
//   import nothing but Node built-ins this way (checked below).
// - Built-ins loaded when first used, not when the bundle starts: every `import ... from
//   'node:zlib'` becomes a require at the top of the bundle, so each process loaded every
//   built-in rewind uses anywhere (crypto, net, zlib, worker_threads...: ~5 ms) before the
//   program's first line, used or not. Each import is now an object that requires the module
//   on its first property read (a Proxy as its prototype), which then reads the module's own
//   live exports; `default` is the module itself. The module does not become the import's
//   prototype: V8 turns an object made a prototype into a dictionary, and every program's
//   `timers.setImmediate()`, `zlib.createGzip()`, `url.parse()`... then a hash lookup. Reads
//   through the Proxy cost ~50 ns, and rewind makes them only at start or seldom (the named
//   imports: createRequire, fileURLToPath, resolve...); the default imports, `default`.
// - ASCII only: esbuild escapes non-ASCII characters in strings but keeps them in comments;
//   escaped there too (\uXXXX, the same in any JS token), the loader reads the bundle as
//   latin1, a one-byte string, instead of decoding UTF-8 into a two-byte one (preload-loader.ts).
// - The preload bundle (only that one: Node's loader requires the others) is stored as the
//   function Node's CommonJS loader wraps a file in (Module.wrap's text), on its first line
//   and before its source map comment: preload-loader.ts compiles the file's string as it
//   is. Wrapped there at each start, the 565 KB source was copied into a new string (a rope
//   V8 flattens to compile it), one more young-generation allocation of its size, which cost
//   every recorded process a scavenge (~0.4 ms) at start.
// - rewind's version (src/version.ts's __REWIND_VERSION__) written in, from package.json: not
//   read from there at each start.
// Same line count: the source maps hold.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const { version } = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const VERSION_NAME = /\b__REWIND_VERSION__\b/g;
const HELPER = /^var __toESM = \(mod, isNodeMode, target2?\) => \([\s\S]*?\n\)\);\n/m;
// One line, the line count of the bundle stays (its source map). `esm`: with `default`, the module.
const LEAN =
  'var __toESM = (id, esm) => { let mod; const load = () => { if (mod === undefined) { mod = require(id); ' +
  'if (esm) Object.defineProperty(lazy, "default", { value: mod, enumerable: true }); } ' +
  'return mod; }; const lazy = Object.create(new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() }), ' +
  'esm ? { default: { get: load, enumerable: true, configurable: true } } : {}); return lazy; };';
// esbuild's forms of a top-level import of a built-in: with a default import, and named only.
const ESM_IMPORT = /__toESM\(require\("(node:[a-z0-9_/]+)"\), 1\)/g;
const NAMED_IMPORT = /^var (import_[A-Za-z0-9_$]+) = require\("(node:[a-z0-9_/]+)"\);$/gm;
// Module.wrapper's two parts: preload-loader.ts runs the function the file evaluates to.
const WRAPPED = new Set(['preload-bundle.cjs']);
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'];

/** `code` wrapped, its source map comment kept last (where tools look for it). */
function wrapped(file, code) {
  const comment = /\n\/\/# sourceMappingURL=\S+\n?$/.exec(code);
  if (!comment) throw new Error(`${file}: no source map comment at its end`);
  return WRAPPER[0] + code.slice(0, comment.index) + WRAPPER[1] + code.slice(comment.index);
}

for (const name of process.argv.slice(2)) {
  const file = DIST + name;
  const code = fs.readFileSync(file, 'utf8');
  const helper = HELPER.exec(code);
  if (!helper) throw new Error(`${file}: esbuild's __toESM helper not found (another esbuild version?)`);
  const calls = code.split('__toESM(').length - 1;
  const builtins = code.match(/__toESM\(require\("node:[a-z0-9_/]+"\), 1\)/g)?.length ?? 0;
  if (calls !== builtins)
    throw new Error(`${file}: __toESM of something other than a Node built-in; the lean helper is for built-ins only`);
  const lines = helper[0].split('\n').length - 1;
  const lean = code
    .replace(HELPER, `${LEAN}${'\n'.repeat(lines)}`)
    .replace(ESM_IMPORT, '__toESM("$1", 1)')
    .replace(NAMED_IMPORT, 'var $1 = __toESM("$2", 0);')
    .replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(VERSION_NAME, JSON.stringify(version));
  if (/\bREWIND_VERSION\b/.test(code) && !code.includes('__REWIND_VERSION__'))
    throw new Error(`${file}: src/version.ts's __REWIND_VERSION__ not found where REWIND_VERSION is used`);
  fs.writeFileSync(file, WRAPPED.has(name) ? wrapped(file, lean) : lean);
}
