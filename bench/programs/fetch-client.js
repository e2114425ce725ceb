// Benchmark 13: a short I/O-bound program, as people record most: a fetch client making 60
// sequential requests to a local server that answers each after 8 ms (about 0.5 s in all).
// Prints a checksum of the bodies; replay must print the same without the server.
const [port, count = '60'] = process.argv.slice(2);
let sum = 0;
for (let i = 0; i < Number(count); i++) {
  const res = await fetch(`http://127.0.0.1:${port}/item/${i}`);
  const body = await res.json();
  sum = (sum * 31 + body.id + body.name.length) % 1_000_000_007;
}
console.log(`fetch requests=${count} checksum=${sum}`);
