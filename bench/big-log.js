#!/usr/bin/env node
// Time and peak memory of `rewind replay`, `rewind events` and `rewind info` on one large
// recording (default about 1 GB; `node bench/big-log.js [MB]`). Linux: peak RSS from GNU time
// (/usr/bin/time); elsewhere only times. Takes a few minutes and MB of free disk twice over.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'rewind.js');
const PROGRAM = path.join(ROOT, 'bench', 'programs', 'big.js');
const mb = Number(process.argv[2] ?? 1024);
const GNU_TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const env = { ...process.env };
delete env.NODE_OPTIONS;
for (const k of Object.keys(env)) if (k.startsWith('REWIND_')) delete env[k];

/** Runs `node args`, output discarded; returns seconds and peak RSS (MB, or null). */
function measure(what, args) {
  process.stderr.write(`big-log: ${what}...\n`);
  const stats = path.join(os.tmpdir(), `rewind-big-time-${process.pid}`);
  const argv = GNU_TIME
    ? [GNU_TIME, '-f', '%e %M', '-o', stats, process.execPath, ...args]
    : [process.execPath, ...args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${what} exited with ${r.status ?? r.signal}:\n${r.stderr.slice(-2000)}`);
  let rss = null;
  if (GNU_TIME) {
    rss = Number(fs.readFileSync(stats, 'utf8').trim().split(/\s+/).pop()) / 1024;
    fs.rmSync(stats, { force: true });
  }
  return { what, s, rss };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-big-'));
try {
  const rec = path.join(dir, 'rec');
  const rows = [
    measure(`rewind record (${mb} MB)`, [CLI, 'record', '--out', rec, '--', process.execPath, PROGRAM, String(mb)]),
  ];
  const log = fs.readdirSync(rec).find((f) => f.endsWith('.rwnd'));
  const size = fs.statSync(path.join(rec, log)).size;
  rows.push(measure('rewind info', [CLI, 'info', rec]));
  rows.push(measure('rewind events --no-sites', [CLI, 'events', rec, '--no-sites']));
  rows.push(measure('rewind replay', [CLI, 'replay', rec, '--no-summary']));
  const out = [
    `## rewind on a large recording: ${(size / 1e6).toFixed(0)} MB log, node ${process.version}, ${os.platform()}-${os.arch()}`,
    '',
    '| command | time | peak RSS |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.what} | ${r.s.toFixed(1)} s | ${r.rss === null ? 'n/a' : `${r.rss.toFixed(0)} MB`} |`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
