// A flaky crash: a race between two timers and a random decision. Record it until it
// crashes, then replay the crash as often as you like:
//   npx rewind record --until-fail -- node examples/crash.js
//   npx rewind replay
const orders = [];
function take(who) {
  orders.push(who);
  if (orders.length === 2) {
    const basket = Math.random() < 0.5 ? null : { items: orders };
    console.log(`served ${orders.join(' then ')} at ${Date.now()}`);
    console.log(`basket has ${basket.items.length} items`); // TypeError when basket is null
  }
}
setTimeout(() => take('alice'), Math.random() * 10);
setTimeout(() => take('bob'), Math.random() * 10);
