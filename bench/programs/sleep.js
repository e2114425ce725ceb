// Benchmark 4: sleeps 10 s in total across 1,000 sequential 10 ms timers.
import { setTimeout as sleep } from 'node:timers/promises';
const N = 1000;
const t0 = Date.now();
let n = 0;
for (let i = 0; i < N; i++) {
  await sleep(10);
  n++;
}
console.log(`sleep timers=${n} slept_ms=${Date.now() - t0}`);
