// Benchmarks 8 and 9 (issue "flaky tests"): what chaos buys on examples/flaky, and what
// recording a whole test suite costs. Slow: whole vitest runs, many of them.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * @param {object} ctx what bench/run.js shares: ROOT, NODE, CLI, BASE_ENV, RUNS, tmpRoot(),
 *   loop, row, raw, progress, median, ratioOf, fx, fms, BenchError
 */
export function flakyBenches(ctx) {
  const { ROOT, NODE, CLI, BASE_ENV, loop, row, raw, progress, median, ratioOf, fx, fms, BenchError } = ctx;
  const VITEST = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const FLAKY = ['run', 'examples/flaky'];
  const LOST = /deadline passed/;

  /** Runs node with args in the repository; any exit status is an answer here. */
  function run(args, env = BASE_ENV) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(NODE, args, {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.error) throw new BenchError(`cannot run node ${args.join(' ')}: ${r.error.message}`);
    return { ms, status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
  }

  /** Did examples/flaky's test fail the way it fails (the deadline won), or pass? Anything else is broken. */
  function verdict(r, what) {
    if (r.status === 0) return false;
    if (r.status === 1 && LOST.test(r.out)) return true;
    throw new BenchError(
      `${what} neither passed nor failed the flaky way (status ${r.status ?? r.signal}):\n${r.out.slice(-3000)}`,
    );
  }

  const dirOf = (name) => fs.mkdtempSync(path.join(ctx.tmpRoot(), `${name}-`));

  /**
   * 8. examples/flaky: failure rate plain, recorded without chaos (the control: recording's own
   * slowdown moves timings too), and recorded --chaos; then --until-fail --chaos tries over 10 seeds.
   */
  async function bench8({ plainRuns = 200, recordedRuns = 100, chaosRuns = 100, seeds = 10 } = {}) {
    progress(
      `8. examples/flaky: failure rate, plain (${plainRuns} runs) vs rewind record (${recordedRuns}) vs rewind record --chaos (${chaosRuns} runs, a seed each)`,
    );
    const arms = {
      plain: { runs: plainRuns, fail: 0, ms: [] },
      recorded: { runs: recordedRuns, fail: 0, ms: [] },
      chaos: { runs: chaosRuns, fail: 0, ms: [] },
    };
    // Interleaved, so a busy spell of the machine hits all three alike.
    const total = Math.max(plainRuns, recordedRuns, chaosRuns);
    for (let i = 0; i < total; i++) {
      if (i % 20 === 0) progress(`  8: run ${i + 1}/${total}`);
      if (i < plainRuns) {
        // The repository's vitest.config.ts adds rewind-replay/vitest for examples/flaky; off here.
        const r = run([VITEST, ...FLAKY], { ...BASE_ENV, REWIND_MODE: 'off' });
        arms.plain.fail += verdict(r, 'a plain run') ? 1 : 0;
        arms.plain.ms.push(r.ms);
      }
      if (i < recordedRuns) {
        const out = dirOf('recorded');
        const r = run([CLI, 'record', '--out', out, '--', NODE, VITEST, ...FLAKY]);
        arms.recorded.fail += verdict(r, 'rewind record (no chaos)') ? 1 : 0;
        arms.recorded.ms.push(r.ms);
        fs.rmSync(out, { recursive: true, force: true });
      }
      if (i < chaosRuns) {
        const out = dirOf('chaos');
        const r = run([
          CLI,
          'record',
          '--chaos',
          '--seed',
          String(1 + i * 7919),
          '--out',
          out,
          '--',
          NODE,
          VITEST,
          ...FLAKY,
        ]);
        arms.chaos.fail += verdict(r, `rewind record --chaos --seed ${1 + i * 7919}`) ? 1 : 0;
        arms.chaos.ms.push(r.ms);
        fs.rmSync(out, { recursive: true, force: true });
      }
      await loop.checkpoint();
    }
    const rate = (a) => a.fail / a.runs;
    const shown = (a) => `${fx(100 * rate(a), 1)}% (${a.fail}/${a.runs})`;
    progress(`  8: failed: plain ${shown(arms.plain)}, recorded ${shown(arms.recorded)}, chaos ${shown(arms.chaos)}`);
    // Chaos is measured against the recorded control: what --chaos adds, not what recording does.
    const gain = ratioOf(rate(arms.chaos), rate(arms.recorded));
    row('8. examples/flaky: failure rate, plain', shown(arms.plain), '—', null);
    row('8. examples/flaky: failure rate, rewind record without chaos (control)', shown(arms.recorded), '—', null);
    row('8. examples/flaky: failure rate, rewind record --chaos', shown(arms.chaos), '—', null);
    row(
      '8. examples/flaky: failure rate --chaos / recorded without chaos',
      arms.recorded.fail === 0 ? `no failure without chaos (${arms.chaos.fail} with)` : `${fx(gain, 1)}x`,
      '>= 5x',
      arms.recorded.fail === 0 ? arms.chaos.fail >= 5 : gain >= 5,
    );
    const plainFail = arms.plain.fail;
    const chaosFail = arms.chaos.fail;
    const plainMs = arms.plain.ms;
    const chaosMs = arms.chaos.ms;

    progress(`8. examples/flaky: rewind record --until-fail --chaos --runs 50, ${seeds} seeds`);
    const tries = [];
    const replays = [];
    for (let k = 0; k < seeds; k++) {
      const seed = 1000 * (k + 1);
      const out = path.join(dirOf('until-fail'), 'rec');
      const r = run([
        CLI,
        'record',
        '--until-fail',
        '--chaos',
        '--seed',
        String(seed),
        '--runs',
        '50',
        '--out',
        out,
        '--',
        NODE,
        VITEST,
        ...FLAKY,
      ]);
      const failing = /^\s*failing run:\s+(\d+)/m.exec(r.out);
      if (!failing) {
        tries.push(51); // more than 50: counted so, not dropped from the median
        progress(`  8: seed ${seed}: no failure in 50 runs`);
      } else {
        tries.push(Number(failing[1]));
        // The kept recording must replay the failure, without chaos. (The replayed worker
        // ends as the recorded one did: vitest stopped it with SIGTERM.)
        const rep = run([CLI, 'replay', out]);
        if (rep.status === 70 || !/test failed, as recorded/.test(rep.out)) {
          throw new BenchError(
            `the --until-fail recording of seed ${seed} did not replay its failure (status ${rep.status ?? rep.signal}):\n${rep.out.slice(-3000)}`,
          );
        }
        replays.push(rep.ms);
        progress(`  8: seed ${seed}: failed on try ${failing[1]}`);
      }
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
      await loop.checkpoint();
    }
    const mt = median(tries);
    row(
      `8. examples/flaky: --until-fail --chaos tries to a failure, median of ${seeds} seeds`,
      `${fx(mt, 1)} (max ${Math.max(...tries)})`,
      '<= 50',
      mt <= 50,
    );
    raw.push(
      '8. examples/flaky',
      `   plain runs: ${plainFail} failed of ${plainRuns}, median ${fms(median(plainMs))} ms per run`,
      `   recorded runs (no chaos): ${arms.recorded.fail} failed of ${recordedRuns}, median ${fms(median(arms.recorded.ms))} ms per run (rewind record, the CLI included)`,
      `   chaos runs: ${chaosFail} failed of ${chaosRuns}, median ${fms(median(chaosMs))} ms per run (rewind record --chaos, the CLI included)`,
      `   --until-fail --chaos tries per seed (1000, 2000, ...; 51 = none in 50): ${tries.join('  ')}`,
      `   replay of each kept recording, ms: ${replays.map(fms).join('  ')}`,
      '',
    );
  }

  /**
   * 9. Recording a whole `vitest run` vs running it plain, of bench/suite: its tests run in
   * vitest's fork workers, which are recorded (rewind's own suite does its work in child
   * processes it starts with rewind's variables stripped: recording it records idle parents).
   */
  async function bench9() {
    const SUITE = ['run', '--config', 'bench/suite/vitest.config.mjs'];
    progress(
      '9. rewind record -- vitest run (bench/suite: JSON, hashing, clocks, fs, a local HTTP server, in fork workers) vs plain',
    );
    const s = { plain: [], rec: [], bytes: [], logs: [], events: [] };
    await loop(`9`, ctx.RUNS, (i) => {
      const out = path.join(dirOf('suite'), 'rec');
      /** @type {[string, () => ReturnType<typeof run>][]} */
      const steps = [
        ['plain', () => run([VITEST, ...SUITE])],
        ['rec', () => run([CLI, 'record', '--out', out, '--', NODE, VITEST, ...SUITE])],
      ];
      /** @type {Record<string, any>} */
      const r = {};
      for (const [k, fn] of i % 2 === 0 ? steps : [...steps].reverse()) r[k] = fn();
      for (const k of ['plain', 'rec']) {
        if (r[k].status !== 0)
          throw new BenchError(
            `the suite ${k === 'rec' ? 'under rewind record ' : ''}failed (status ${r[k].status ?? r[k].signal}):\n${r[k].out.slice(-3000)}`,
          );
      }
      const logs = fs.readdirSync(out).filter((f) => f.endsWith('.rwnd'));
      const bytes = logs.reduce((n, f) => n + fs.statSync(path.join(out, f)).size, 0);
      // What was recorded: a line per process (`rewind ps`), the workers' events counted.
      const ps = run([CLI, 'ps', out, '--json']);
      const procs = ps.out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
      if (i < 0) return;
      s.plain.push(r.plain.ms);
      s.rec.push(r.rec.ms);
      s.bytes.push(bytes);
      s.logs.push(logs.length);
      s.events.push(procs.map((p) => `${p.program ?? '?'}:${p.events ?? '?'}`).join(','));
    });
    const ratios = s.rec.map((x, k) => ratioOf(x, s.plain[k]));
    const m = median(ratios);
    const lo = Math.min(...ratios);
    const hi = Math.max(...ratios);
    row(
      '9. vitest run of bench/suite (tests in recorded fork workers): recorded/plain',
      `${fx(m, 3)}x (${fx(lo, 3)}–${fx(hi, 3)}; ${fms(median(s.rec))} / ${fms(median(s.plain))} ms)`,
      '<= 1.3x',
      m <= 1.3,
    );
    row(
      '9. vitest run of bench/suite: processes recorded, log size',
      `${median(s.logs)} processes, ${fx(median(s.bytes) / 1e6, 2)} MB`,
      '—',
      null,
    );
    raw.push(
      '9. vitest run of bench/suite, ms per run in run order; odd runs record first',
      `   plain                 ${s.plain.map(fms).join('  ')}`,
      `   recorded (CLI)        ${s.rec.map(fms).join('  ')}`,
      `   ratio                 ${ratios.map((x) => fx(x, 3)).join('  ')}`,
      `   logs, total bytes     ${s.logs.map((n, k) => `${n} logs ${s.bytes[k]}`).join('  ')}`,
      `   program:events        ${s.events.join('  ')}`,
      '',
    );
  }

  return { bench8, bench9 };
}
