// N turns (setImmediate), each reading the clock: 2N events. Every 1000th turn passes the
// marked line, where the reverse-execution benchmark puts its breakpoint.
const N = Number(process.env.TURNS || 5000);
let sum = 0;
function turn(i) {
  sum += Date.now() % 7;
  if (i % 1000 === 0) {
    sum += 1; // breakpoint
  }
  if (i < N) setImmediate(() => turn(i + 1));
  else console.log(`done ${sum}`);
}
turn(1);
