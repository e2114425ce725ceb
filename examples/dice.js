// Rolls five dice at random moments, then prints what it rolled and when: every run differs.
// Record it, and its replay prints exactly that run again.
import crypto from 'node:crypto';
console.log('start', Date.now(), new Date().toISOString(), performance.now().toFixed(3));
let rolls = [];
function roll(n) {
  rolls.push(1 + Math.floor(Math.random() * 6));
  if (n > 0) setTimeout(() => roll(n - 1), Math.random() * 20);
  else {
    console.log('rolls', rolls.join(','), crypto.randomBytes(4).toString('hex'), crypto.randomUUID());
    setImmediate(() => console.log('done at', Date.now(), process.hrtime(), process.uptime()));
  }
}
roll(5);
