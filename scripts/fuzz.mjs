#!/usr/bin/env node
// `npm run fuzz [-- --mutants N --cli-every K --seed S --big-mb M]`: the long fuzz run of
// rewind's readers. N mutated recordings (scripts/fuzz-mutants.mjs) × info, ps, events and
// replay's start, in-process; every K-th mutant also through the real CLI (each command a
// process of its own, with a time limit and its peak memory measured); then info, ps and
// events on one large log, for their peak memory. Prints the figures; exits 1 on any
// internal error or hang.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { COMMANDS, buildMutant, mutationArb, runInProcess, takeApart, writeMutant } from './fuzz-mutants.mjs';
import { TraceWriter } from '../dist/trace/writer.js';
import { TraceReader } from '../dist/trace/reader.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'rewind.js');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MUTANTS = arg('mutants', 5000);
const CLI_EVERY = arg('cli-every', 10);
const SEED = arg('seed', 42);
const BIG_MB = arg('big-mb', 1024);
const TIMEOUT_MS = 20_000;
const hasTime = fs.existsSync('/usr/bin/time');

/** Runs rewind in a process of its own: status, whether it hung, its peak RSS in KiB, its stderr. */
function cli(args, cwd) {
  const cmd = hasTime ? '/usr/bin/time' : process.execPath;
  const argv = hasTime ? ['-f', 'RSS_KB=%M', process.execPath, BIN, ...args] : [BIN, ...args];
  const r = spawnSync(cmd, argv, {
    cwd,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
  });
  const m = /RSS_KB=(\d+)/.exec(r.stderr ?? '');
  return {
    status: r.status,
    hung: /** @type {NodeJS.ErrnoException | undefined} */ (r.error)?.code === 'ETIMEDOUT' || r.signal === 'SIGTERM',
    rssKb: m ? Number(m[1]) : 0,
    stderr: (r.stderr ?? '').replace(/RSS_KB=\d+\n?/, ''),
  };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-fuzz-'));
try {
  // The valid recording every mutant starts from.
  fs.writeFileSync(
    path.join(work, 'app.js'),
    'const fs = require("fs"); console.log(Date.now(), Math.random()); fs.readFileSync(__filename);\n' +
      'let n = 0; const t = setInterval(() => { console.log("tick", n, performance.now() > 0); if (++n === 40) { clearInterval(t); process.exitCode = 2; } }, 0);\n',
  );
  const rec = spawnSync(process.execPath, [BIN, 'record', '--out', 'rec', '--', process.execPath, 'app.js'], {
    cwd: work,
    encoding: 'utf8',
  });
  if (rec.status !== 2) throw new Error(`recording the sample failed: ${rec.stderr}`);
  const log = fs.readdirSync(path.join(work, 'rec')).find((f) => f.endsWith('.rwnd'));
  const parts = takeApart(fs.readFileSync(path.join(work, 'rec', log)));
  const indexText = fs.readFileSync(path.join(work, 'rec', 'index.json'), 'utf8');
  const mutants = fc.sample(mutationArb(parts.header), { numRuns: MUTANTS, seed: SEED });

  const counts = { runs: 0, ok: 0, refused: 0, internal: 0 };
  const cliCounts = { runs: 0, ok: 0, refused: 0, internal: 0, hung: 0, otherStatus: 0, maxRssKb: 0 };
  const failures = [];
  const started = Date.now();
  const dir = path.join(work, 'mutant');
  for (let k = 0; k < mutants.length; k++) {
    writeMutant(dir, buildMutant(parts, indexText, mutants[k]));
    for (const cmd of COMMANDS) {
      const r = await runInProcess(cmd, dir);
      counts.runs++;
      counts[r.outcome]++;
      if (r.outcome === 'internal' && failures.length < 10)
        failures.push(`mutant ${k}, ${cmd} (in-process): ${r.message.split('\n').slice(0, 3).join(' | ')}`);
    }
    if (k % CLI_EVERY === 0) {
      for (const cmd of COMMANDS) {
        const r = cli(cmd === 'events' ? ['events', 'mutant', '--no-sites'] : [cmd, 'mutant'], work);
        cliCounts.runs++;
        cliCounts.maxRssKb = Math.max(cliCounts.maxRssKb, r.rssKb);
        if (r.hung) cliCounts.hung++;
        else if (/internal error|^\s+at .*[\\/](dist|src)[\\/]/m.test(r.stderr))
          cliCounts.internal++; // a divergence report shows the program's stack: not an error of rewind's
        else if (r.status === 65) cliCounts.refused++;
        else if (r.status === 0 || r.status === 2 || r.status === 70)
          cliCounts.ok++; // info/ps/events, or a replay: its program's status, or a divergence report (exit 70)
        else cliCounts.otherStatus++;
        if ((r.hung || /internal error/.test(r.stderr)) && failures.length < 10)
          failures.push(
            `mutant ${k}, rewind ${cmd}: ${r.hung ? 'HUNG' : r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`,
          );
      }
    }
    if ((k + 1) % 500 === 0)
      process.stderr.write(`fuzz: ${k + 1} of ${MUTANTS} mutants (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }

  // One large log: info, ps and events stream it.
  const big = path.join(work, 'big');
  fs.mkdirSync(big);
  const w = new TraceWriter(path.join(big, 'big-1.rwnd'), parts.header);
  const line = Buffer.alloc(4000, 'x');
  const target = BIG_MB * 1024 * 1024;
  for (let i = 0; w.bytesWritten < target; i++) {
    w.output(1, line);
    w.wall(1, parts.header.startWall + i);
    w.turn(32, 1, i);
  }
  w.end({ code: 0, signal: null, via: 'natural' });
  w.close();
  const bigSize = fs.statSync(path.join(big, 'big-1.rwnd')).size;
  const bigRss = {};
  for (const cmd of ['info', 'ps', 'events']) {
    const r = cli(cmd === 'events' ? ['events', 'big', '--no-sites'] : [cmd, 'big'], work);
    bigRss[cmd] = r.hung ? 'HUNG' : `${(r.rssKb / 1024).toFixed(0)} MB (exit ${r.status})`;
  }
  const events = TraceReader.open(path.join(big, 'big-1.rwnd'), { streamed: true }).eventCount;

  const secs = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `mutants: ${MUTANTS} (seed ${SEED}) × ${COMMANDS.length} commands (${COMMANDS.join(', ')}), in-process: ${counts.runs} runs: ${counts.ok} read, ${counts.refused} refused with exit 65, ${counts.internal} internal errors`,
  );
  console.log(
    `through the CLI (every ${CLI_EVERY}th mutant): ${cliCounts.runs} runs: ${cliCounts.ok} ran, ${cliCounts.refused} exit 65, ${cliCounts.internal} internal errors, ${cliCounts.hung} hangs (> ${TIMEOUT_MS / 1000} s), ${cliCounts.otherStatus} other statuses; peak RSS ${(cliCounts.maxRssKb / 1024).toFixed(0)} MB`,
  );
  console.log(
    `large log: ${(bigSize / 2 ** 20).toFixed(0)} MiB, ${events} events; peak RSS: info ${bigRss.info}, ps ${bigRss.ps}, events ${bigRss.events}`,
  );
  console.log(`time: ${secs} s`);
  for (const f of failures) console.log(`  ${f}`);
  process.exitCode = counts.internal || cliCounts.internal || cliCounts.hung ? 1 : 0;
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
