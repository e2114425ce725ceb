// Benchmark 7: fs-heavy. 10^4 small reads of 100 files in DIR (made by the benchmark):
// 5,000 fs.readFileSync and 5,000 fs.promises.readFile, 50 at a time. Prints a checksum.
const fs = require('node:fs');
const path = require('node:path');
const dir = process.argv[2];
const files = fs.readdirSync(dir).sort().map((f) => path.join(dir, f));
let sum = 0;
const add = (b) => {
  for (let i = 0; i < b.length; i += 7) sum = (sum * 31 + b[i]) % 1_000_000_007;
};
for (let i = 0; i < 5000; i++) add(fs.readFileSync(files[i % files.length]));
(async () => {
  for (let i = 0; i < 5000; i += 50) {
    const batch = await Promise.all(files.slice(0, 50).map((f, k) => fs.promises.readFile(files[(i + k) % files.length])));
    batch.forEach(add);
  }
  console.log(`fs reads=10000 files=${files.length} checksum=${sum}`);
})();
