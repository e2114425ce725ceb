// fs benchmark: 10^4 small synchronous reads (readFileSync of the benchmark programs, in turn).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const N = 10_000;
const dir = path.dirname(fileURLToPath(import.meta.url));
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js')).sort().map((f) => path.join(dir, f));
let sum = 0;
for (let i = 0; i < N; i++) sum = (sum + fs.readFileSync(files[i % files.length], 'utf8').length) % 1_000_000_007;
console.log(`fs-sync-reads reads=${N} checksum=${sum}`);
