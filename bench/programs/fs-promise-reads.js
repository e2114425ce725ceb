// fs benchmark: 10^4 small fs.promises.readFile calls, one after another.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const N = 10_000;
const dir = path.dirname(fileURLToPath(import.meta.url));
const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.js')).sort().map((f) => path.join(dir, f));
let sum = 0;
for (let i = 0; i < N; i++) sum = (sum + (await fs.readFile(files[i % files.length])).length) % 1_000_000_007;
console.log(`fs-promise-reads reads=${N} checksum=${sum}`);
