// Benchmark 3: log size per clock reading. 10^6 readings: 500,000 Date.now() and
// 500,000 performance.now(), alternating.
const N = 500_000;
let s = 0;
for (let i = 0; i < N; i++) {
  s = (s + (Date.now() % 997) + Math.floor(performance.now() * 1000) % 991) % 1_000_000_007;
}
console.log(`clocks reads=${N * 2} checksum=${s}`);
