// Post-build, for the CommonJS bundles every recorded or replayed process loads (the
// preload, its loader, the node:test runner):
// - A cheaper esbuild `__toESM`. Every `import x from 'node:fs'` there becomes
//   __toESM(require(...)), which copied each export of the module onto a new object as a
//   getter: 46 imports of Node built-ins, ~3 ms of CPU in every process's start. An object
//   whose prototype is the module reads the same live exports (rewind's patches included),
//   with `default` the module itself, as esbuild's node-mode interop has it; the bundles
//   import nothing but Node built-ins this way (checked below).
// - ASCII only: esbuild escapes non-ASCII characters in strings but keeps them in comments;
//   escaped there too (\uXXXX, the same in any JS token), the loader reads the bundle as
//   latin1, a one-byte string, instead of decoding UTF-8 into a two-byte one (preload-loader.ts).
// Same line count: the source maps hold.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const HELPER = /^var __toESM = \(mod, isNodeMode, target2?\) => \([\s\S]*?\n\)\);\n/m;
const LEAN = 'var __toESM = (mod) => Object.create(mod, { default: { value: mod, enumerable: true } });';

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
    .replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  fs.writeFileSync(file, lean);
}
