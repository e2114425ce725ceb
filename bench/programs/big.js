// For bench/big-log.js: a program whose log grows to about MB megabytes (argv[2]) of
// incompressible events: random bytes (1 KiB at a time) with clock readings between them.
import { randomBytes } from 'node:crypto';

const mb = Number(process.argv[2] ?? 1024);
const n = Math.ceil((mb * 1024 * 1024) / 1040);
let sum = 0;
for (let i = 0; i < n; i++) {
  const b = randomBytes(1024);
  sum = (sum * 31 + b[i & 1023] + (Date.now() % 7) + Math.floor(performance.now()) % 5) % 1_000_000_007;
}
console.log(`big reads=${n} checksum=${sum}`);
