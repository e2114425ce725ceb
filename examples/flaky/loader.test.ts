// A flaky test, on purpose. The loader reads its config file, then waits a random backoff
// (jitter, as retry logic does) before handing the config over; the test gives it a 38 ms
// deadline. The backoff is under 40 ms: about 1 run in 20 it outlasts the deadline, and
// the timer wins the race. Run it with `npx vitest run examples/flaky` from the repository:
// rewind-replay/vitest (see the repository's vitest.config.ts) keeps the recording of a failing run.
//
// FLAKY_BACKOFF_MS fixes the backoff (45 loses the race every time).
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';

const DEADLINE_MS = 38;
const MAX_BACKOFF_MS = 40;

async function loadConfig(): Promise<unknown> {
  const text = await readFile(new URL('./config.json', import.meta.url), 'utf8');
  const backoff = Number(process.env.FLAKY_BACKOFF_MS ?? Math.random() * MAX_BACKOFF_MS);
  await sleep(backoff);
  return JSON.parse(text);
}

test('the config is loaded before the deadline', async () => {
  const config = await Promise.race([loadConfig(), sleep(DEADLINE_MS, 'deadline passed')]);
  expect(config).toEqual({ retries: 3, region: 'eu-west-1' });
});
