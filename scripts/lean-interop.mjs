// Post-build: a cheaper esbuild `__toESM` in the CommonJS bundles (the preload, its loader,
// the node:test runner). Every `import x from 'node:fs'` there becomes __toESM(require(...)),
// which copied each export of the module onto a new object as a getter: 46 imports of Node
// built-ins, ~3 ms of CPU in every recorded or replayed process's start. An object whose
// prototype is the module reads the same live exports (rewind's patches included), with
// `default` the module itself, as esbuild's node-mode interop has it; the bundles import
// nothing but Node built-ins this way (checked below). Same line count: the source maps hold.
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
  fs.writeFileSync(file, code.replace(HELPER, `${LEAN}${'\n'.repeat(lines)}`));
}
