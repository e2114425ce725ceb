// fs benchmark: 10^4 small synchronous reads of distinct files (readFileSync of each file
// in DIR once, every one with content of its own), so no read repeats an earlier one.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const files = fs.readdirSync(dir).sort().map((f) => path.join(dir, f));
let sum = 0;
for (const f of files) sum = (sum * 31 + fs.readFileSync(f, 'utf8').length + fs.readFileSync(f)[7]) % 1_000_000_007;
console.log(`fs-distinct-reads reads=${files.length * 2} checksum=${sum}`);
