// Build tools and code tools on a small project: vite (build and dev server), tsc 5 and the
// native TypeScript 7 preview, eslint, prettier, esbuild. Each reads its sources through fs
// and writes its output: after recording the sources are edited and the output deleted, and
// the replay must neither see the edit nor write anything.
import fs from 'node:fs';
import path from 'node:path';

const webProject = {
  'index.html': `<!doctype html><html><head><title>eco</title></head><body><div id="app"></div><script type="module" src="/src/main.js"></script></body></html>\n`,
  'src/main.js': `import { greet } from './util.js';\nimport './style.css';\ndocument.getElementById('app').textContent = greet('vite');\n`,
  'src/util.js': `export const greet = (name) => 'hello ' + name + ' ' + import.meta.env.MODE;\n`,
  'src/style.css': `#app { color: rebeccapurple; }\n`,
};

const tsProject = {
  'tsconfig.json': JSON.stringify(
    {
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        strict: true,
        rootDir: 'src',
        outDir: 'out',
        declaration: true,
      },
      include: ['src'],
    },
    null,
    2,
  ),
  'src/index.ts': `import { area, type Shape } from './shapes.js';\nconst shapes: Shape[] = [{ kind: 'circle', r: 2 }, { kind: 'square', side: 3 }];\nexport const total: number = shapes.map(area).reduce((a, b) => a + b, 0);\n`,
  'src/shapes.ts': `export type Shape = { kind: 'circle'; r: number } | { kind: 'square'; side: number };\nexport function area(s: Shape): number {\n  switch (s.kind) {\n    case 'circle': return Math.PI * s.r ** 2;\n    case 'square': return s.side ** 2;\n  }\n}\n`,
  'src/broken.ts': `export const n: number = 'not a number';\n`,
};

const editSource = (rel, text) => (ctx) => {
  fs.rmSync(path.join(ctx.dir, 'out'), { recursive: true, force: true });
  fs.rmSync(path.join(ctx.dir, 'dist'), { recursive: true, force: true });
  ctx.write(rel, text);
};

const nextProject = {
  'next.config.js': `module.exports = { eslint: { ignoreDuringBuilds: true }, typescript: { ignoreBuildErrors: true } };\n`,
  'app/layout.js': `export default function Layout({ children }) {\n  return <html><body>{children}</body></html>;\n}\n`,
  'app/page.js': `export default function Page() {\n  return <main>hello next</main>;\n}\n`,
};

export const TOOLS = [
  {
    name: 'next-build',
    what: "Next.js 15 build of an app-router page: SWC's native binding, webpack in jest-worker children, WebCrypto keys, the manifests it writes into .next/ and then requires",
    packages: { next: '15.5.4', react: '19.1.1', 'react-dom': '19.1.1' },
    files: nextProject,
    outputs: ['.next'],
    command: ['node', 'node_modules/next/dist/bin/next', 'build'],
    // Its jest-worker children end killed by SIGINT (as recorded): stopped by their pool, not
    // failed, so `rewind replay` means the build itself.
    changeWorld: editSource(
      'app/page.js',
      `export default function Page() {\n  return <main>edited after recording</main>;\n}\n`,
    ),
    timeoutMs: 300_000,
  },
  {
    name: 'webpack',
    what: 'webpack 5 (webpack-cli 5) production build: an ES module project with JSON, a dynamic import, content hashes and source maps',
    packages: { webpack: '5.97.1', 'webpack-cli': '5.1.4' },
    files: {
      'package.json': `{ "type": "module" }\n`,
      'webpack.config.cjs': `module.exports = { mode: 'production', entry: './src/index.js', output: { path: __dirname + '/dist', filename: '[name].[contenthash].js', clean: true }, devtool: 'source-map', stats: 'normal' };\n`,
      'src/index.js': `import { add } from './math.js';\nimport data from './data.json';\nexport const run = () => add(data.a, data.b);\nimport('./lazy.js').then((m) => m.lazy());\n`,
      'src/math.js': `export const add = (a, b) => a + b;\nexport const unused = 1;\n`,
      'src/data.json': `{ "a": 1, "b": 2 }\n`,
      'src/lazy.js': `export const lazy = () => 42;\n`,
    },
    outputs: ['dist'],
    command: ['node', 'node_modules/webpack-cli/bin/cli.js', '--config', 'webpack.config.cjs'],
    changeWorld: editSource('src/math.js', `export const add = () => 'edited after recording';\n`),
    timeoutMs: 180_000,
  },
  {
    name: 'vite-build',
    what: 'vite 6 build of a small app (rollup, its native parts, CSS)',
    packages: { vite: '6.3.5' },
    files: webProject,
    outputs: ['dist'],
    command: ['node', 'node_modules/vite/bin/vite.js', 'build', '--logLevel', 'info'],
    changeWorld: editSource('src/util.js', `export const greet = () => 'edited after recording';\n`),
    timeoutMs: 180_000,
  },
  {
    name: 'vite-dev',
    what: 'the vite 6 dev server (createServer API) hit by a client: the page, a module, CSS, a 404',
    packages: { vite: '6.3.5' },
    ports: ['PORT'],
    files: {
      ...webProject,
      'dev.mjs': `import { createServer } from 'vite';
const server = await createServer({ logLevel: 'silent', server: { port: Number(process.env.PORT), host: '127.0.0.1', strictPort: true } });
await server.listen();
const base = 'http://127.0.0.1:' + process.env.PORT;
for (const p of ['/', '/src/main.js', '/src/util.js', '/src/style.css', '/missing.js']) {
  const res = await fetch(base + p);
  const text = await res.text();
  console.log(p, res.status, res.headers.get('content-type'), text.length, JSON.stringify(text.split('\\n').find((l) => l.includes('greet')) ?? ''));
}
await server.close();
`,
    },
    outputs: ['node_modules/.vite'],
    command: ['node', 'dev.mjs'],
    changeWorld: editSource('src/util.js', `export const greet = () => 'edited after recording';\n`),
    timeoutMs: 180_000,
  },
  {
    name: 'tsx',
    what: 'tsx 4 (module.register() hooks on their own thread): a TypeScript program importing TypeScript statically and dynamically, racing a timer',
    fast: true,
    packages: { tsx: '4.21.0' },
    files: {
      'package.json': JSON.stringify({ name: 'tsx-app', type: 'module', private: true }),
      'app.ts': `import { helper } from './helper.ts';
const n: number = Math.random();
setTimeout(() => console.log('timer', helper(n) > 0), 5);
for (const name of ['a', 'b'] as const) {
  const mod: typeof import('./helper.ts') = await import('./helper.ts');
  console.log('dynamic', name, typeof mod.helper);
}
`,
      'helper.ts': 'export const helper = (x: number): number => x + Date.now();\n',
    },
    command: ['node', '--import', 'tsx', 'app.ts'],
  },
  {
    name: 'tsc',
    what: 'tsc 5.9 -p: a small project with one type error (exit 2), declarations emitted',
    fast: false,
    packages: { typescript: '5.9.3' },
    files: tsProject,
    outputs: ['out'],
    command: ['node', 'node_modules/typescript/bin/tsc', '-p', '.', '--pretty', 'false'],
    expectStatus: 2,
    changeWorld: editSource('src/shapes.ts', `export type Shape = never;\nexport const area = 1;\n`),
    timeoutMs: 180_000,
  },
  {
    name: 'tsgo',
    what: 'the TypeScript 7 native preview (@typescript/native-preview): node starts its Go binary (from Node 22.15 by process.execve)',
    packages: { '@typescript/native-preview': '7.0.0-dev.20260707.2' },
    files: tsProject,
    outputs: ['out'],
    command: ['node', 'node_modules/@typescript/native-preview/bin/tsgo', '-p', '.', '--pretty', 'false'],
    expectStatus: 2,
    changeWorld: editSource('src/shapes.ts', `export type Shape = never;\nexport const area = 1;\n`),
  },
  {
    name: 'eslint',
    what: 'eslint 9 (flat config, @eslint/js recommended) finding problems (exit 1)',
    packages: { eslint: '9.17.0', '@eslint/js': '9.17.0', globals: '15.14.0' },
    files: {
      'eslint.config.mjs': `import js from '@eslint/js';\nimport globals from 'globals';\nexport default [js.configs.recommended, { languageOptions: { globals: globals.node } }];\n`,
      'src/a.js': `const unused = 1;\nif (x == null) console.log('x');\n`,
      'src/b.js': `export function f(a) { return a === a ? debugger : 0 }\n`,
      'src/c.js': `export const ok = (n) => n + 1;\n`,
    },
    command: ['node', 'node_modules/eslint/bin/eslint.js', 'src'],
    expectStatus: 1,
    changeWorld: (ctx) => ctx.write('src/c.js', 'export const ok = (n) => { nope };\n'),
  },
  {
    name: 'prettier',
    what: 'prettier 3 --write of unformatted files (it rewrites them: replay must not)',
    fast: true,
    packages: { prettier: '3.4.2' },
    files: {
      'src/a.js': `const  x = {a:1,b:[1,2,3]}\nfunction   f( a,b ){return a+b}\n`,
      'src/b.ts': `type T = {a:string,b:number}\nexport const t:T = {a:'x',b:2}\n`,
      'src/c.css': `a{color:red;background:blue}\n`,
      'src/d.md': `# title\n\n* one\n* two\n`,
    },
    command: ['node', 'node_modules/prettier/bin/prettier.cjs', '--write', 'src'],
    // Put the unformatted files back: a replay that really wrote would change them again.
    changeWorld: (ctx) => {
      ctx.write('src/a.js', `const  x = {a:1,b:[1,2,3]}\nfunction   f( a,b ){return a+b}\n`);
      ctx.write('src/c.css', `a{color:green}\n`);
    },
  },
  {
    name: 'swc',
    what: '@swc/core 1 (a napi-rs addon): TS and TSX transformed sync and on the thread pool (files the addon reads itself, a .swcrc), parsed, minified',
    fast: true,
    packages: { '@swc/core': '1.16.22' },
    files: {
      '.swcrc': JSON.stringify({
        jsc: { parser: { syntax: 'typescript', tsx: true }, target: 'es2019' },
        module: { type: 'commonjs' },
      }),
      'src/shapes.ts': tsProject['src/shapes.ts'],
      'src/index.ts': tsProject['src/index.ts'],
      'src/app.tsx': `import { total } from './index.js';\nexport const built: string = __BUILD__;\nexport const App = ({ name }: { name: string }) => <main title={name}>{total.toFixed(2)} {name ?? 'anon'}</main>;\n`,
      'src/enum.ts': `export enum Color { Red = 1, Green, Blue }\nexport class Box<T> { constructor(private readonly value: T) {}\n  get = (): T => this.value; }\n`,
      'build.cjs': `const swc = require('@swc/core');
const fs = require('node:fs');
const crypto = require('node:crypto');
const sha = (s) => crypto.createHash('sha1').update(s).digest('hex').slice(0, 10);
const stamp = { __BUILD__: JSON.stringify(Date.now().toString(36)), __SEED__: String(Math.random()) };
(async () => {
  fs.mkdirSync('out', { recursive: true });
  const order = [];
  // sync: read through fs, transformed on the main thread
  for (const f of ['src/shapes.ts', 'src/enum.ts']) {
    const out = swc.transformSync(fs.readFileSync(f, 'utf8'), { filename: f, swcrc: false, sourceMaps: true, jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } });
    fs.writeFileSync(f.replace('src/', 'out/').replace(/\\.ts$/, '.js'), out.code);
    console.log('sync', f, out.code.split('\\n').length, 'lines', sha(out.code), JSON.parse(out.map).sources.join(','));
  }
  // async: the addon reads the files itself, with the .swcrc, on the thread pool, racing
  const jobs = ['src/app.tsx', 'src/index.ts', 'src/shapes.ts'].map((f) =>
    swc.transformFile(f, { jsc: { transform: { react: { runtime: 'automatic' }, optimizer: { globals: { vars: stamp } } } } }).then((out) => {
      order.push(f);
      fs.writeFileSync(f.replace('src/', 'out/') + '.cjs', out.code);
      return [f, out.code];
    }),
  );
  for (const [f, code] of await Promise.all(jobs)) console.log('async', f, sha(code), '\\n' + code.trim());
  const ast = await swc.parse(fs.readFileSync('src/app.tsx', 'utf8'), { syntax: 'typescript', tsx: true });
  console.log('parse', ast.type, ast.body.map((n) => n.type).join(','), ast.span.end - ast.span.start);
  const min = await swc.minify('const built = __BUILD__; function add(first, second) { return first + second + ' + stamp.__SEED__ + ' }\\nconsole.log(add(built, 2));', { compress: true, mangle: true });
  fs.writeFileSync('out/min.js', min.code);
  console.log('minify', min.code.length, min.code);
  console.log('finished in order', order.join(' '), 'swc', swc.version);
})();
`,
    },
    outputs: ['out'],
    command: ['node', 'build.cjs'],
    changeWorld: editSource('src/app.tsx', `export const App = () => 'edited after recording';\n`),
  },
  {
    name: 'esbuild',
    what: 'esbuild 0.24 JS API: a bundle with a metafile (the native service runs as a child process)',
    fast: true,
    packages: { esbuild: '0.24.2' },
    files: {
      ...webProject,
      'build.mjs': `import * as esbuild from 'esbuild';
const result = await esbuild.build({ entryPoints: ['src/main.js'], bundle: true, outdir: 'out', metafile: true, minify: true, loader: { '.css': 'css' }, define: { 'import.meta.env.MODE': '"prod"' } });
for (const [file, info] of Object.entries(result.metafile.outputs)) console.log(file, info.bytes);
console.log((await esbuild.analyzeMetafile(result.metafile)).trim().split('\\n').length, 'lines of analysis');
const t = await esbuild.transform('let x: number = 1 + 2', { loader: 'ts' });
console.log(JSON.stringify(t.code));
`,
    },
    outputs: ['out'],
    command: ['node', 'build.mjs'],
    changeWorld: editSource('src/util.js', `export const greet = () => 'edited after recording';\n`),
  },
];
