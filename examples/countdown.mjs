// A program that waits 30 s in total. `rewind replay` runs it in well under a second:
// replay time is virtual, the timers fire in their recorded order without waiting.
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';

const id = randomUUID();
console.log(`launch ${id} at ${new Date().toISOString()}`);
for (let left = 3; left > 0; left--) {
  console.log(`T-${left * 10}s (jitter ${Math.random().toFixed(4)})`);
  await sleep(10_000);
}
console.log(`liftoff after ${(performance.now() / 1000).toFixed(1)} s`);
