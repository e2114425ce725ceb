// The membrane's cost per call: a recorded better-sqlite3 stmt.all() (20 rows) and
// stmt.get() vs plain. `node bench/membrane.mjs` prints the median µs per call of 5 runs of
// each, plain and recorded, side by side. Not part of `npm run bench` (better-sqlite3 is a
// devDependency built for one Node ABI).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-membrane-'));
const prog = path.join(dir, 'calls.cjs');
fs.writeFileSync(
  prog,
  `const Database = require(${JSON.stringify(path.join(root, 'node_modules/better-sqlite3'))});
const db = new Database(':memory:');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)');
const ins = db.prepare('INSERT INTO t (name, qty) VALUES (?, ?)');
for (let i = 0; i < 20; i++) ins.run('name-' + i, i);
const all = db.prepare('SELECT * FROM t');
const get = db.prepare('SELECT * FROM t WHERE id = ?');
const N = 20000;
for (let i = 0; i < 2000; i++) { all.all(); get.get(1 + (i % 20)); }
let t = process.hrtime.bigint();
for (let i = 0; i < N; i++) all.all();
const a = Number(process.hrtime.bigint() - t) / 1e3 / N;
t = process.hrtime.bigint();
for (let i = 0; i < N; i++) get.get(1 + (i % 20));
const g = Number(process.hrtime.bigint() - t) / 1e3 / N;
console.log(JSON.stringify({ all: a, get: g }));
`,
);
const median = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const runs = { plain: [], recorded: [] };
for (let i = 0; i < 5; i++) {
  runs.plain.push(JSON.parse(execFileSync(process.execPath, [prog], { encoding: 'utf8' })));
  const out = path.join(dir, `rec${i}`);
  runs.recorded.push(
    JSON.parse(
      execFileSync(
        process.execPath,
        [path.join(root, 'bin/rewind.js'), 'record', '--out', out, '--', process.execPath, prog],
        { encoding: 'utf8' },
      ),
    ),
  );
}
for (const k of ['all', 'get']) {
  const p = median(runs.plain.map((r) => r[k]));
  const r = median(runs.recorded.map((x) => x[k]));
  console.log(
    `stmt.${k}(): plain ${p.toFixed(2)} µs, recorded ${r.toFixed(2)} µs per call (+${(r - p).toFixed(2)} µs, ${(r / p).toFixed(2)}x)`,
  );
}
const log = fs.readdirSync(path.join(dir, 'rec0')).find((f) => f.endsWith('.rwnd'));
console.log(`log: ${fs.statSync(path.join(dir, 'rec0', log)).size} bytes for ${2 * 22000} calls`);
fs.rmSync(dir, { recursive: true, force: true });
