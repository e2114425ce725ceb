// Benchmark 3: log size per Math.random() call. 10^6 calls.
const N = 1_000_000;
let s = 0;
for (let i = 0; i < N; i++) s = (s + Math.floor(Math.random() * 1_000_000)) % 1_000_000_007;
console.log(`random calls=${N} checksum=${s}`);
