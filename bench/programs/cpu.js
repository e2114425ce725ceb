// Benchmark 1 (and 5): CPU-bound, 10^6 nondeterministic reads in total:
// 333,334 iterations, each reading Date.now(), performance.now() and Math.random().
// Prints one checksum line; nothing timing-related (under rewind the clocks are recorded).
const N = 333_334;
let sum = 0;
let x = 0;
for (let i = 0; i < N; i++) {
  const d = Date.now();
  const p = performance.now();
  const r = Math.random();
  x = (x * 31 + (d % 1000) + Math.floor(p * 1000) % 9973 + Math.floor(r * 65536)) % 1_000_000_007;
  sum = (sum + ((x ^ i) >>> 0)) % 4_294_967_291;
}
console.log(`cpu reads=${N * 3} checksum=${sum}:${x}`);
