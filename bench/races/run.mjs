#!/usr/bin/env node
// Real race bugs, in their original packages at the affected versions: how often each fails
// plain, how often under `rewind record --chaos`, how many tries `--until-fail --chaos` needs,
// and whether `rewind analyze` names the racing pair, and how fast. `npm run bench:races`, or
//
//   node bench/races/run.mjs [--only id,...] [--runs N] [--reps N] [--jobs N] [--json]
//
// Each bug is a directory here: program.cjs (the bug's scenario, driving the package; exits 1
// printing "FAIL: ..." when the race manifests, 0 when not), bug.json (the issue, the symptom,
// NACD's median reproduction ratio, and how to recognise the racing pair in analyze's JSON)
// and package.json (the pinned version). The packages are installed with npm into a cache
// under the system's temp directory, keyed by the pinned versions (never into rewind's own
// node_modules), and the program runs there, next to them.
//
// Children run in parallel, up to the core count; each has a timeout, and a run that hangs,
// crashes or prints something else than its verdict is a failure of the harness, reported in
// its own column, never counted as a reproduction. The table goes to stdout, progress to stderr.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CLI = path.join(ROOT, 'bin', 'rewind.js');
const NODE = process.execPath;

/** Per child: a plain or recorded run, an --until-fail search, an analyze (its 5-minute target). */
const TIMEOUT = { run: 60_000, untilFail: 600_000, analyze: 300_000, install: 300_000 };
/** --until-fail gives up after this many runs; a search that did counts as UNTIL_FAIL_RUNS + 1, shown "> 100". */
const UNTIL_FAIL_RUNS = 100;

// ---- command line ---------------------------------------------------------------------------

function parseArgs(argv) {
  const opts = {
    runs: 40,
    reps: 3,
    jobs: Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
    only: /** @type {string[] | null} */ (null),
    json: false,
    render: /** @type {string | null} */ (null),
    dir: HERE,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    const count = (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) fail(`${a} takes a whole number of at least 1, not ${v}`);
      return n;
    };
    if (a === '--runs') opts.runs = count(next());
    else if (a === '--reps') opts.reps = count(next());
    else if (a === '--jobs') opts.jobs = count(next());
    else if (a === '--only') opts.only = next().split(',').filter(Boolean);
    else if (a === '--json') opts.json = true;
    else if (a === '--render') opts.render = path.resolve(next());
    else if (a === '--dir') opts.dir = path.resolve(next());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: node bench/races/run.mjs [--only id,...] [--runs N] [--reps N] [--jobs N] [--json]\n' +
          '  --runs N   plain runs and --chaos runs per bug (default 40)\n' +
          '  --reps N   `record --until-fail --chaos` searches per bug, for the median tries (default 3)\n' +
          '  --jobs N   children at once (default: the core count)\n' +
          '  --only     these bugs (directory names under bench/races)\n' +
          '  --json     one JSON object per bug instead of the table\n' +
          '  --render F print the table of a saved --json output (analyze judged by the\n' +
          '             current bug.json), running nothing\n' +
          '  --dir DIR  where the bug directories are (default: bench/races)\n',
      );
      process.exit(0);
    } else fail(`unknown argument ${a} (try --help)`);
  }
  return opts;
}

function fail(msg) {
  process.stderr.write(`bench/races: ${msg}\n`);
  process.exit(64);
}

const progress = (msg) => process.stderr.write(`${msg}\n`);

// ---- children -------------------------------------------------------------------------------

/** Children at once: a child holds its slots (analyze: two, it runs two candidates) its whole life. */
class Pool {
  constructor(size) {
    this.size = size;
    this.free = size;
    this.waiting = [];
  }
  async run(fn, slots = 1) {
    const want = Math.min(slots, this.size);
    while (this.free < want) await new Promise((r) => this.waiting.push(r));
    this.free -= want;
    try {
      return await fn();
    } finally {
      this.free += want;
      for (const wake of this.waiting.splice(0)) wake();
    }
  }
}

const children = new Set();

/** Runs a command to its end or its timeout; never rejects. */
function exec(cmd, args, { cwd, timeout, env = BASE_ENV }) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeout);
    child.on('error', (e) => (err += `\n${e.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, out, err, timedOut, ms: performance.now() - t0 });
    });
  });
}

/** A child and whatever it started (rewind's program, analyze's candidates): its process group. */
function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) killGroup(c);
    process.stderr.write(`bench/races: interrupted (${sig})\n`);
    process.exit(130);
  });
}

/** The environment children start from: no rewind preload or settings inherited. */
const BASE_ENV = (() => {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('REWIND_')) delete env[k];
  delete env.NODE_OPTIONS;
  return env;
})();

/**
 * What one run of a bug's program says: 'fail' (exit 1, a "FAIL:" line: the race manifested),
 * 'pass' (exit 0), or why the harness cannot tell (a hang, a crash, another status).
 */
function verdict(r) {
  if (r.timedOut) return { broken: 'timed out' };
  if (r.code === 0) return { pass: true };
  if (r.code === 1 && /^FAIL: /m.test(r.out)) return { fail: /^FAIL: (.*)$/m.exec(r.out)[1] };
  const tail = `${r.out}${r.err}`.trim().split('\n').slice(-3).join(' | ');
  return { broken: `exit ${r.code ?? r.signal}: ${tail.slice(0, 300)}` };
}

// ---- the bugs -------------------------------------------------------------------------------

function loadBugs(dir, only) {
  const ids = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && fs.existsSync(path.join(dir, e.name, 'bug.json')))
    .map((e) => e.name)
    .sort();
  for (const id of only ?? []) if (!ids.includes(id)) fail(`no bug ${id} in ${dir} (there are: ${ids.join(', ')})`);
  return ids
    .filter((id) => !only || only.includes(id))
    .map((id) => {
      const home = path.join(dir, id);
      const bug = JSON.parse(fs.readFileSync(path.join(home, 'bug.json'), 'utf8'));
      const pkg = JSON.parse(fs.readFileSync(path.join(home, 'package.json'), 'utf8'));
      const program = ['program.cjs', 'program.js', 'program.mjs'].find((f) => fs.existsSync(path.join(home, f)));
      if (!program) fail(`${id} has no program.cjs, program.js or program.mjs`);
      return { ...bug, id, home, pkg, program };
    });
}

/**
 * Installs a bug's pinned packages into a cache directory of its own (keyed by them), and puts
 * its program there, next to its node_modules. Installed once; the program is copied every time.
 */
async function install(b) {
  const deps = b.pkg.dependencies ?? {};
  const key = createHash('sha256')
    .update(JSON.stringify(Object.entries(deps).sort()))
    .digest('hex')
    .slice(0, 12);
  const dir = path.join(os.tmpdir(), 'rewind-races', `${b.id}-${key}`);
  const done = path.join(dir, '.installed');
  if (!fs.existsSync(done)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(b.home, 'package.json'), path.join(dir, 'package.json'));
    if (Object.keys(deps).length) {
      progress(
        `${b.id}: npm install ${Object.entries(deps)
          .map(([n, v]) => `${n}@${v}`)
          .join(' ')}`,
      );
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      // --ignore-scripts: the benchmark runs a package's JavaScript, never its install scripts.
      const r = await exec(npm, ['install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts'], {
        cwd: dir,
        timeout: TIMEOUT.install,
      });
      if (r.code !== 0) throw new Error(`npm install failed in ${dir}: ${(r.err || r.out).trim().slice(-800)}`);
    }
    fs.writeFileSync(done, `${JSON.stringify(deps)}\n`);
  }
  fs.copyFileSync(path.join(b.home, 'package.json'), path.join(dir, 'package.json'));
  fs.copyFileSync(path.join(b.home, b.program), path.join(dir, b.program));
  return dir;
}

// ---- what analyze named ---------------------------------------------------------------------

/** Does a turn of analyze's JSON match one side of bug.json's pair ({ kind, detail, site } regexes)? */
function sideMatches(spec, turn) {
  if (!turn) return false;
  return ['kind', 'detail', 'site'].every((f) => spec[f] === undefined || new RegExp(spec[f]).test(turn[f] ?? ''));
}

/** 'right' (both events), 'partly' (one of them), 'wrong' (neither), or analyze did not name a pair. */
function judgePair(pair, report) {
  if (!report) return 'no answer';
  if (report.kind === 'value')
    return pair.value && new RegExp(pair.value).test(JSON.stringify(report.value)) ? 'right' : 'wrong';
  if (report.kind !== 'pair') return report.kind;
  const direct = sideMatches(pair.a, report.a) && sideMatches(pair.b, report.b);
  const crossed = sideMatches(pair.a, report.b) && sideMatches(pair.b, report.a);
  if (direct || crossed) return 'right';
  const any = [report.a, report.b].some((t) => sideMatches(pair.a, t) || sideMatches(pair.b, t));
  return any ? 'partly' : 'wrong';
}

const shortTurn = (t) =>
  t ? `${t.kind}${t.site ? ` @ ${path.basename(path.dirname(t.site))}/${path.basename(t.site)}` : ''}` : '?';

function named(report) {
  if (!report) return '—';
  if (report.kind === 'pair') return `${shortTurn(report.b)} before ${shortTurn(report.a)}`;
  if (report.kind === 'value') return `value: ${JSON.stringify(report.value ?? {}).slice(0, 80)}`;
  return `${report.kind}${report.note ? ` (${report.note})` : ''}`;
}

/** What is measured of a bug; `error` says why it could not be. */
function emptyResult(b, error = undefined) {
  return {
    id: b.id,
    package: `${b.package}@${b.version}`,
    issue: b.issue,
    nacdMedian: b.nacdMedian,
    error,
    plain: { runs: 0, fail: 0, rate: null, broken: [] },
    chaos: { runs: 0, fail: 0, rate: null, broken: [] },
    untilFail: { tries: [], broken: [] },
    analyze: null,
  };
}

// ---- one bug --------------------------------------------------------------------------------

async function measure(b, opts, pool, work) {
  const dir = await install(b);
  const prog = path.join(dir, b.program);
  const scratch = fs.mkdtempSync(path.join(work, `${b.id}-`));
  const res = emptyResult(b);
  const record = (v, arm) => {
    if (v.broken) arm.broken.push(v.broken);
    else {
      arm.runs++;
      if (v.fail) arm.fail++;
    }
  };
  let n = 0;
  const out = (name) => path.join(scratch, `${name}-${++n}`);
  // Seeds differ between bugs and runs, and are fixed: a rerun perturbs the same way.
  const seedBase = [...b.id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % 1_000_000;

  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    runs.push(
      pool.run(async () => record(verdict(await exec(NODE, [prog], { cwd: dir, timeout: TIMEOUT.run })), res.plain)),
    );
    runs.push(
      pool.run(async () => {
        const o = out('chaos');
        const seed = String(seedBase + i);
        const r = await exec(NODE, [CLI, 'record', '--chaos', '--seed', seed, '--out', o, '--', NODE, prog], {
          cwd: dir,
          timeout: TIMEOUT.run,
        });
        fs.rmSync(o, { recursive: true, force: true });
        record(verdict(r), res.chaos);
      }),
    );
  }
  // --until-fail --chaos searches; the first failing recording is the one analyze explains.
  const failing = [];
  for (let k = 0; k < opts.reps; k++) {
    runs.push(
      pool.run(async () => {
        const o = out('until-fail');
        const seed = String(seedBase + 100_000 * (k + 1));
        const r = await exec(
          NODE,
          [
            CLI,
            'record',
            '--until-fail',
            '--chaos',
            '--seed',
            seed,
            '--runs',
            String(UNTIL_FAIL_RUNS),
            '--out',
            o,
            '--',
            NODE,
            prog,
          ],
          { cwd: dir, timeout: TIMEOUT.untilFail },
        );
        const tried = /^\s*failing run:\s+(\d+)/m.exec(r.err);
        if (r.timedOut) res.untilFail.broken.push('timed out');
        else if (tried && r.code === 1 && /^FAIL: /m.test(r.out)) {
          res.untilFail.tries.push(Number(tried[1]));
          failing.push({ k, dir: o });
        } else if (r.code === 0 && /no failure in \d+ runs/.test(r.err)) res.untilFail.tries.push(UNTIL_FAIL_RUNS + 1);
        else res.untilFail.broken.push(verdict(r).broken ?? `exit ${r.code}`);
      }),
    );
  }
  await Promise.all(runs);
  res.plain.rate = res.plain.runs ? res.plain.fail / res.plain.runs : null;
  res.chaos.rate = res.chaos.runs ? res.chaos.fail / res.chaos.runs : null;

  // analyze: of the first search's failing recording, against a plain passing recording when
  // plain runs pass at all (up to 5 tries), else finding a passing run itself.
  failing.sort((x, y) => x.k - y.k);
  if (failing.length) {
    let passing = null;
    if (res.plain.rate !== null && res.plain.rate < 1) {
      for (let i = 0; i < 5 && !passing; i++) {
        const o = out('pass');
        const r = await pool.run(() =>
          exec(NODE, [CLI, 'record', '--out', o, '--', NODE, prog], { cwd: dir, timeout: TIMEOUT.run }),
        );
        if (verdict(r).pass) passing = o;
      }
    }
    const args = [CLI, 'analyze', failing[0].dir, ...(passing ? ['--passing', passing] : []), '--json'];
    // analyze runs its candidates two at a time: it counts as two children.
    const r = await pool.run(() => exec(NODE, args, { cwd: scratch, timeout: TIMEOUT.analyze }), 2);
    let report = null;
    try {
      report = JSON.parse(r.out.trim().split('\n').pop() ?? '');
    } catch {}
    res.analyze = {
      seconds: r.ms / 1000,
      timedOut: r.timedOut,
      withPassing: Boolean(passing),
      report,
      verdict: r.timedOut ? 'timed out' : judgePair(b.pair, report),
      error: report ? undefined : `${r.err}`.trim().split('\n').slice(-3).join(' | ').slice(0, 300),
    };
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  return res;
}

// ---- the table ------------------------------------------------------------------------------

const pct = (arm) => (arm.rate === null ? 'n/a' : `${(100 * arm.rate).toFixed(0)}% (${arm.fail}/${arm.runs})`);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function triesCell(u) {
  if (!u.tries.length) return u.broken.length ? 'broken' : 'n/a';
  const show = (x) => (x > UNTIL_FAIL_RUNS ? `> ${UNTIL_FAIL_RUNS}` : String(x));
  // (null: a search that found no failure, saved by an older harness as Infinity.)
  const sorted = u.tries.map((x) => x ?? UNTIL_FAIL_RUNS + 1).sort((a, b) => a - b);
  return `${show(median(sorted))} (${show(sorted[0])}–${show(sorted[sorted.length - 1])}, ${sorted.length} searches)`;
}

function table(results) {
  const lines = [
    '| bug | package | plain failure rate | `--chaos` ratio | NACD median | tries to 1st failure, median (min–max) | analyze named | right? | analyze time |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    if (r.error) {
      lines.push(`| [${r.id}](${r.issue}) | ${r.package} | harness error: ${r.error} | | | | | | |`);
      continue;
    }
    const a = r.analyze;
    lines.push(
      `| [${r.id}](${r.issue}) | ${r.package} | ${pct(r.plain)} | ${pct(r.chaos)} | ${r.nacdMedian ?? '—'} | ${triesCell(r.untilFail)} | ${
        a ? named(a.report) : 'no failing recording'
      } | ${a ? a.verdict : '—'} | ${a ? `${a.seconds.toFixed(1)} s${a.withPassing ? '' : ' (found its passing run)'}` : '—'} |`,
    );
  }
  const broken = results.flatMap((r) =>
    r.error
      ? []
      : [
          ...r.plain.broken.map((x) => `${r.id} plain: ${x}`),
          ...r.chaos.broken.map((x) => `${r.id} --chaos: ${x}`),
          ...r.untilFail.broken.map((x) => `${r.id} --until-fail: ${x}`),
          ...(r.analyze?.error ? [`${r.id} analyze: ${r.analyze.error}`] : []),
        ],
  );
  if (broken.length) {
    lines.push('', `Harness failures (not counted in the rates): ${broken.length}`);
    for (const x of broken) lines.push(`- ${x}`);
  }
  return lines.join('\n');
}

// ---- main -----------------------------------------------------------------------------------

const opts = parseArgs(process.argv.slice(2));
if (opts.render) {
  const saved = fs
    .readFileSync(opts.render, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  // analyze's answers judged again by the bugs' pairs as they are now.
  const pairs = new Map(loadBugs(opts.dir, null).map((b) => [b.id, b.pair]));
  for (const r of saved)
    if (r.analyze && !r.analyze.timedOut && pairs.has(r.id))
      r.analyze.verdict = judgePair(pairs.get(r.id), r.analyze.report);
  process.stdout.write(`${table(saved)}\n`);
  process.exit(0);
}
if (!fs.existsSync(path.join(ROOT, 'dist', 'preload.cjs'))) fail('rewind is not built: run `npm run build` first');
const bugs = loadBugs(opts.dir, opts.only);
const pool = new Pool(opts.jobs);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-races-run-'));
progress(
  `bench/races: ${bugs.length} bugs, ${opts.runs} plain and ${opts.runs} --chaos runs each, ` +
    `${opts.reps} --until-fail searches, ${opts.jobs} children at once (Node ${process.version})`,
);
const t0 = performance.now();
const results = await Promise.all(
  bugs.map(async (b) => {
    try {
      const r = await measure(b, opts, pool, work);
      progress(
        `${b.id}: plain ${pct(r.plain)}, --chaos ${pct(r.chaos)}, tries ${triesCell(r.untilFail)}, analyze ${
          r.analyze ? `${r.analyze.verdict} in ${r.analyze.seconds.toFixed(1)} s` : 'not run'
        }`,
      );
      return r;
    } catch (e) {
      progress(`${b.id}: ${e.message}`);
      return emptyResult(b, e.message);
    }
  }),
);
fs.rmSync(work, { recursive: true, force: true });
progress(`bench/races: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
if (opts.json) for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
else process.stdout.write(`${table(results)}\n`);
const harnessBroken = results.some(
  (r) => r.error || r.plain.broken.length || r.chaos.broken.length || r.untilFail.broken.length || r.analyze?.timedOut,
);
process.exit(harnessBroken ? 1 : 0);
