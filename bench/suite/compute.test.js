// CPU and randomness: JSON round trips, hashing, ids.
import { createHash, randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';

test('JSON round trips of a generated catalogue', () => {
  const items = Array.from({ length: 20_000 }, (_, i) => ({
    id: i,
    name: `item ${i}`,
    tags: [i % 7, i % 11],
    price: (i * 37) % 1000,
  }));
  const text = JSON.stringify(items);
  const back = JSON.parse(text);
  expect(back.length).toBe(items.length);
  expect(back.reduce((a, x) => a + x.price, 0)).toBe(items.reduce((a, x) => a + x.price, 0));
});

test('hashes and ids', () => {
  const seen = new Set();
  let h = createHash('sha256');
  for (let i = 0; i < 5_000; i++) {
    seen.add(randomUUID());
    h.update(String(Math.random()));
  }
  expect(seen.size).toBe(5_000);
  expect(h.digest('hex')).toMatch(/^[0-9a-f]{64}$/);
});

test('clock readings move forward', () => {
  let last = performance.now();
  for (let i = 0; i < 50_000; i++) {
    const now = performance.now();
    expect(now >= last).toBe(true);
    last = now;
  }
  expect(Date.now()).toBeGreaterThan(1_600_000_000_000);
});
