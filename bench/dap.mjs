// Times rewind dap's reverse execution (stepBack, reverseContinue: re-execution) near the
// end of recordings of about 10^4 and 10^5 events, and a whole replay with the inspector
// attached vs without. A person reads the stop before going back, and rewind starts the
// next re-execution meanwhile (a standby replay): the figures "after the stop" wait
// THINK_MS first; "at once" do not. Run: npm run build && node bench/dap.mjs
// (TURNS_LIST=5000 for the 10^4 recording only).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'rewind.js');
const FIXTURE = path.join(ROOT, 'bench', 'dap-fixture.cjs');
const LINE =
  fs
    .readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('// breakpoint')) + 1;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-dap-bench-'));
const adapter = path.join(tmp, 'dap.mjs');
fs.writeFileSync(
  adapter,
  `import { main } from ${JSON.stringify(new URL('../dist/cli/index.js', import.meta.url).href)};\nawait main([process.argv[0], 'rewind', 'dap']);\n`,
);

const THINK_MS = 1500;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const show = (xs) =>
  xs.length === 1
    ? `${xs[0].toFixed(0)} ms`
    : `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}, n=${xs.length})`;
async function time(f) {
  const t = performance.now();
  await f();
  return performance.now() - t;
}
const think = () => new Promise((r) => setTimeout(r, THINK_MS));

for (const turns of (process.env.TURNS_LIST ?? '5000,50000').split(',').map(Number)) {
  const dir = path.join(tmp, `rec-${turns}`);
  execFileSync(process.execPath, [BIN, 'record', '-o', dir, process.execPath, FIXTURE], {
    env: { ...process.env, TURNS: String(turns) },
    stdio: 'ignore',
  });
  const events = execFileSync(process.execPath, [BIN, 'events', dir, '--json', '--no-sites'], { maxBuffer: 1 << 30 })
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const lastTurn = events.filter((e) => e.kind === 'turn').at(-2).n;
  console.log(`${events.length} events (stop at turn event ${lastTurn}):`);
  const plain = [];
  for (let k = 0; k < 3; k++)
    plain.push(
      await time(async () => execFileSync(process.execPath, [BIN, 'replay', '--no-summary', dir], { stdio: 'ignore' })),
    );
  console.log(`  plain replay to the end: ${show(plain)}`);

  const dc = new DebugClient(process.execPath, adapter, 'rewind');
  dc.defaultTimeout = 600_000;
  await dc.start();
  const stop = () => dc.waitForEvent('stopped');
  const launch = await time(() =>
    Promise.all([
      dc.initializeRequest({ adapterID: 'rewind', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true }),
      dc.configurationDoneRequest(),
      dc.launch({ recording: dir, stopOn: lastTurn }),
      stop(),
    ]),
  );
  console.log(`  launch (lists the events with their call sites), stopped before event ${lastTurn}: ${show([launch])}`);
  const back = [];
  const backNow = [];
  for (let k = 0; k < 5; k++) {
    await Promise.all([dc.nextRequest({ threadId: 1 }), stop()]);
    if (k % 2 === 0) await think();
    (k % 2 === 0 ? back : backNow).push(await time(() => Promise.all([dc.stepBackRequest({ threadId: 1 }), stop()])));
  }
  console.log(`  stepBack after a step, ${THINK_MS} ms after the stop: ${show(back)}`);
  console.log(`  stepBack after a step, at once: ${show(backNow)}`);

  // Breakpoints just set: the stops before here are not known, the run is followed from its start.
  const justSet = [];
  for (let k = 0; k < 3; k++) {
    await dc.setBreakpointsRequest({ source: { path: FIXTURE }, breakpoints: [] });
    await Promise.all([dc.customRequest('rewind/goto', { event: lastTurn }), stop()]);
    await dc.setBreakpointsRequest({ source: { path: FIXTURE }, breakpoints: [{ line: LINE }] });
    await think();
    justSet.push(await time(() => Promise.all([dc.reverseContinueRequest({ threadId: 1 }), stop()])));
  }
  console.log(
    `  reverseContinue, breakpoint just set (${Math.floor(turns / 1000)} hits before: the run is followed from its start): ${show(justSet)}`,
  );
  const known = [];
  for (let k = 0; k < 3; k++) {
    await think();
    known.push(await time(() => Promise.all([dc.reverseContinueRequest({ threadId: 1 }), stop()])));
  }
  console.log(`  reverseContinue to a stop passed before, ${THINK_MS} ms after the stop: ${show(known)}`);
  await dc.setBreakpointsRequest({ source: { path: FIXTURE }, breakpoints: [] });
  await Promise.all([dc.customRequest('rewind/goto', { event: events[0].n }), stop()]);
  await think(); // the standby replays started at the stop are ready: the replay runs alone
  const attached = await time(() => Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('terminated')]));
  console.log(`  replay to the end with the inspector attached (continue from the first event): ${show([attached])}`);
  await dc.stop();
}
fs.rmSync(tmp, { recursive: true, force: true });
