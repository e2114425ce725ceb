// Acceptance: no setup. A bare DevTools-protocol client (no skip list, no ignore list) gets
// its first pause in the program, from a checkout and from a package installed with
// `npm pack` into a fresh project; rewind's built files carry source maps whose
// x_google_ignoreList names every rewind source but the trampoline.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { debugReplay, type DebuggedReplay } from './debug-client.js';
import { NODE, ROOT, baseEnv, cleanupTempDirs, eventsOf, fixture, run, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const FIXTURE = 'debug-fail.cjs';
const source = fs.readFileSync(fixture(FIXTURE), 'utf8').split('\n');
const lineOf = (text: string) => source.findIndex((l) => l.includes(text));
const TRAMPOLINE_SOURCE = /(^|\/)src\/debug\/trampoline\.ts$/;

/** Every .js/.cjs file under `dist` with the source map it names, parsed. */
interface SourceMap {
  sources: string[];
  sourcesContent?: (string | null)[];
  x_google_ignoreList?: number[];
}
function builtWithMaps(dist: string): { file: string; map: SourceMap | null }[] {
  return (fs.readdirSync(dist, { recursive: true }) as string[])
    .filter((f) => /\.c?js$/.test(f) && !f.startsWith('.compile-cache'))
    .map((f) => {
      const file = path.join(dist, f);
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(file, 'utf8'))?.[1];
      const mapFile = url && path.join(path.dirname(file), url);
      return { file, map: mapFile && fs.existsSync(mapFile) ? JSON.parse(fs.readFileSync(mapFile, 'utf8')) : null };
    });
}

/** Records the fixture with the rewind at `bin`, replays it to the failure under a bare client. */
async function pauseBeforeFailure(
  bin: string,
): Promise<{ d: DebuggedReplay; failingTurn: number; recordedStdout: string }> {
  const dir = path.join(tempDir(), 'rec');
  const rec = await run(NODE, [bin, 'record', '-o', dir, NODE, fixture(FIXTURE)], { cwd: tempDir() });
  expect(rec.status, rec.stderr.toString()).toBe(1);
  const events = await eventsOf(dir);
  const failure = events.find((e) => e.kind === 'failure')!;
  const failingTurn = events.filter((e) => e.kind === 'turn' && e.n < failure.n).at(-1)!.n;
  const d = await debugReplay(['--break-before-failure', '--inspect=127.0.0.1:0', dir], bin);
  return { d, failingTurn, recordedStdout: rec.stdout.toString() };
}

/** The first pause is on fail()'s first line, its stack holds the trampoline at the failing turn; then the replay ends as recorded. */
async function expectFirstPauseInProgram(bin: string): Promise<void> {
  const { d, failingTurn, recordedStdout } = await pauseBeforeFailure(bin);
  const first = await d.nextPause();
  const top = first.callFrames[0];
  expect(top.functionName).toBe('fail');
  expect(d.scripts.get(top.location.scriptId)).toMatch(/debug-fail\.cjs$/);
  expect(top.location.lineNumber).toBe(lineOf('const key = 1 + (counter % 7)'));
  expect(await d.evaluate(first, 'counter')).toBe(Number(/counter (\d+)$/m.exec(recordedStdout)![1]));
  expect(await d.eventOf(first)).toBe(failingTurn);
  // rewind's frames (the dispatcher, the trampoline) are below it: the client stepped through none.
  const rewindFrames = first.callFrames.filter((f) => /\/dist\//.test(d.scripts.get(f.location.scriptId) ?? ''));
  expect(rewindFrames.length).toBeGreaterThan(1);
  const end = await d.finish();
  expect(end.status).toBe(1);
  expect(end.stdout).toBe(recordedStdout);
}

/** Leaves a debugged replay where it paused (what it prints from there is checked elsewhere). */
async function stop(d: DebuggedReplay): Promise<void> {
  await d.client.close();
  d.child.kill('SIGKILL');
}

describe('no setup: the first pause of a bare DevTools-protocol client is in the program', () => {
  it('from this checkout', async () => {
    await expectFirstPauseInProgram(path.join(ROOT, 'bin', 'rewind.js'));
  });

  it("a worker's message: on the listener's first line (it enters through Node's event_target, where V8 stopped); a turn of Node's own port: in the trampoline", async () => {
    const bin = path.join(ROOT, 'bin', 'rewind.js');
    const dir = path.join(tempDir(), 'rec');
    const rec = await run(NODE, [bin, 'record', '-o', dir, NODE, fixture('debug-worker-message.cjs')], {
      cwd: tempDir(),
    });
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const events = await eventsOf(dir);
    const printed = events.find((e) => e.kind === 'output')!;
    const listenerTurn = events.filter((e) => e.kind === 'turn' && e.n < printed.n).at(-1)!.n;
    const nodesTurn = events.find((e) => e.kind === 'turn')!.n;
    expect(nodesTurn).toBeLessThan(listenerTurn);
    const lines = fs.readFileSync(fixture('debug-worker-message.cjs'), 'utf8').split('\n');

    const d = await debugReplay([`--until=${listenerTurn}`, '--inspect=127.0.0.1:0', dir], bin);
    const first = await d.nextPause();
    const top = first.callFrames[0];
    expect(d.scripts.get(top.location.scriptId)).toMatch(/debug-worker-message\.cjs$/);
    expect(top.location.lineNumber).toBe(lines.findIndex((l) => l.includes('const answer = m + 1')));
    expect(await d.evaluate(first, 'm')).toBe(41);
    // Resumed, it runs to its end, printing what the recorded run printed.
    const end = await d.finish();
    expect(end.status).toBe(0);
    expect(end.stdout).toBe(rec.stdout.toString());

    const n = await debugReplay([`--until=${nodesTurn}`, '--inspect=127.0.0.1:0', dir], bin);
    const pause = await n.nextPause();
    expect(pause.callFrames[0].functionName).toBe('stopBefore');
    await stop(n);
  });

  describe('from `npm pack` installed into a fresh project', () => {
    let installed: string;
    beforeAll(() => {
      const packDir = tempDir('rewind-pack-');
      // dist/ is already built (npm test builds first): no prepare script.
      const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', packDir], {
        cwd: ROOT,
        env: baseEnv(),
        encoding: 'utf8',
      })
        .trim()
        .split('\n')
        .at(-1)!;
      const project = tempDir('rewind-project-');
      fs.writeFileSync(path.join(project, 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n');
      installed = path.join(project, 'node_modules', 'rewind');
      fs.mkdirSync(installed, { recursive: true });
      execFileSync('tar', ['-xzf', path.join(packDir, tgz), '-C', installed, '--strip-components=1']);
      // The package's runtime dependencies, linked from this checkout so the test needs no registry.
      const deps = Object.keys(JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')).dependencies);
      for (const dep of deps) {
        const link = path.join(project, 'node_modules', dep);
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.join(ROOT, 'node_modules', dep), link);
      }
    }, 60_000);

    it('ships every built file with a source map that ignore-lists rewind but the trampoline', () => {
      const built = builtWithMaps(path.join(installed, 'dist'));
      expect(built.length).toBeGreaterThan(50);
      for (const { file, map } of built) {
        expect(map, `${file} has no source map`).not.toBeNull();
        const shown = map!.sources.flatMap((s, i) => (map!.x_google_ignoreList?.includes(i) ? [] : [s]));
        expect(
          shown.every((s) => TRAMPOLINE_SOURCE.test(s)),
          `${file} leaves ${shown.join(', ')} off its ignore list`,
        ).toBe(true);
        // The sources the maps name ship too (or are inlined), so a debugger can show them.
        map!.sources.forEach((s, i) => {
          const there =
            fs.existsSync(path.resolve(path.dirname(file), s)) || typeof map!.sourcesContent?.[i] === 'string';
          expect(there, `${file} names ${s}`).toBe(true);
        });
      }
      const trampoline = built.find((b) => b.file.endsWith(path.join('dist', 'debug', 'trampoline.js')))!;
      expect(trampoline.map!.x_google_ignoreList).toEqual([]);
    });

    it('pauses on the failing callback first line', async () => {
      expect(installed.startsWith(ROOT)).toBe(false);
      await expectFirstPauseInProgram(path.join(installed, 'bin', 'rewind.js'));
    });
  });
});
