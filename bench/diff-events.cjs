// A program of about 10^5 events for `rewind diff` (bench/diff.mjs): 50,000 turns
// (immediates and a few file reads), each reading the clock.
const fs = require('node:fs');
let left = Number(process.argv[2] ?? 50_000);
let sum = 0;
function step() {
  sum += Date.now() % 7;
  if (--left === 0) return console.log(`done ${sum}`);
  if (left % 5000 === 0) fs.stat(__filename, step);
  else setImmediate(step);
}
step();
