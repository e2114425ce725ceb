// Benchmark 2: timer- and promise-heavy. 1000 concurrent async chains x 100 hops = 10^5
// event-loop turns. 9 hops in 10 go through setImmediate, 1 in 10 through setTimeout(0)
// (which is 1 ms, so it is kept rare); every hop also does some promise work.
const CHAINS = 1000;
const HOPS = 100;
let order = 0;
let turns = 0;

// Promise work per hop: a Promise.all over a few async functions, a then-chain, and a
// little arithmetic on plain objects.
const step = async (v, k) => {
  await null;
  const o = { v, k, w: [v, k, v ^ k] };
  return o.w.reduce((a, b) => (a * 7 + b) % 65_521, o.v);
};
const work = async (v) => {
  const parts = await Promise.all([step(v, 1), step(v, 2), step(v, 3), step(v, 4), step(v, 5), step(v, 6), step(v, 7), step(v, 8)]);
  let t = await parts.reduce((p, x) => p.then((a) => a + x), Promise.resolve(0));
  for (let j = 0; j < 200; j++) t = (t * 31 + j) % 1_000_003;
  return t;
};

async function chain(id) {
  let acc = id;
  for (let hop = 0; hop < HOPS; hop++) {
    if (hop % 10 === 9) await new Promise((r) => setTimeout(r, 0));
    else await new Promise((r) => setImmediate(r));
    turns++;
    // The order in which chains run is part of the checksum: replay must reproduce it.
    order = (order * 33 + id) % 1_000_000_007;
    acc = (acc + (await work(hop))) % 1_000_003;
  }
  return acc;
}

const results = await Promise.all(Array.from({ length: CHAINS }, (_, i) => chain(i)));
const total = results.reduce((a, b) => (a + b) % 1_000_000_007, 0);
console.log(`async chains=${CHAINS} hops=${HOPS} turns=${turns} order=${order} total=${total}`);
