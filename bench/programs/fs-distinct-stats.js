// fs benchmark: statSync and lstatSync of every file in DIR (20,000 files: 40,000 calls, as a
// build's or a test runner's crawl makes), no path stat'ed twice by the same function.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const files = fs.readdirSync(dir).sort().map((f) => path.join(dir, f));
let sum = 0;
for (const f of files) sum = (sum * 31 + fs.statSync(f).size + fs.lstatSync(f).mode) % 1_000_000_007;
console.log(`fs-distinct-stats stats=${files.length * 2} checksum=${sum}`);
