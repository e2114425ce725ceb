#!/usr/bin/env node
// rewind benchmarks: `npm run bench` (builds, then runs this), or `node bench/run.js`.
//
//   node bench/run.js [--runs N] [--only 1,3,...] [--strict]
//
// Prints a markdown table (benchmark, measured median, target, pass/fail) on stdout, then
// the raw per-run numbers. Progress goes to stderr, so `node bench/run.js > bench.md` works.
//
// How things are measured:
// - Every time is the wall time of a whole process: process.hrtime.bigint() around
//   spawnSync. Programs print nothing timing-related (under rewind their clocks are the
//   recorded ones), only a checksum that replay must reproduce.
// - Recording and replay use the preload directly (node --require dist/preload.cjs, as the CLI does, with
//   REWIND_MODE/REWIND_DIR/REWIND_TRACE), so the `rewind` CLI's own process is not counted;
//   benchmark 4 also times replays through the CLI.
// - Ratios are paired: within one loop iteration the plain and the recorded run (or the
//   record and the replay) run back to back, in alternating order, and the ratio is taken
//   per iteration; the figure reported is the median of the per-iteration ratios.
// - "minus startup" subtracts, per iteration, the time of an empty program run the same way
//   (bench/programs/empty.js, plain or with the preload), leaving the program's own time.
// - Every recording is replayed and the replay's stdout must equal the recording's stdout;
//   otherwise the benchmark measured nothing and this script exits 1.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flakyBenches } from './flaky.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PROGRAMS = path.join(ROOT, 'bench', 'programs');
const PRELOAD = path.join(ROOT, 'dist', 'preload.cjs');
const PRELOAD_FLAG = `--require=${PRELOAD}`;
const CLI = path.join(ROOT, 'bin', 'rewind.js');
/** The command npm links as `rewind` (a shell script: `record -- node SCRIPT` and `replay` in one process). */
const FRONT = path.join(ROOT, 'bin', 'rewind');
const NODE = process.execPath;

/** The programs, and the first words each prints (proof that it ran to the end). */
const PROG = {
  empty: { file: path.join(PROGRAMS, 'empty.js'), prints: /^$/ },
  cpu: { file: path.join(PROGRAMS, 'cpu.js'), prints: /^cpu reads=1000002 checksum=\d+:\d+\n$/ },
  async: {
    file: path.join(PROGRAMS, 'async.js'),
    prints: /^async chains=1000 hops=100 turns=100000 order=\d+ total=\d+\n$/,
  },
  clocks: { file: path.join(PROGRAMS, 'clocks.js'), prints: /^clocks reads=1000000 checksum=\d+\n$/ },
  random: { file: path.join(PROGRAMS, 'random.js'), prints: /^random calls=1000000 checksum=\d+\n$/ },
  sleep: { file: path.join(PROGRAMS, 'sleep.js'), prints: /^sleep timers=1000 slept_ms=\d+\n$/ },
  'fs-sync-reads': {
    file: path.join(PROGRAMS, 'fs-sync-reads.js'),
    prints: /^fs-sync-reads reads=10000 checksum=\d+\n$/,
  },
  'fs-distinct-reads': {
    file: path.join(PROGRAMS, 'fs-distinct-reads.js'),
    prints: /^fs-distinct-reads reads=10000 checksum=\d+\n$/,
  },
  'fs-distinct-stats': {
    file: path.join(PROGRAMS, 'fs-distinct-stats.js'),
    prints: /^fs-distinct-stats stats=40000 checksum=\d+\n$/,
  },
  'fs-promise-reads': {
    file: path.join(PROGRAMS, 'fs-promise-reads.js'),
    prints: /^fs-promise-reads reads=10000 checksum=\d+\n$/,
  },
  'fetch-client': { file: path.join(PROGRAMS, 'fetch-client.js'), prints: /^fetch requests=60 checksum=\d+\n$/ },
  http: {
    file: path.join(PROGRAMS, 'http-server.mjs'),
    prints: /^listening \d+\nserved \d+ checksum \d+ cpu_us \d+\n$/,
  },
  fastify: {
    file: path.join(PROGRAMS, 'fastify-server.mjs'),
    prints: /^listening \d+\nserved \d+ checksum \d+ cpu_us \d+\n$/,
  },
};
const HTTP_LOAD = path.join(PROGRAMS, 'http-load.mjs');
const HTTP_REQUESTS = 20_000;
const HTTP_CONNECTIONS = 16;
/** fastify for benchmark 6's second server: installed once into a cache directory of the bench's own. */
const FASTIFY = 'fastify@5.6.1';
const FASTIFY_DIR = path.join(os.homedir(), '.cache', 'rewind-bench', FASTIFY);

// ---- command line -----------------------------------------------------------------------

class BenchError extends Error {}

function parseArgs(argv) {
  const opts = { runs: 5, only: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], strict: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new BenchError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--runs' || a.startsWith('--runs=')) {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new BenchError('--runs needs a whole number >= 1');
      opts.runs = n;
    } else if (a === '--only' || a.startsWith('--only=')) {
      const list = value()
        .split(',')
        .map((s) => Number(s.trim()));
      if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 13)) {
        throw new BenchError('--only takes benchmark numbers 1-13, comma-separated: --only 1,3');
      }
      opts.only = [...new Set(list)].sort((a, b) => a - b);
    } else if (a === '--strict') {
      opts.strict = true;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(
        'usage: node bench/run.js [--runs N] [--only 1,3] [--strict]\n' +
          '  --runs N     runs per figure (default 5; medians of fewer than 5 are flagged)\n' +
          '  --only LIST  benchmarks to run: 1 record CPU-bound, 2 record timers/promises,\n' +
          '               3 log size, 4 replay of a 10 s sleeper, 5 replay vs record CPU-bound,\n' +
          '               6 HTTP server under load (throughput, log size, replay time), 7 fs-heavy,\n' +
          '               8 examples/flaky: failure rate plain vs --chaos, --until-fail tries (~15 min),\n' +
          '               9 recording a vitest run of bench/suite (tests in recorded workers) vs plain,\n' +
          '               10 start-up through the rewind CLI (record and replay of empty.js),\n' +
          "               11 a real package's test suite (mocha; installs it once with npm),\n" +
          '               12 log size of an HTTP server printing a line per request,\n' +
          '               13 replay vs record of a short fetch client (local server), CLI and bin/rewind\n' +
          '  --strict     exit 2 when a target is missed (exit 1 is kept for broken runs)\n',
      );
      process.exit(0);
    } else {
      throw new BenchError(`unknown argument ${a} (try --help)`);
    }
  }
  return opts;
}

// ---- running processes --------------------------------------------------------------------

let tmpRoot = null;
let interrupted = /** @type {string | false} */ (false);

/** The environment every child starts from: no rewind preload or settings inherited. */
function baseEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('REWIND_')) delete env[k];
  // e.g. when this script itself runs under `rewind record`: its children must run plain.
  delete env.NODE_OPTIONS;
  return env;
}
const BASE_ENV = baseEnv();

const progress = (msg) => process.stderr.write(`${msg}\n`);

/** Yields to the event loop so a pending SIGINT/SIGTERM handler can run between runs. */
async function checkpoint() {
  await new Promise((r) => setImmediate(r));
  if (interrupted) throw new BenchError(`interrupted (${interrupted})`);
}

function describeCmd(args, env) {
  const vars = Object.keys(env)
    .filter((k) => k.startsWith('REWIND_'))
    .map((k) => `${k}=${env[k]}`);
  return [...vars, 'node', ...args].join(' ');
}

/** Runs node with args (or `cmd`); returns wall ms and output. Any failure of the child is fatal. */
function exec(args, env = BASE_ENV, what = '', cmd = NODE) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {
    env,
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new BenchError(`${what}: cannot run \`${describeCmd(args, env)}\`: ${r.error.message}`);
  if (r.status !== 0) {
    const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.status}`;
    const why =
      env.REWIND_MODE === 'replay' || args.includes('replay')
        ? ' The replay did not reproduce its recording, so this benchmark measures nothing.'
        : '';
    throw new BenchError(
      `${what}: \`${describeCmd(args, env)}\` ${how}.${why}\n--- its stdout ---\n${r.stdout}--- its stderr ---\n${r.stderr}`,
    );
  }
  return { ms, stdout: r.stdout, stderr: r.stderr };
}

const stderrNotes = new Map();
function noteStderr(what, stderr) {
  if (stderr && !stderrNotes.has(what)) stderrNotes.set(what, stderr.trim().split('\n').slice(0, 6).join('\n'));
}

function checkOutput(name, what, stdout) {
  if (!PROG[name].prints.test(stdout)) {
    throw new BenchError(
      `${what}: ${name}.js did not print what it should (did it run to the end?): ${JSON.stringify(stdout)}`,
    );
  }
}

/** A plain run: node prog.js. */
function plain(name) {
  const what = `plain ${name}`;
  const r = exec([PROG[name].file, ...(PROG[name].args ?? [])], BASE_ENV, what);
  checkOutput(name, what, r.stdout);
  noteStderr(what, r.stderr);
  return r.ms;
}

/** A recorded run into a fresh directory; returns its time, stdout and log. */
function record(name) {
  const what = `recording ${name}`;
  const dir = fs.mkdtempSync(path.join(tmpRoot, `${name}-`));
  const env = { ...BASE_ENV, REWIND_MODE: 'record', REWIND_DIR: dir };
  const r = exec([PRELOAD_FLAG, PROG[name].file, ...(PROG[name].args ?? [])], env, what);
  checkOutput(name, what, r.stdout);
  noteStderr(what, r.stderr);
  const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.rwnd'));
  if (logs.length !== 1) throw new BenchError(`${what}: expected one .rwnd log in ${dir}, found ${logs.length}`);
  return { name, ms: r.ms, stdout: r.stdout, dir, log: path.join(dir, logs[0]) };
}

function sameOutput(rec, replayed, how) {
  if (replayed === rec.stdout) return;
  throw new BenchError(
    `the replay (${how}) of ${rec.name}.js diverged from its recording: its stdout differs, so this benchmark ` +
      `measures nothing.\n  recorded: ${JSON.stringify(rec.stdout)}\n  replayed: ${JSON.stringify(replayed)}`,
  );
}

/** Replays a recording with the preload; its stdout must be the recording's. */
function replay(rec) {
  const what = `replaying ${rec.name}`;
  const env = { ...BASE_ENV, REWIND_MODE: 'replay', REWIND_TRACE: rec.log };
  const r = exec([PRELOAD_FLAG, PROG[rec.name].file, ...(PROG[rec.name].args ?? [])], env, what);
  sameOutput(rec, r.stdout, 'preload');
  noteStderr(what, r.stderr);
  return r.ms;
}

/** Replays a recording through the CLI: `rewind replay DIR --no-summary`. */
function replayCli(rec) {
  const what = `rewind replay of ${rec.name}`;
  const r = exec([CLI, 'replay', rec.dir, '--no-summary'], BASE_ENV, what);
  sameOutput(rec, r.stdout, 'rewind replay');
  noteStderr(what, r.stderr);
  return r.ms;
}

/** Events and size of a log, as `rewind info` reports them. */
function info(rec) {
  const r = exec([CLI, 'info', rec.log], BASE_ENV, `rewind info of ${rec.name}`);
  const events = /^events\s+(\d+)\s*$/m.exec(r.stdout);
  const size = /^size\s+(\d+) bytes\s*$/m.exec(r.stdout);
  if (!events || !size)
    throw new BenchError(`rewind info of ${rec.name}: cannot find "events" and "size" in:\n${r.stdout}`);
  const bytes = Number(size[1]);
  const onDisk = fs.statSync(rec.log).size;
  if (bytes !== onDisk) throw new BenchError(`rewind info says ${rec.log} has ${bytes} bytes; it has ${onDisk}`);
  return { events: Number(events[1]), bytes };
}

const discard = (rec) => fs.rmSync(rec.dir, { recursive: true, force: true });

// ---- statistics and formatting --------------------------------------------------------------

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
const ratioOf = (num, den) => (den > 0 ? num / den : NaN);
const fx = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const fms = (x) => fx(x, 1);
const fint = (n) => n.toLocaleString('en-US');
/** The range of a figure's runs: "min–max". */
const spread = (xs, f = fms) => (xs.length ? `${f(Math.min(...xs))}–${f(Math.max(...xs))}` : 'n/a');

const rows = []; // { name, measured, target, pass: true | false | null }
const raw = []; // lines

function row(name, measured, target, pass) {
  rows.push({ name, measured, target, pass });
}

/** Runs `body(i)` for each measured iteration, after one unmeasured warm-up (i = -1). */
async function loop(label, runs, body) {
  for (let i = -1; i < runs; i++) {
    progress(`  ${label}: ${i < 0 ? 'warm-up' : `run ${i + 1}/${runs}`}`);
    await body(i);
    await checkpoint();
  }
}

/** Runs the thunks in the given order, or reversed on odd iterations; returns their results by key. */
function alternate(i, steps) {
  const order = i % 2 === 0 ? steps : [...steps].reverse();
  const out = {};
  for (const [key, fn] of order) out[key] = fn();
  return out;
}

// ---- benchmarks ----------------------------------------------------------------------------

/** 1 and 2: recorded vs plain, whole process and minus startup. */
async function recordOverhead(num, name, title, target) {
  progress(`${num}. ${title}`);
  const s = { plainEmpty: [], recEmpty: [], plain: [], rec: [] };
  await loop(`${num}`, RUNS, (i) => {
    const r = alternate(i, [
      ['plainEmpty', () => plain('empty')],
      ['recEmpty', () => record('empty')],
      ['plain', () => plain(name)],
      ['rec', () => record(name)],
    ]);
    // Not timed: a recording whose replay diverges measured nothing.
    replay(r.rec);
    discard(r.rec);
    discard(r.recEmpty);
    if (i < 0) return;
    s.plainEmpty.push(r.plainEmpty);
    s.recEmpty.push(r.recEmpty.ms);
    s.plain.push(r.plain);
    s.rec.push(r.rec.ms);
  });
  const whole = s.rec.map((x, k) => ratioOf(x, s.plain[k]));
  const minus = s.rec.map((x, k) => ratioOf(x - s.recEmpty[k], s.plain[k] - s.plainEmpty[k]));
  const mw = median(whole);
  const mm = median(minus);
  const r3 = (x) => fx(x, 3);
  row(
    `${num}. ${title}: recorded/plain, whole process`,
    `${fx(mw, 3)}x (${spread(whole, r3)}; ${fms(median(s.rec))} / ${fms(median(s.plain))} ms)`,
    `<= ${target}x`,
    mw <= target,
  );
  row(
    `${num}. ${title}: recorded/plain, minus startup`,
    `${fx(mm, 3)}x (${spread(minus, r3)}; ${fms(median(s.rec) - median(s.recEmpty))} / ${fms(median(s.plain) - median(s.plainEmpty))} ms)`,
    `<= ${target}x`,
    mm <= target,
  );
  raw.push(
    `${num}. ${title} (${name}.js), ms per run in run order; odd runs reverse the order`,
    `   plain empty.js        ${s.plainEmpty.map(fms).join('  ')}`,
    `   recorded empty.js     ${s.recEmpty.map(fms).join('  ')}`,
    `   ${`plain ${name}.js`.padEnd(21)} ${s.plain.map(fms).join('  ')}`,
    `   ${`recorded ${name}.js`.padEnd(21)} ${s.rec.map(fms).join('  ')}`,
    `   ratio, whole process  ${whole.map((x) => fx(x, 3)).join('  ')}`,
    `   ratio, minus startup  ${minus.map((x) => fx(x, 3)).join('  ')}`,
    '',
  );
}

async function bench3() {
  progress('3. log size');
  const names = ['empty', 'clocks', 'random', 'cpu', 'async'];
  const s = Object.fromEntries(names.map((n) => [n, { bytes: [], events: [] }]));
  await loop('3', RUNS, (i) => {
    for (const n of i % 2 === 0 ? names : [...names].reverse()) {
      const rec = record(n);
      replay(rec);
      const { events, bytes } = info(rec);
      discard(rec);
      if (i < 0) continue;
      s[n].bytes.push(bytes);
      s[n].events.push(events);
    }
  });
  const med = (n, k) => median(s[n][k]);
  const perEvent = (n) => median(s[n].bytes.map((b, k) => b / s[n].events[k]));
  // Per reading: minus the empty program's log (the header, and its end record) of the same run.
  const perCall = (n, calls) => median(s[n].bytes.map((b, k) => (b - s.empty.bytes[k]) / calls));
  const clock = perCall('clocks', 1e6);
  const rnd = perCall('random', 1e6);
  row(
    '3. log size: bytes per clock reading (10^6 Date.now()+performance.now(), minus empty log)',
    `${fx(clock, 3)} B`,
    '<= 8 B',
    clock <= 8,
  );
  row('3. log size: bytes per Math.random() call (10^6 calls, minus empty log)', `${fx(rnd, 4)} B`, '<= 2 B', rnd <= 2);
  for (const [n, title] of [
    ['cpu', 'CPU-bound program (benchmark 1)'],
    ['async', 'timer/promise program (benchmark 2)'],
  ]) {
    row(
      `3. log size: bytes per event, ${title}`,
      `${fx(perEvent(n), 3)} B/event (${fint(Math.round(med(n, 'bytes')))} B, ${fint(Math.round(med(n, 'events')))} events)`,
      '—',
      null,
    );
  }
  const perTurn = median(s.async.bytes.map((b, k) => (b - s.empty.bytes[k]) / 1e5));
  row(
    '3. log size: bytes per turn, timer/promise program (10^5 turns, minus empty log)',
    `${fx(perTurn, 3)} B`,
    '—',
    null,
  );
  raw.push('3. log size, per run in run order: bytes / events (from `rewind info`)');
  for (const n of names) {
    raw.push(`   ${(n + '.js').padEnd(10)} ${s[n].bytes.map((b, k) => `${b}/${s[n].events[k]}`).join('  ')}`);
  }
  raw.push('');
}

/** Records a program through `rewind record --out DIR -- node PROG` (bin/rewind: one process). */
function recordFront(name, args = []) {
  const what = `rewind record of ${name}`;
  const dir = path.join(fs.mkdtempSync(path.join(tmpRoot, `${name}-`)), 'rec');
  const r = exec(['record', '--out', dir, '--', NODE, PROG[name].file, ...args], BASE_ENV, what, FRONT);
  checkOutput(name, what, r.stdout);
  noteStderr(what, r.stderr);
  if (!fs.existsSync(path.join(dir, 'replay.args')))
    throw new BenchError(`${what}: bin/rewind did not record in one process (no replay.args in ${dir})`);
  const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.rwnd'));
  if (logs.length !== 1) throw new BenchError(`${what}: expected one .rwnd log in ${dir}, found ${logs.length}`);
  return { name, ms: r.ms, stdout: r.stdout, dir, log: path.join(dir, logs[0]) };
}

/** Replays a recording through `rewind replay DIR --no-summary` (bin/rewind). */
function replayFront(rec) {
  const what = `rewind replay (bin/rewind) of ${rec.name}`;
  const r = exec(['replay', rec.dir, '--no-summary'], BASE_ENV, what, FRONT);
  sameOutput(rec, r.stdout, 'bin/rewind replay');
  noteStderr(what, r.stderr);
  return r.ms;
}

async function bench4() {
  progress('4. replay of a program that sleeps 10 s across 1,000 timers (recording it takes >= 10 s)');
  const rec = recordFront('sleep');
  progress(`  recorded in ${fms(rec.ms)} ms`);
  const direct = [];
  const cli = [];
  const front = [];
  try {
    await loop('4', RUNS, (i) => {
      const r = alternate(i, [
        ['direct', () => replay(rec)],
        ['cli', () => replayCli(rec)],
        ['front', () => replayFront(rec)],
      ]);
      if (i < 0) return;
      direct.push(r.direct);
      cli.push(r.cli);
      front.push(r.front);
    });
  } finally {
    discard(rec);
  }
  const md = median(direct) / 1000;
  const mc = median(cli) / 1000;
  const mf = median(front) / 1000;
  const recS = rec.ms / 1000;
  row(
    '4. replay of a 10 s sleeper (1,000 x 10 ms timers): replay time, preload',
    `${fx(md, 3)} s`,
    '<= 0.3 s',
    md <= 0.3,
  );
  row(
    "4. replay of a 10 s sleeper: speed-up vs the recording's wall time, preload",
    `${fx(recS / md, 1)}x (recording took ${fx(recS, 2)} s through bin/rewind)`,
    '>= 30x',
    recS / md >= 30,
  );
  row(
    '4. replay of a 10 s sleeper: replay time, `rewind replay` (bin/rewind)',
    `${fx(mf, 3)} s (${spread(
      front.map((x) => x / 1000),
      (x) => fx(x, 3),
    )})`,
    '<= 0.1 s',
    mf <= 0.1,
  );
  row(
    "4. replay of a 10 s sleeper: speed-up vs the recording's wall time, `rewind replay` (bin/rewind)",
    `${fx(recS / mf, 1)}x`,
    '>= 100x',
    recS / mf >= 100,
  );
  row('4. replay of a 10 s sleeper: replay time, `node bin/rewind.js replay` (CLI)', `${fx(mc, 3)} s`, '—', null);
  row("4. replay of a 10 s sleeper: speed-up vs the recording's wall time, CLI", `${fx(recS / mc, 1)}x`, '—', null);
  raw.push(
    '4. replay of sleep.js, ms per run in run order',
    `   recording (once)      ${fms(rec.ms)}`,
    `   replay, preload       ${direct.map(fms).join('  ')}`,
    `   replay, bin/rewind    ${front.map(fms).join('  ')}`,
    `   replay, rewind CLI    ${cli.map(fms).join('  ')}`,
    '',
  );
}

/** Records a program, replays the recording, then deletes it: the two times, in ms. */
function recordThenReplay(name) {
  const rec = record(name);
  const ms = replay(rec);
  discard(rec);
  return { rec: rec.ms, rep: ms };
}

/** 5 (and 7's replay row): replay vs record of one program, whole process and minus startup. */
async function replayVsRecord(num, name, title, target) {
  progress(`${num}. ${title}`);
  const s = { recEmpty: [], repEmpty: [], rec: [], rep: [] };
  await loop(`${num}`, RUNS, (i) => {
    // A replay needs its recording first; the pairs themselves alternate order.
    const r = alternate(i, [
      ['e', () => recordThenReplay('empty')],
      ['p', () => recordThenReplay(name)],
    ]);
    if (i < 0) return;
    s.recEmpty.push(r.e.rec);
    s.repEmpty.push(r.e.rep);
    s.rec.push(r.p.rec);
    s.rep.push(r.p.rep);
  });
  const whole = s.rep.map((x, k) => ratioOf(x, s.rec[k]));
  const minus = s.rep.map((x, k) => ratioOf(x - s.repEmpty[k], s.rec[k] - s.recEmpty[k]));
  const mw = median(whole);
  const mm = median(minus);
  const goal = `<= ${Number.isInteger(target) ? target.toFixed(1) : target}x`;
  row(
    `${num}. ${title}: replay/record, whole process`,
    `${fx(mw, 3)}x (${spread(whole, (x) => fx(x, 3))}; ${fms(median(s.rep))} / ${fms(median(s.rec))} ms)`,
    goal,
    mw <= target,
  );
  row(
    `${num}. ${title}: replay/record, minus startup`,
    `${fx(mm, 3)}x (${spread(minus, (x) => fx(x, 3))}; ${fms(median(s.rep) - median(s.repEmpty))} / ${fms(median(s.rec) - median(s.recEmpty))} ms)`,
    goal,
    mm <= target,
  );
  raw.push(
    `${num}. ${title} (${name}.js), ms per run in run order`,
    `   recorded empty.js     ${s.recEmpty.map(fms).join('  ')}`,
    `   replayed empty.js     ${s.repEmpty.map(fms).join('  ')}`,
    `   recorded ${name}.js   ${s.rec.map(fms).join('  ')}`,
    `   replayed ${name}.js   ${s.rep.map(fms).join('  ')}`,
    `   ratio, whole process  ${whole.map((x) => fx(x, 3)).join('  ')}`,
    `   ratio, minus startup  ${minus.map((x) => fx(x, 3)).join('  ')}`,
    '',
  );
}

const bench5 = () => replayVsRecord(5, 'cpu', 'replay vs record, CPU-bound program', 1.0);

/**
 * Starts an HTTP server program and waits for its "listening PORT" line. Returns its port, a
 * promise of its exit code, and what it printed so far (read after it exited).
 */
async function startServer(args, env, what) {
  const server = spawn(NODE, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  server.stderr.on('data', (d) => (out.stderr += d));
  const port = await new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => {
      out.stdout += d;
      const m = /^listening (\d+)$/m.exec(out.stdout);
      if (m) resolve(m[1]);
    });
    server.on('exit', () => reject(new BenchError(`${what}: the server exited before listening.\n${out.stderr}`)));
  });
  const exited = new Promise((resolve) => server.on('close', (code) => resolve(code)));
  return { port, exited, out, server };
}

/**
 * One run of the HTTP server (plain or recorded) under the load generator, in another
 * process: requests per second as the load generator saw them, and the server's output.
 */
async function httpRun(recorded, name = 'http', progArgs = []) {
  const prog = PROG[name];
  const dir = recorded ? fs.mkdtempSync(path.join(tmpRoot, `${name}-`)) : null;
  const env = recorded ? { ...BASE_ENV, REWIND_MODE: 'record', REWIND_DIR: dir } : BASE_ENV;
  const args = [...(recorded ? [PRELOAD_FLAG] : []), prog.file, ...progArgs, String(HTTP_REQUESTS)];
  const what = `${recorded ? 'recording' : 'running'} ${path.basename(prog.file)} under load`;
  const t0 = process.hrtime.bigint();
  const { port, exited, out } = await startServer(args, env, what);
  const load = exec(
    [HTTP_LOAD, port, String(HTTP_REQUESTS), String(HTTP_CONNECTIONS)],
    BASE_ENV,
    `${what}: the load generator`,
  );
  const code = await exited;
  const { stdout, stderr } = out;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (code !== 0 || !prog.prints.test(stdout.replace(/^listening \d+$/m, 'listening 0'))) {
    throw new BenchError(`${what}: exited with ${code}; printed:\n${stdout}\n${stderr}`);
  }
  noteStderr(what, stderr);
  const rps = Number(/rps ([\d.]+)/.exec(load.stdout)[1]);
  // The server's CPU time per request while serving (µs): less sensitive than throughput to
  // what else runs on the machine (the load generator shares its cores).
  const cpu = Number(/cpu_us (\d+)/.exec(stdout)[1]) / HTTP_REQUESTS;
  if (!recorded) return { rps, cpu };
  const log = fs.readdirSync(dir).find((f) => f.endsWith('.rwnd'));
  return { rps, cpu, ms, rec: { name, dir, log: path.join(dir, log), stdout, ms, progArgs } };
}

/** Replays the HTTP recording (no load generator, no port): time and identical output. */
function httpReplay(rec) {
  const what = `replaying ${path.basename(PROG[rec.name].file)}`;
  const env = { ...BASE_ENV, REWIND_MODE: 'replay', REWIND_TRACE: rec.log };
  const r = exec([PRELOAD_FLAG, PROG[rec.name].file, ...rec.progArgs, String(HTTP_REQUESTS)], env, what);
  sameOutput(rec, r.stdout, 'preload');
  noteStderr(what, r.stderr);
  return r.ms;
}

/**
 * Benchmark 6's servers' CPU time per request while serving, plain and recorded, paired run
 * by run: plain/recorded is the throughput ratio a server bound by its own CPU would reach.
 */
function cpuRow(what, s) {
  const ratios = s.recCpu.map((x, k) => ratioOf(s.plainCpu[k], x));
  row(
    `${what}: CPU per request while serving, plain/recorded`,
    `${fx(median(ratios), 3)}x (${spread(ratios, (x) => fx(x, 3))}; ${fx(median(s.plainCpu), 1)} / ${fx(median(s.recCpu), 1)} µs)`,
    '—',
    null,
  );
}

async function bench6() {
  progress(
    `6. HTTP server under a load generator in another process (${fint(HTTP_REQUESTS)} requests, ${HTTP_CONNECTIONS} keep-alive connections)`,
  );
  const s = { plain: [], rec: [], plainCpu: [], recCpu: [], bytes: [], recMs: [], repMs: [] };
  const empty = record('empty');
  const emptyBytes = info(empty).bytes;
  discard(empty);
  await loop('6', RUNS, async (i) => {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    const out = {};
    for (const recorded of order) out[recorded] = await httpRun(recorded);
    const rec = out[true].rec;
    const repMs = httpReplay(rec);
    const { bytes } = info(rec);
    discard(rec);
    if (i < 0) return;
    s.plain.push(out[false].rps);
    s.rec.push(out[true].rps);
    s.plainCpu.push(out[false].cpu);
    s.recCpu.push(out[true].cpu);
    s.bytes.push(bytes);
    s.recMs.push(rec.ms);
    s.repMs.push(repMs);
  });
  const ratios = s.rec.map((x, k) => ratioOf(x, s.plain[k]));
  const ratio = median(ratios);
  const perReq = median(s.bytes.map((b) => (b - emptyBytes) / HTTP_REQUESTS));
  const replayRatio = median(s.repMs.map((x, k) => ratioOf(x, s.recMs[k])));
  row(
    '6. HTTP server throughput: recorded/plain requests per second',
    `${fx(ratio, 3)}x (${spread(ratios, (x) => fx(x, 3))}; ${fint(Math.round(median(s.rec)))} / ${fint(Math.round(median(s.plain)))} req/s)`,
    '>= 0.95x',
    ratio >= 0.95,
  );
  cpuRow('6. HTTP server', s);
  row(
    '6. HTTP server: log bytes per request (minus empty log)',
    `${fx(perReq, 1)} B (${spread(
      s.bytes.map((b) => (b - emptyBytes) / HTTP_REQUESTS),
      (x) => fx(x, 1),
    )})`,
    '<= 40 B',
    perReq <= 40,
  );
  row(
    '6. HTTP server: replay time / recording time',
    `${fx(replayRatio, 3)}x (${fms(median(s.repMs))} / ${fms(median(s.recMs))} ms)`,
    '<= 0.5x',
    replayRatio <= 0.5,
  );
  raw.push(
    '6. HTTP server under load, per run in run order; odd runs record first',
    `   plain req/s           ${s.plain.map((x) => fx(x, 0)).join('  ')}`,
    `   recorded req/s        ${s.rec.map((x) => fx(x, 0)).join('  ')}`,
    `   ratio                 ${s.rec.map((x, k) => fx(ratioOf(x, s.plain[k]), 3)).join('  ')}`,
    `   plain CPU µs/req      ${s.plainCpu.map((x) => fx(x, 1)).join('  ')}`,
    `   recorded CPU µs/req   ${s.recCpu.map((x) => fx(x, 1)).join('  ')}`,
    `   log bytes             ${s.bytes.join('  ')}`,
    `   recording ms          ${s.recMs.map(fms).join('  ')}`,
    `   replay ms             ${s.repMs.map(fms).join('  ')}`,
    '',
  );
}

/** `n` files of 200-2,000 bytes, each with content of its own, for fs-distinct-reads.js (and -stats.js). */
function distinctFiles(n = 5_000) {
  const dir = fs.mkdtempSync(path.join(tmpRoot, 'distinct-'));
  for (let i = 0; i < n; i++) {
    const line = `file ${i}: ${'abcdefghijklmnopqrstuvwxyz'.slice(i % 26)}${i * 7919}\n`;
    fs.writeFileSync(path.join(dir, `f${String(i).padStart(5, '0')}.txt`), line.repeat(1 + (i % 40)));
  }
  return dir;
}

/** Benchmark 6's second server: fastify (installed on first use), the same routes and load, recorded vs plain. */
async function bench6Fastify() {
  if (!fs.existsSync(path.join(FASTIFY_DIR, 'node_modules', 'fastify', 'package.json'))) {
    progress(`6. installing ${FASTIFY} into ${FASTIFY_DIR}`);
    fs.mkdirSync(FASTIFY_DIR, { recursive: true });
    const npm = spawnSync(
      'npm',
      ['install', '--prefix', FASTIFY_DIR, '--no-audit', '--no-fund', '--loglevel=error', FASTIFY],
      {
        env: BASE_ENV,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 600_000,
      },
    );
    if (npm.status !== 0)
      throw new BenchError(`6. cannot install ${FASTIFY} into ${FASTIFY_DIR}:\n${npm.stderr || npm.error}`);
  }
  progress(
    `6. fastify server under the same load (${fint(HTTP_REQUESTS)} requests, ${HTTP_CONNECTIONS} keep-alive connections)`,
  );
  const s = { plain: [], rec: [], plainCpu: [], recCpu: [], bytes: [] };
  await loop('6f', RUNS, async (i) => {
    const order = i % 2 === 0 ? [false, true] : [true, false];
    const out = {};
    for (const recorded of order) out[recorded] = await httpRun(recorded, 'fastify', [FASTIFY_DIR]);
    const rec = out[true].rec;
    httpReplay(rec);
    const { bytes } = info(rec);
    discard(rec);
    if (i < 0) return;
    s.plain.push(out[false].rps);
    s.rec.push(out[true].rps);
    s.plainCpu.push(out[false].cpu);
    s.recCpu.push(out[true].cpu);
    s.bytes.push(bytes);
  });
  const ratios = s.rec.map((x, k) => ratioOf(x, s.plain[k]));
  const ratio = median(ratios);
  const range = `${fx(Math.min(...ratios), 3)}–${fx(Math.max(...ratios), 3)}`;
  const rps = `${fint(Math.round(median(s.rec)))} / ${fint(Math.round(median(s.plain)))} req/s`;
  row(
    '6. fastify server throughput: recorded/plain requests per second',
    `${fx(ratio, 3)}x (${range}; ${rps})`,
    '>= 0.95x',
    ratio >= 0.95,
  );
  cpuRow('6. fastify server', s);
  row('6. fastify server: log bytes per request', `${fx(median(s.bytes) / HTTP_REQUESTS, 1)} B`, '—', null);
  raw.push(
    '6. fastify server under load, per run in run order; odd runs record first',
    `   plain req/s           ${s.plain.map((x) => fx(x, 0)).join('  ')}`,
    `   recorded req/s        ${s.rec.map((x) => fx(x, 0)).join('  ')}`,
    `   ratio                 ${ratios.map((x) => fx(x, 3)).join('  ')}`,
    `   plain CPU µs/req      ${s.plainCpu.map((x) => fx(x, 1)).join('  ')}`,
    `   recorded CPU µs/req   ${s.recCpu.map((x) => fx(x, 1)).join('  ')}`,
    `   log bytes             ${s.bytes.join('  ')}`,
    '',
  );
}

async function bench7() {
  PROG['fs-distinct-reads'].args = [distinctFiles()];
  await recordOverhead(7, 'fs-distinct-reads', 'record overhead, fs-heavy (10^4 readFileSync of distinct files)', 1.15);
  // Replay serves each fs call from the log: it must not cost more than making the call did.
  await replayVsRecord(7, 'fs-distinct-reads', 'replay vs record, 10^4 readFileSync of distinct files', 1.0);
  await recordOverhead(
    7,
    'fs-sync-reads',
    'record overhead, fs-heavy (10^4 readFileSync of the same 8 files, repeated)',
    1.15,
  );
  await recordOverhead(7, 'fs-promise-reads', 'record overhead, fs-heavy (10^4 small fs.promises.readFile)', 1.15);
  // More keys than the content store keeps (16K): what it forgets, and who called each stat.
  PROG['fs-distinct-stats'].args = [distinctFiles(20_000)];
  await recordOverhead(
    7,
    'fs-distinct-stats',
    'record overhead, 40,000 statSync/lstatSync of distinct files (reported apart)',
    1.15,
  );
}

/**
 * 10: start-up as a user meets it, through the CLI: `rewind record -- node empty.js` and
 * `rewind replay` of that recording, each minus a plain `node empty.js` of the same iteration;
 * with the CLI alone (`rewind --version`) and the preload alone (node --require, recording),
 * to show where the rest goes.
 */
async function bench10() {
  progress('10. start-up through `rewind` (bin/rewind: one process) and through the CLI (bin/rewind.js), empty.js');
  const s = { plain: [], rec: [], rep: [], cliRec: [], cliRep: [], cli: [], preload: [] };
  const empty = PROG.empty.file;
  await loop('10', RUNS, (i) => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'startup-'));
    const cliDir = fs.mkdtempSync(path.join(tmpRoot, 'startup-cli-'));
    const front = (args, what) => exec(args, BASE_ENV, what, FRONT).ms;
    const r = alternate(i, [
      ['plain', () => plain('empty')],
      ['rec', () => front(['record', '--out', dir, '--', NODE, empty], 'rewind record -- node empty.js')],
      [
        'cliRec',
        () =>
          exec([CLI, 'record', '--out', cliDir, '--', NODE, empty], BASE_ENV, 'rewind.js record -- node empty.js').ms,
      ],
      ['cli', () => exec([CLI, '--version'], BASE_ENV, 'rewind --version').ms],
      ['preload', () => record('empty')],
    ]);
    // The replays need the recording: after it, in alternating order too.
    const p = alternate(i, [
      ['rep', () => front(['replay', dir, '--no-summary'], 'rewind replay of empty.js')],
      ['cliRep', () => exec([CLI, 'replay', dir, '--no-summary'], BASE_ENV, 'rewind.js replay of empty.js').ms],
    ]);
    if (!fs.existsSync(path.join(dir, 'replay.args')))
      throw new BenchError(`bin/rewind record did not record in one process (no replay.args in ${dir})`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(cliDir, { recursive: true, force: true });
    discard(r.preload);
    if (i < 0) return;
    s.plain.push(r.plain);
    s.rec.push(r.rec - r.plain);
    s.rep.push(p.rep - r.plain);
    s.cliRec.push(r.cliRec - r.plain);
    s.cliRep.push(p.cliRep - r.plain);
    s.cli.push(r.cli - r.plain);
    s.preload.push(r.preload.ms - r.plain);
  });
  const plus = (xs) => `+${fms(median(xs))} ms (${spread(xs)}; plain node ${fms(median(s.plain))} ms)`;
  row(
    '10. start-up: `rewind record -- node empty.js` (bin/rewind) minus `node empty.js`',
    plus(s.rec),
    '<= +10 ms',
    median(s.rec) <= 10,
  );
  row(
    '10. start-up: `rewind replay` of it (bin/rewind) minus `node empty.js`',
    plus(s.rep),
    '<= +30 ms',
    median(s.rep) <= 30,
  );
  row(
    '10. start-up: the same through the CLI (`node bin/rewind.js record`) minus `node empty.js`',
    plus(s.cliRec),
    '—',
    null,
  );
  row('10. start-up: `node bin/rewind.js replay` minus `node empty.js`', plus(s.cliRep), '—', null);
  row('10. start-up: the CLI alone (`rewind --version`) minus `node empty.js`', plus(s.cli), '—', null);
  row('10. start-up: the preload alone (recording empty.js) minus `node empty.js`', plus(s.preload), '—', null);
  raw.push(
    '10. start-up, ms per run in run order; odd runs reverse the order',
    `   plain empty.js               ${s.plain.map(fms).join('  ')}`,
    `   rewind record, extra         ${s.rec.map(fms).join('  ')}`,
    `   rewind replay, extra         ${s.rep.map(fms).join('  ')}`,
    `   rewind.js record, extra      ${s.cliRec.map(fms).join('  ')}`,
    `   rewind.js replay, extra      ${s.cliRep.map(fms).join('  ')}`,
    `   rewind --version, extra      ${s.cli.map(fms).join('  ')}`,
    `   preload recording, extra     ${s.preload.map(fms).join('  ')}`,
    '',
  );
}

/**
 * The pinned packages of bench 11, installed once (npm) into a cache directory:
 * $REWIND_BENCH_CACHE, default ~/.cache/rewind-bench (the ecosystem suite's cache is reused when it has them).
 */
function realSuiteDir() {
  const pkgs = { mocha: '10.8.2', 'json-schema-traverse': '1.0.0' };
  const major = process.versions.node.split('.')[0];
  const eco = path.join(os.homedir(), '.cache', 'rewind-ecosystem', `node${major}`, 'suite-mocha');
  if (fs.existsSync(path.join(eco, 'node_modules', 'mocha', 'package.json'))) return eco;
  const dir = path.join(
    process.env.REWIND_BENCH_CACHE || path.join(os.homedir(), '.cache', 'rewind-bench'),
    `node${major}`,
    'suite-mocha',
  );
  if (!fs.existsSync(path.join(dir, 'node_modules', 'mocha', 'package.json'))) {
    progress(
      `11: installing ${Object.entries(pkgs)
        .map(([n, v]) => `${n}@${v}`)
        .join(' ')} into ${dir}`,
    );
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'rewind-bench-suite', private: true, dependencies: pkgs }, null, 2),
    );
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      env: BASE_ENV,
      encoding: 'utf8',
    });
    if (r.status !== 0)
      throw new BenchError(`11: npm install in ${dir} failed (${r.status ?? r.error?.message}):\n${r.stderr}`);
  }
  return dir;
}

/** 11: a real package's own test suite (json-schema-traverse's spec, from its tarball, under mocha), recorded vs plain. */
async function bench11() {
  progress("11. a real package's test suite: json-schema-traverse's spec under mocha, rewind record vs plain");
  const dir = realSuiteDir();
  const mocha = [
    path.join(dir, 'node_modules', 'mocha', 'bin', 'mocha.js'),
    '--reporter',
    'dot',
    'node_modules/json-schema-traverse/spec/*.spec.js',
  ];
  const runIn = (args, what) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(NODE, args, { cwd: dir, env: BASE_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0 || !/\d+ passing/.test(r.stdout))
      throw new BenchError(`11: ${what} failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    return ms;
  };
  const s = { plain: [], rec: [] };
  await loop('11', RUNS, (i) => {
    const out = fs.mkdtempSync(path.join(tmpRoot, 'mocha-'));
    const r = alternate(i, [
      ['plain', () => runIn(mocha, 'the plain run')],
      ['rec', () => runIn([CLI, 'record', '--out', out, '--', NODE, ...mocha], 'rewind record')],
    ]);
    // Not timed: the recording must replay.
    const rep = spawnSync(NODE, [CLI, 'replay', out, '--no-summary'], { env: BASE_ENV, encoding: 'utf8' });
    if (rep.status !== 0 || !/\d+ passing/.test(rep.stdout))
      throw new BenchError(`11: the replay failed (${rep.status}):\n${rep.stdout}${rep.stderr}`);
    fs.rmSync(out, { recursive: true, force: true });
    if (i < 0) return;
    s.plain.push(r.plain);
    s.rec.push(r.rec);
  });
  const ratios = s.rec.map((x, k) => ratioOf(x, s.plain[k]));
  row(
    "11. a real package's test suite (json-schema-traverse under mocha, through the CLI): recorded/plain",
    `${fx(median(ratios), 3)}x (${spread(ratios, (x) => fx(x, 3))}; ${fms(median(s.rec))} / ${fms(median(s.plain))} ms)`,
    '—',
    null,
  );
  raw.push(
    "11. json-schema-traverse's spec under mocha, ms per run in run order; odd runs record first",
    `   plain                 ${s.plain.map(fms).join('  ')}`,
    `   recorded (CLI)        ${s.rec.map(fms).join('  ')}`,
    `   ratio                 ${ratios.map((x) => fx(x, 3)).join('  ')}`,
    '',
  );
}

/**
 * 12: log size of an HTTP server that prints a line per request (benchmark 6's server with an
 * access log; 20,000 requests over 64 keep-alive connections): bytes per request. The replay
 * must print every line again.
 */
async function bench12() {
  const requests = 20_000;
  const connections = 64;
  progress(
    `12. log size, HTTP server printing a line per request (${fint(requests)} requests, ${connections} keep-alive connections)`,
  );
  const file = path.join(PROGRAMS, 'http-server-logging.mjs');
  const s = { bytes: [], events: [] };
  await loop('12', RUNS, async (i) => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'http-logging-'));
    const env = { ...BASE_ENV, REWIND_MODE: 'record', REWIND_DIR: dir };
    const { port, exited, out } = await startServer([PRELOAD_FLAG, file, String(requests)], env, '12');
    exec([HTTP_LOAD, port, String(requests), String(connections)], BASE_ENV, '12: the load generator');
    const code = await exited;
    const { stdout, stderr } = out;
    const lines = stdout.split('\n').filter((l) => / GET \//.test(l)).length;
    if (code !== 0 || lines !== requests)
      throw new BenchError(`12: the server exited with ${code} after ${lines} access-log lines:\n${stderr}`);
    const log = path.join(
      dir,
      fs.readdirSync(dir).find((f) => f.endsWith('.rwnd')),
    );
    const rep = exec(
      [PRELOAD_FLAG, file, String(requests)],
      { ...BASE_ENV, REWIND_MODE: 'replay', REWIND_TRACE: log },
      '12: replaying',
    );
    if (rep.stdout !== stdout)
      throw new BenchError('12: the replay of the logging server printed something else than its recording.');
    const { bytes } = info({ name: 'http-logging', log });
    fs.rmSync(dir, { recursive: true, force: true });
    if (i < 0) return;
    s.bytes.push(bytes / requests);
  });
  row(
    `12. log size: HTTP server printing a line per request, bytes per request (${fint(requests)} requests)`,
    `${fx(median(s.bytes), 1)} B (${spread(s.bytes, (x) => fx(x, 1))})`,
    '<= 100 B',
    median(s.bytes) <= 100,
  );
  raw.push(
    '12. HTTP server printing a line per request: log bytes per request, per run',
    `   ${s.bytes.map((x) => fx(x, 1)).join('  ')}`,
    '',
  );
}

/**
 * 13: a short I/O-bound program (bench/programs/fetch-client.js: 60 sequential fetches to a
 * local server that answers each after 8 ms, about 0.5 s): recorded through bin/rewind, then
 * replayed with the server stopped, through bin/rewind and through the CLI, each against its
 * own recording time (whole processes, start-up included).
 */
async function bench13() {
  progress('13. replay vs record of a short fetch client (60 requests to a local server, ~0.5 s)');
  const s = { plain: [], rec: [], front: [], cli: [] };
  await loop('13', RUNS, async (i) => {
    const { port, exited, server } = await startServer(
      [path.join(PROGRAMS, 'slow-server.js')],
      BASE_ENV,
      'bench 13: the local server',
    );
    let rec;
    try {
      const r = alternate(i, [
        [
          'plain',
          () => {
            const what = 'plain fetch-client';
            const p = exec([PROG['fetch-client'].file, port], BASE_ENV, what);
            checkOutput('fetch-client', what, p.stdout);
            return p.ms;
          },
        ],
        ['rec', () => recordFront('fetch-client', [port])],
      ]);
      rec = r.rec;
      if (i >= 0) {
        s.plain.push(r.plain);
        s.rec.push(rec.ms);
      }
    } finally {
      server.kill('SIGTERM');
      await exited;
    }
    // The server is gone: the replays read the log only.
    try {
      const p = alternate(i, [
        ['front', () => replayFront(rec)],
        ['cli', () => replayCli(rec)],
      ]);
      if (i < 0) return;
      s.front.push(p.front);
      s.cli.push(p.cli);
    } finally {
      discard(rec);
    }
  });
  const front = s.front.map((x, k) => ratioOf(x, s.rec[k]));
  const cli = s.cli.map((x, k) => ratioOf(x, s.rec[k]));
  const recPlain = s.rec.map((x, k) => ratioOf(x, s.plain[k]));
  row(
    '13. short fetch client: `rewind replay` (bin/rewind) / `rewind record` (bin/rewind), whole processes',
    `${fx(median(front), 3)}x (${spread(front, (x) => fx(x, 2))}; ${fms(median(s.front))} / ${fms(median(s.rec))} ms)`,
    '<= 0.5x',
    median(front) <= 0.5,
  );
  row(
    '13. short fetch client: `node bin/rewind.js replay` (CLI) / the same recording',
    `${fx(median(cli), 3)}x (${spread(cli, (x) => fx(x, 2))}; ${fms(median(s.cli))} ms)`,
    '—',
    null,
  );
  row(
    '13. short fetch client: recorded (bin/rewind) / plain',
    `${fx(median(recPlain), 3)}x (${spread(recPlain, (x) => fx(x, 2))}; plain ${fms(median(s.plain))} ms)`,
    '—',
    null,
  );
  raw.push(
    '13. fetch-client.js, ms per run in run order',
    `   plain                 ${s.plain.map(fms).join('  ')}`,
    `   recorded (bin/rewind) ${s.rec.map(fms).join('  ')}`,
    `   replay, bin/rewind    ${s.front.map(fms).join('  ')}`,
    `   replay, rewind CLI    ${s.cli.map(fms).join('  ')}`,
    '',
  );
}

// ---- main ------------------------------------------------------------------------------------

function gitState() {
  const r = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function printReport(opts, startedMs) {
  const out = [];
  out.push('## rewind benchmarks', '');
  const cpus = os.cpus();
  out.push(
    `node ${process.version}, ${os.platform()}-${os.arch()}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ` +
      `load ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}; rewind ${gitState()}; ` +
      `${opts.runs} runs per figure (median), plus one warm-up; total ${fx((Date.now() - startedMs) / 1000, 1)} s`,
    '',
    'Times are whole processes (spawn to exit). "minus startup" subtracts, run by run, the time of an empty ' +
      'program (bench/programs/empty.js) run the same way. Recording and replay use the preload directly ' +
      '(node --require dist/preload.cjs, as the CLI does), not the `rewind` CLI, except where a row says CLI.',
    '',
  );
  if (opts.runs < 5)
    out.push(`**Note: only ${opts.runs} runs per figure (fewer than 5); medians are unreliable.**`, '');
  const passText = (p) => (p === null ? '—' : p ? 'pass' : '**FAIL**');
  out.push('| benchmark | measured (median) | target | pass/fail |', '|---|---|---|---|');
  for (const r of rows) out.push(`| ${r.name} | ${r.measured} | ${r.target} | ${passText(r.pass)} |`);
  while (raw.at(-1) === '') raw.pop();
  out.push('', '### Raw numbers', '', '```', ...raw, '```');
  if (stderrNotes.size) {
    out.push('', '### stderr of the benchmark runs (first lines; the programs write none themselves)', '', '```');
    for (const [what, text] of stderrNotes) out.push(`${what}:`, text);
    out.push('```');
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

let RUNS = 5;
loop.checkpoint = checkpoint;
const flaky = flakyBenches({
  ROOT,
  NODE,
  CLI,
  BASE_ENV,
  loop,
  row,
  raw,
  progress,
  median,
  ratioOf,
  fx,
  fms,
  BenchError,
  get RUNS() {
    return RUNS;
  },
  tmpRoot: () => tmpRoot,
});

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  RUNS = opts.runs;
  if (!fs.existsSync(PRELOAD)) {
    throw new BenchError(`${PRELOAD} is missing: build first (npm run build, or npm run bench).`);
  }
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => (interrupted = sig));
  const started = Date.now();
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-bench-'));
  try {
    for (const n of opts.only) {
      if (n === 1) await recordOverhead(1, 'cpu', 'record overhead, CPU-bound (10^6 clock/random reads)', 1.25);
      if (n === 2) await recordOverhead(2, 'async', 'record overhead, timers+promises (10^5 turns)', 1.05);
      if (n === 3) await bench3();
      if (n === 4) await bench4();
      if (n === 5) await bench5();
      if (n === 6) await bench6();
      if (n === 6) await bench6Fastify();
      if (n === 7) await bench7();
      if (n === 8) await flaky.bench8();
      if (n === 9) await flaky.bench9();
      if (n === 10) await bench10();
      if (n === 11) await bench11();
      if (n === 12) await bench12();
      if (n === 13) await bench13();
    }
  } finally {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  }
  printReport(opts, started);
  const missed = rows.filter((r) => r.pass === false);
  progress(
    missed.length
      ? `bench: ${missed.length} of ${rows.filter((r) => r.pass !== null).length} targets missed`
      : 'bench: all targets met',
  );
  if (missed.length && opts.strict) process.exitCode = 2;
}

main().catch((e) => {
  if (e instanceof BenchError) {
    process.stderr.write(`\nbench: FAILED: ${e.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`\nbench: internal error: ${e.stack ?? e}\n`);
  process.exit(1);
});
