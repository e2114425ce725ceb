#!/usr/bin/env node
// The ecosystem suite: real, pinned npm packages recorded and replayed by the rewind of this
// checkout. For each workload: install (cached), run plain, `rewind record`, change the world
// (inputs edited, servers stopped and their ports taken, outputs deleted), `rewind replay`
// twice, compare stdout / stderr / status byte for byte with the recording's run, replay every
// other recorded process alone, stop each where a debugger would (halfway, at its end), and
// check that the replay touched nothing outside.
//
//   npm run test:ecosystem -- [--only a,b] [--fast] [--node 22|24] [--json] [--list]
//
// Exits 1 when a workload fails that is not in known-failures.mjs, 0 otherwise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KNOWN_FAILURES } from './known-failures.mjs';
import {
  run,
  must,
  ending,
  hashTree,
  treeChanges,
  dirSize,
  freePort,
  countingListener,
  killAll,
  Redis,
  Postgres,
  RabbitMQ,
  MariaDB,
  Memcached,
} from './lib.mjs';
import { WORKLOADS } from './workloads/index.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REWIND_BIN = path.join(ROOT, 'bin', 'rewind.js');

function parseArgs(argv) {
  const opts = { only: null, fast: false, node: null, json: false, list: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a.startsWith('--only')) opts.only = value().split(',').filter(Boolean);
    else if (a === '--fast') opts.fast = true;
    else if (a.startsWith('--node')) opts.node = value();
    else if (a === '--json') opts.json = true;
    else if (a === '--list') opts.list = true;
    else if (a === '--keep') opts.keep = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option ${a}`);
  }
  return opts;
}

function usage(problem) {
  if (problem) console.error(`ecosystem: ${problem}`);
  console.error(
    'usage: npm run test:ecosystem -- [--only a,b] [--fast] [--node 22|24] [--json] [--list] [--keep]\n' +
      '  --only   run these workloads (names from --list)\n' +
      '  --fast   the quick subset meant for CI (a few minutes)\n' +
      '  --node   run the workloads, and rewind, under that Node major (through npx -p node@N)\n' +
      '  --json   one JSON object per workload on stdout instead of the table\n' +
      '  --keep   keep the recordings (their paths are printed)\n' +
      'Packages are cached in $REWIND_ECOSYSTEM_CACHE (default ~/.cache/rewind-ecosystem).',
  );
  process.exit(problem ? 64 : 0);
}

/** The node binary to run workloads (and rewind) with: this one, or node@N from the registry. */
async function resolveNode(major) {
  if (!major || String(process.versions.node.split('.')[0]) === String(major)) return process.execPath;
  const r = await must(['npx', '-y', '-p', `node@${major}`, 'node', '-p', 'process.execPath'], {
    timeoutMs: 300_000,
    env: cleanEnv(),
  });
  return r.stdout.toString().trim();
}

/** The environment of every run: this one without anything that steers Node, rewind or test runners. */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (
      k.startsWith('REWIND_') ||
      k.startsWith('VITEST') ||
      k.startsWith('JEST') ||
      k.startsWith('npm_') ||
      ['NODE_OPTIONS', 'FORCE_COLOR', 'NO_COLOR', 'NODE_DISABLE_COLORS', 'TEST', 'INIT_CWD'].includes(k)
    ) {
      delete env[k];
    }
  }
  return {
    ...env,
    NO_UPDATE_NOTIFIER: '1',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...extra,
  };
}

const cacheRoot = process.env.REWIND_ECOSYSTEM_CACHE || path.join(os.homedir(), '.cache', 'rewind-ecosystem');

/** Installs the workload's pinned packages into its cache directory, unless already there. */
async function install(w, nodeBin, nodeMajor) {
  const dir = path.join(cacheRoot, `node${nodeMajor}`, w.name);
  fs.mkdirSync(dir, { recursive: true });
  const pkg = {
    name: `eco-${w.name}`,
    private: true,
    version: '0.0.0',
    ...(w.packageJson ?? {}),
    dependencies: w.packages ?? {},
  };
  const stamp = JSON.stringify(pkg.dependencies);
  const stampFile = path.join(dir, '.eco-installed');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  if (
    Object.keys(pkg.dependencies).length &&
    (!fs.existsSync(stampFile) || fs.readFileSync(stampFile, 'utf8') !== stamp)
  ) {
    const npm = ['npm', 'install', '--no-audit', '--no-fund', '--loglevel=error'];
    await must(npm, {
      cwd: dir,
      env: cleanEnv({ PATH: `${path.dirname(nodeBin)}:${process.env.PATH}` }),
      timeoutMs: 900_000,
    });
    fs.writeFileSync(stampFile, stamp);
  }
  return dir;
}

/** Writes the workload's files and removes what earlier runs produced: each run starts alike. */
async function reset(w, ctx) {
  for (const rel of w.outputs ?? []) fs.rmSync(path.join(ctx.dir, rel), { recursive: true, force: true });
  // Files an earlier version of the workload wrote (a renamed test file) would be run too.
  const manifest = path.join(ctx.dir, '.eco-files');
  const files = Object.keys(w.files ?? {});
  if (fs.existsSync(manifest)) {
    for (const rel of JSON.parse(fs.readFileSync(manifest, 'utf8'))) {
      if (!files.includes(rel)) fs.rmSync(path.join(ctx.dir, rel), { force: true });
    }
  }
  fs.writeFileSync(manifest, JSON.stringify(files));
  for (const [rel, text] of Object.entries(w.files ?? {})) {
    const p = path.join(ctx.dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, typeof text === 'function' ? text(ctx) : text);
  }
  if (w.setup) await w.setup(ctx);
}

/** The first place two outputs differ, in one line. */
function firstDifference(what, recorded, replayed) {
  if (recorded.equals(replayed)) return null;
  const a = recorded.toString().split('\n');
  const b = replayed.toString().split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const cut = (s) => (s === undefined ? '(end)' : JSON.stringify(s.length > 90 ? s.slice(0, 90) + '…' : s));
  return `${what} differs at line ${i + 1}: recorded ${cut(a[i])}, replayed ${cut(b[i])}`;
}

/** What rewind itself said went wrong (divergence, refusal), in one line, if anything. */
function rewindComplaint(r) {
  const lines = r.stderr.toString().split('\n');
  const i = lines.findIndex((l) => /^rewind: /.test(l) && !/replay complete/.test(l));
  if (i < 0) return null;
  const detail = lines
    .slice(i + 1, i + 3)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at '))
    .join(' / ');
  return (lines[i] + (detail ? ' / ' + detail : '')).slice(0, 220);
}

/**
 * How many children each recorded process saw die of SIGKILL (its log's child exits), by
 * its pid. A process SIGKILLed while it ran (a watchdog its parent kills as the program
 * ends: foreground-child's, under nyc and c8) leaves a log without an end record, whose
 * events are all a replay can reproduce.
 */
async function sigkilledChildren(procs, recDir, nodeBin, env) {
  const counts = new Map();
  const parents = new Set(procs.filter((p) => p.thread === 0 && p.ended === null).map((p) => p.ppid));
  for (const parent of procs.filter((p) => p.thread === 0 && parents.has(p.pid))) {
    const ev = await run([nodeBin, REWIND_BIN, 'events', recDir, '-p', String(parent.pid), '--json', '--no-sites'], {
      env,
      timeoutMs: 60_000,
    });
    let n = 0;
    for (const line of ev.stdout.toString().split('\n')) {
      if (!line.includes('"process.exit"')) continue;
      const e = JSON.parse(line);
      if (e.api === 'process.exit' && Array.isArray(e.result) && e.result[1] === 'SIGKILL') n++;
    }
    counts.set(parent.pid, n);
  }
  return counts;
}

/**
 * A lone replay that stopped, as it must, where the log of a process its recorded parent saw
 * SIGKILLed ends: exit 70 with rewind's "the recording ends at event N" (every recorded event
 * reproduced). Counted against the parent's SIGKILLed children, so a log that lost its end
 * record any other way still fails.
 */
function endsWhereKilled(p, r, sigkilled) {
  const left = sigkilled.get(p.ppid) ?? 0;
  if (p.ended !== null || left === 0 || r.timedOut || r.status !== 70) return false;
  if (!/^rewind: the recording ends at event \d+ \(the log has no end record\)/m.test(r.stderr.toString()))
    return false;
  sigkilled.set(p.ppid, left - 1);
  return true;
}

async function runWorkload(w, env) {
  const { nodeBin, nodeMajor, services, opts } = env;
  const result = {
    workload: w.name,
    node: nodeMajor,
    plainMs: null,
    recordMs: null,
    replayMs: null,
    logBytes: null,
    processes: null,
    faithful: false,
    why: null,
    expectedToFail: null,
  };
  const known = KNOWN_FAILURES[w.name];
  if (known && (!known.nodes || known.nodes.includes(nodeMajor))) result.expectedToFail = known;
  if (w.minNode && nodeMajor < w.minNode) {
    result.skipped = `needs Node ${w.minNode}+`;
    return result;
  }
  let recDir;
  const listeners = [];
  try {
    const dir = await install(w, nodeBin, nodeMajor);
    const ports = {};
    for (const name of w.ports ?? []) ports[name] = await freePort();
    for (const name of w.udpPorts ?? []) ports[name] = await freePort();
    for (const s of w.services ?? []) await services[s].start();
    const ctx = {
      dir,
      node: nodeBin,
      nodeMajor,
      ports,
      redis: services.redis,
      pg: services.pg,
      rabbitmq: services.rabbitmq,
      mariadb: services.mariadb,
      memcached: services.memcached,
      run: (argv, o = {}) =>
        must(
          argv.map((a) => (a === 'node' ? nodeBin : a)),
          { cwd: dir, env: runEnv, ...o },
        ),
      write: (rel, text) => fs.writeFileSync(path.join(dir, rel), text),
    };
    const runEnv = cleanEnv({
      PATH: `${path.join(dir, 'node_modules', '.bin')}:${path.dirname(nodeBin)}:${process.env.PATH}`,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      ...(services.redis.up ? { REDIS_PORT: String(services.redis.port) } : {}),
      ...(services.pg.up
        ? { PGPORT: String(services.pg.port), PGHOST: '127.0.0.1', PGUSER: 'postgres', PGDATABASE: 'postgres' }
        : {}),
      ...(services.rabbitmq.up ? { AMQP_URL: services.rabbitmq.url } : {}),
      ...(services.mariadb.up ? { MYSQL_URL: services.mariadb.url } : {}),
      ...(services.memcached.up ? { MEMCACHE_SERVERS: services.memcached.servers } : {}),
      ...(typeof w.env === 'function' ? w.env(ctx) : (w.env ?? {})),
    });
    ctx.env = runEnv;
    const command = (typeof w.command === 'function' ? w.command(ctx) : w.command).map((a) =>
      a === 'node' ? nodeBin : a,
    );
    const timeoutMs = w.timeoutMs ?? 120_000;
    const expectStatus = w.expectStatus ?? 0;

    // 1. Plain: the workload itself must work, or the verdict would mean nothing.
    await reset(w, ctx);
    const plain = await run(command, { cwd: dir, env: runEnv, timeoutMs });
    result.plainMs = plain.ms;
    const unavailable = w.unavailable?.(plain, ctx);
    if (unavailable) {
      result.skipped = unavailable;
      return result;
    }
    if (plain.timedOut || plain.status !== expectStatus) {
      const tail = (plain.stderr.toString() + plain.stdout.toString()).trim().split('\n').slice(-3).join(' / ');
      throw new Error(
        `the plain run ended with ${ending(plain)}, expected exit ${expectStatus}: ${tail.slice(0, 200)}`,
      );
    }

    // 2. Record.
    await reset(w, ctx);
    const recRoot = fs.mkdtempSync(path.join(os.tmpdir(), `rewind-eco-${w.name}-`));
    recDir = path.join(recRoot, 'rec');
    const rec = await run([nodeBin, REWIND_BIN, 'record', '--out', recDir, '--', ...command], {
      cwd: dir,
      env: runEnv,
      timeoutMs,
    });
    result.recordMs = rec.ms;
    if (rec.timedOut || rec.status !== expectStatus) {
      const why =
        rewindComplaint(rec) ??
        (rec.stderr.toString().trim().split('\n').slice(-2).join(' / ') ||
          rec.stdout.toString().trim().split('\n').slice(-1)[0]);
      throw new Error(
        `recording changed the run: ${ending(rec)} instead of exit ${expectStatus}: ${String(why).slice(0, 200)}`,
      );
    }
    // A recording that could not record something says so on stderr: keep it as a note.
    const recNote = rewindComplaint(rec);
    if (recNote) result.recordNote = recNote;
    result.logBytes = dirSize(recDir);
    const ps = await run([nodeBin, REWIND_BIN, 'ps', recDir, '--json'], { cwd: dir, env: runEnv, timeoutMs: 60_000 });
    const procs = ps.stdout
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    result.processes = procs.filter((p) => p.thread === 0).length;
    result.threads = procs.filter((p) => p.thread !== 0).length;
    if (!procs.length) throw new Error(`rewind ps lists no process: ${ps.stderr.toString().trim().slice(0, 200)}`);

    // 3. Change the world: the workload's own edits, then every server it talked to goes
    // away and a listener that counts takes its port.
    if (w.changeWorld) await w.changeWorld(ctx);
    const probes = [];
    for (const s of w.services ?? []) {
      await services[s].stop();
      probes.push({ what: `${s} port`, l: await countingListener(services[s].port) });
    }
    for (const name of w.ports ?? []) probes.push({ what: `port ${name}`, l: await countingListener(ports[name]) });
    for (const name of w.udpPorts ?? [])
      probes.push({ what: `udp port ${name}`, l: await countingListener(ports[name], 'udp') });
    listeners.push(...probes.map((p) => p.l));
    const before = hashTree(dir);

    // 4. Replay twice, from another directory: the recording must carry what it needs.
    const replayCwd = os.tmpdir();
    // Replay never waits for the world: a replay much slower than its recording has hung.
    const replayTimeoutMs = Math.min(timeoutMs, Math.max(30_000, rec.ms * 5));
    const problems = [];
    const replays = [];
    for (let i = 0; i < 2; i++) {
      const r = await run([nodeBin, REWIND_BIN, 'replay', recDir, ...(w.replayArgs ?? [])], {
        cwd: replayCwd,
        env: runEnv,
        timeoutMs: replayTimeoutMs,
      });
      replays.push(r);
      if (i === 0) result.replayMs = r.ms;
    }
    const [r1, r2] = replays;
    const complaint = rewindComplaint(r1);
    if (r1.timedOut)
      problems.push(
        `replay hung: killed after ${replayTimeoutMs / 1000} s (the recording took ${(rec.ms / 1000).toFixed(1)} s)`,
      );
    else if (complaint) problems.push(complaint);
    if (ending(r1) !== ending(rec)) problems.push(`replay ended with ${ending(r1)}, recording with ${ending(rec)}`);
    const d = firstDifference('stdout', rec.stdout, r1.stdout) ?? firstDifference('stderr', rec.stderr, r1.stderr);
    if (d) problems.push(d);
    if (!problems.length) {
      const again = firstDifference('stdout', r1.stdout, r2.stdout) ?? firstDifference('stderr', r1.stderr, r2.stderr);
      if (again || ending(r1) !== ending(r2))
        problems.push(`second replay differs from the first: ${again ?? ending(r2)}`);
    }

    // 5. Every other process alone (worker threads replay within their process; a package
    // manager's own process is recorded for its output only, which the program's replay prints).
    // (With replayArgs the run's replay was another process's: the default one replays here too.)
    const sigkilled = await sigkilledChildren(procs, recDir, nodeBin, runEnv);
    for (const p of procs.filter((p) => p.thread === 0 && (w.replayArgs || !p.default) && p.replayable !== false)) {
      const r = await run([nodeBin, REWIND_BIN, 'replay', recDir, '-p', String(p.pid)], {
        cwd: replayCwd,
        env: runEnv,
        timeoutMs: replayTimeoutMs,
      });
      if (endsWhereKilled(p, r, sigkilled)) continue;
      const m = /exit code (\d+)/.exec(p.ended ?? '');
      const c = rewindComplaint(r);
      if (r.timedOut || r.status === 70 || c || (m && r.status !== Number(m[1]))) {
        problems.push(
          `process ${p.pid} (${p.program}) replayed alone: ${c ?? (r.timedOut ? 'hung' : `${ending(r)}, recorded ${p.ended}`)}`,
        );
      }
    }

    // 6. A debugger's stops: every process stopped halfway through and at its last event
    // (`replay --until`, the replay `debug` and `dap` drive: the debug controller runs in it).
    for (const p of procs.filter((p) => p.thread === 0 && p.replayable !== false && p.events > 0)) {
      for (const n of new Set([Math.ceil(p.events / 2), p.events])) {
        const r = await run([nodeBin, REWIND_BIN, 'replay', recDir, '-p', String(p.pid), '--until', String(n)], {
          cwd: replayCwd,
          env: runEnv,
          timeoutMs: replayTimeoutMs,
        });
        if (
          r.timedOut ||
          r.status !== 0 ||
          !new RegExp(`^rewind: stopped (before|inside) event ${n} of`, 'm').test(r.stderr)
        ) {
          const said =
            r.stderr
              .toString()
              .split('\n')
              .find((l) => l.startsWith('rewind:')) ?? ending(r);
          problems.push(
            `process ${p.pid} (${p.program}) stopped at event ${n} of ${p.events}: ${r.timedOut ? 'hung' : said}`,
          );
          break;
        }
      }
    }

    // 7. Nothing outside was touched.
    const changes = treeChanges(before, hashTree(dir));
    if (changes.length)
      problems.push(
        `side effect: replay ${changes.slice(0, 3).join(', ')}${changes.length > 3 ? ` (+${changes.length - 3})` : ''}`,
      );
    for (const p of probes)
      if (p.l.count)
        problems.push(`side effect: ${p.l.count} connection(s)/datagram(s) reached the ${p.what} during replay`);
    if (w.check) {
      const c = await w.check(ctx, { rec, replay: r1 });
      if (c) problems.push(c);
    }
    result.faithful = problems.length === 0;
    result.why = problems[0] ?? null;
    result.problems = problems;
  } catch (e) {
    result.faithful = false;
    result.why = String(e.message ?? e)
      .split('\n')
      .slice(0, 3)
      .join(' / ');
    result.problems = [result.why];
  } finally {
    for (const l of listeners) await l.close();
    if (recDir && !opts.keep) fs.rmSync(path.dirname(recDir), { recursive: true, force: true });
    if (recDir && opts.keep) result.recording = recDir;
  }
  return result;
}

const fmtS = (ms) => (ms == null ? '—' : (ms / 1000).toFixed(1) + 's');
const fmtSize = (b) =>
  b == null
    ? '—'
    : b < 1024
      ? `${b} B`
      : b < 1 << 20
        ? `${(b / 1024).toFixed(0)} KB`
        : `${(b / (1 << 20)).toFixed(1)} MB`;

function verdict(r) {
  if (r.skipped) return 'skip';
  if (r.faithful) return r.expectedToFail ? 'y (known failure passed: remove it)' : 'y';
  return r.expectedToFail ? 'n (known)' : 'n';
}

function table(results) {
  const rows = results.map((r) => [
    r.workload,
    String(r.node),
    fmtS(r.plainMs),
    r.recordMs == null ? '—' : `${fmtS(r.recordMs)} (${r.plainMs ? (r.recordMs / r.plainMs).toFixed(2) : '?'}x)`,
    fmtS(r.replayMs),
    fmtSize(r.logBytes),
    r.processes == null ? '—' : `${r.processes}${r.threads ? `+${r.threads}t` : ''}`,
    verdict(r),
    r.skipped ?? r.why ?? '',
  ]);
  const head = ['workload', 'node', 'plain', 'record', 'replay', 'log', 'procs', 'faithful', 'why not'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (i === 8 ? 0 : row[i].length))));
  const line = (cells) => cells.map((c, i) => (i === 8 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let selected = WORKLOADS;
  if (opts.only) {
    const unknown = opts.only.filter((n) => !WORKLOADS.some((w) => w.name === n));
    if (unknown.length) usage(`no workload named ${unknown.join(', ')} (see --list)`);
    selected = WORKLOADS.filter((w) => opts.only.includes(w.name));
  } else if (opts.fast) selected = WORKLOADS.filter((w) => w.fast);
  if (opts.list) {
    for (const w of WORKLOADS) console.log(`${w.name.padEnd(22)} ${w.fast ? 'fast ' : '     '} ${w.what ?? ''}`);
    return 0;
  }
  const nodeBin = await resolveNode(opts.node);
  const nodeMajor = Number(
    (await must([nodeBin, '-p', 'process.versions.node.split(".")[0]'])).stdout.toString().trim(),
  );
  const services = {
    redis: new Redis(),
    pg: new Postgres(),
    rabbitmq: new RabbitMQ(),
    mariadb: new MariaDB(),
    memcached: new Memcached(),
  };
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      killAll();
      await Promise.allSettled(Object.values(services).map((s) => s.destroy()));
    })());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.error(`\necosystem: ${sig}: stopping the services and every process started`);
      // What cleanup cannot finish in time, the 'exit' handler of lib.mjs ends.
      cleanup().finally(() => process.exit(128 + os.constants.signals[sig]));
    });
  }
  const started = Date.now();
  const results = [];
  try {
    for (const w of selected) {
      if (!opts.json) process.stderr.write(`ecosystem: ${w.name} (node ${nodeMajor})… `);
      const r = await runWorkload(w, { nodeBin, nodeMajor, services, opts });
      results.push(r);
      if (opts.json) console.log(JSON.stringify(r));
      else process.stderr.write(`${verdict(r)}${r.why ? `: ${r.why}` : ''}\n`);
    }
  } finally {
    await cleanup();
  }
  const failures = results.filter((r) => !r.skipped && !r.faithful && !r.expectedToFail);
  const fixed = results.filter((r) => r.faithful && r.expectedToFail);
  if (!opts.json) {
    console.log(table(results));
    const faithful = results.filter((r) => r.faithful).length;
    const ran = results.filter((r) => !r.skipped).length;
    console.log(
      `\n${faithful} of ${ran} workloads faithful on Node ${nodeMajor} (${((Date.now() - started) / 60000).toFixed(1)} min); ` +
        `${results.filter((r) => !r.faithful && r.expectedToFail).length} known failures, ${failures.length} unexpected, ` +
        `${results.length - ran} skipped.`,
    );
    for (const r of results.filter((r) => r.recordNote))
      console.log(`note: ${r.workload}: recording said: ${r.recordNote}`);
    for (const r of results.filter((r) => r.recording)) console.log(`kept: ${r.workload}: ${r.recording}`);
    for (const r of fixed)
      console.log(`known failure now faithful: ${r.workload} (remove it from test/ecosystem/known-failures.mjs)`);
    for (const r of failures) console.log(`FAILED ${r.workload}: ${r.problems.join('; ')}`);
  }
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
