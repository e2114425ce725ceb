// Times rewind dap's reverse execution (stepBack, reverseContinue: re-execution from the
// start) at the end of recordings of about 10^4 and 10^5 events, and a whole replay with
// the inspector attached vs without. Run: npm run build && node bench/dap.mjs
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

const ms = (t) => `${(performance.now() - t).toFixed(0)} ms`;
async function timed(label, f) {
  const t = performance.now();
  await f();
  console.log(`  ${label}: ${ms(t)}`);
}

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
  await timed('plain replay to the end', async () =>
    execFileSync(process.execPath, [BIN, 'replay', '--no-summary', dir], { stdio: 'ignore' }),
  );

  const dc = new DebugClient(process.execPath, adapter, 'rewind');
  dc.defaultTimeout = 600_000;
  await dc.start();
  const stop = () => dc.waitForEvent('stopped');
  await timed(`launch, stopped before event ${lastTurn}`, () =>
    Promise.all([
      dc.initializeRequest({ adapterID: 'rewind', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true }),
      dc.configurationDoneRequest(),
      dc.launch({ recording: dir, stopOn: lastTurn }),
      stop(),
    ]),
  );
  await Promise.all([dc.nextRequest({ threadId: 1 }), stop()]);
  await timed('stepBack (re-execution to the turn, one step)', () =>
    Promise.all([dc.stepBackRequest({ threadId: 1 }), stop()]),
  );
  await dc.setBreakpointsRequest({ source: { path: FIXTURE }, breakpoints: [{ line: LINE }] });
  await timed(`reverseContinue (${Math.floor(turns / 1000)} breakpoint hits before)`, () =>
    Promise.all([dc.reverseContinueRequest({ threadId: 1 }), stop()]),
  );
  await dc.setBreakpointsRequest({ source: { path: FIXTURE }, breakpoints: [] });
  await timed('replay to the end with the inspector attached (goto first event, continue)', async () => {
    await Promise.all([dc.customRequest('rewind/goto', { event: events[0].n }), stop()]);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('terminated')]);
  });
  await dc.stop();
}
fs.rmSync(tmp, { recursive: true, force: true });
